#!/usr/bin/env bash
# Stop: ask for one more round (the tests) unless this stop already follows a Stop hook's
# continuation: the documented loop guard, stop_hook_active.
if [ "$(jq -r '.stop_hook_active')" = "true" ]; then
  exit 0
fi
jq -n '{decision: "block", reason: "Run the tests before you stop."}'
