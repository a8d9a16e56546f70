#!/usr/bin/env bash
# PostToolUse on Edit|Write: format the file the tool wrote (here: strip trailing whitespace, the
# formatter every language has), like Claude Code's documented "format after edit" example.
file_path=$(jq -r '.tool_input.file_path // empty')
[ -n "$file_path" ] && [ -f "$file_path" ] || exit 0
sed -i 's/[[:space:]]*$//' "$file_path"
exit 0
