#!/usr/bin/env python3
"""PreToolUse on Bash, like Claude Code's documented command validator: steer the model to
better commands. A finding is reported on stderr with exit 2 (blocked); a clean command exits 0.
Written against the documented hook contract (stdin JSON, exit codes); stdlib only."""

import json
import re
import sys

RULES = [
    (r"^grep\b(?!.*\|)", "Use 'rg' (ripgrep) instead of 'grep' for speed and .gitignore support"),
    (r"^find\s+\S+\s+-name\b", "Use 'rg --files -g pattern' instead of 'find -name'"),
]

try:
    event = json.load(sys.stdin)
except json.JSONDecodeError as exc:
    print(f"Error: invalid JSON input: {exc}", file=sys.stderr)
    sys.exit(1)

if event.get("tool_name") != "Bash":
    sys.exit(0)
command = event.get("tool_input", {}).get("command", "")
issues = [message for pattern, message in RULES if re.search(pattern, command)]
if issues:
    for message in issues:
        print(f"• {message}", file=sys.stderr)
    sys.exit(2)
sys.exit(0)
