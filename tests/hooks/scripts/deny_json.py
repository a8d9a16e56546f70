#!/usr/bin/env python3
"""PreToolUse: deny touching *.lock files, with JSON (permissionDecision deny and a reason)."""

import json
import sys

event = json.load(sys.stdin)
text = json.dumps(event.get("tool_input", {}))
if ".lock" in text:
    out = {"permissionDecision": "deny", "permissionDecisionReason": "lock files are generated"}
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", **out}}))
