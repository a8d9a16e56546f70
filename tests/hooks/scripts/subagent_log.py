"""SubagentStart / SubagentStop hook for the sub-agent tests: appends its payload (one JSON line)
to the file named by argv[1]; SubagentStart adds context for the child; SubagentStop sends the
child back to work once (exit 2), then lets it stop."""

import json
import sys

payload = json.load(sys.stdin)
with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(json.dumps(payload) + "\n")
if payload["hook_event_name"] == "SubagentStart":
    context = f"CTX-FROM-HOOK for {payload['agent_type']}"
    out = {"hookSpecificOutput": {"hookEventName": "SubagentStart", "additionalContext": context}}
    print(json.dumps(out))
elif payload["hook_event_name"] == "SubagentStop" and not payload["stop_hook_active"]:
    print("CHECK AGAIN before you stop", file=sys.stderr)
    sys.exit(2)
