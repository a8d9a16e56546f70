#!/usr/bin/env python3
"""UserPromptSubmit, like Claude Code's documented prompt hook: block a prompt that carries a
secret (JSON decision "block"), otherwise add project context for the model (additionalContext).
The context comes from $CLAUDE_PROJECT_DIR/NOTES.md when there is one."""

import json
import os
import re
import sys
from pathlib import Path

event = json.load(sys.stdin)
prompt = event.get("prompt", "")
if re.search(r"(?i)\b(password|secret|api[_-]?key)\s*[:=]", prompt):
    print(json.dumps({"decision": "block", "reason": "The prompt holds a secret; rephrase it."}))
    sys.exit(0)
notes = Path(os.environ.get("CLAUDE_PROJECT_DIR", ".")) / "NOTES.md"
context = notes.read_text().strip() if notes.exists() else "No project notes."
print(
    json.dumps(
        {
            "hookSpecificOutput": {
                "hookEventName": "UserPromptSubmit",
                "additionalContext": f"Project notes: {context}",
            }
        }
    )
)
