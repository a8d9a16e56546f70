#!/usr/bin/env python3
"""PreToolUse on Bash: rewrite `echo rewrite-me` to the command in $REWRITE_TO, with the decision
in $REWRITE_DECISION (allow or ask; empty: none), via updatedInput."""

import json
import os
import sys

event = json.load(sys.stdin)
if event["tool_input"].get("command") == "echo rewrite-me":
    out = {"hookEventName": "PreToolUse", "updatedInput": {"command": os.environ["REWRITE_TO"]}}
    if os.environ.get("REWRITE_DECISION"):
        out["permissionDecision"] = os.environ["REWRITE_DECISION"]
    print(json.dumps({"hookSpecificOutput": out}))
