#!/usr/bin/env bash
# PreToolUse on Bash: refuse recursive forced deletes (exit 2: blocked, stderr to the model).
# Written against Claude Code's documented hook contract; runs unchanged under Tether.
command=$(jq -r '.tool_input.command // empty')
if printf '%s' "$command" | grep -Eq '(^|[;&|[:space:]])rm[[:space:]]+-[a-zA-Z]*r[a-zA-Z]*f|rm[[:space:]]+-[a-zA-Z]*f[a-zA-Z]*r'; then
  echo "Blocked: '$command' deletes recursively; remove the files one by one." >&2
  exit 2
fi
exit 0
