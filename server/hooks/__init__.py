"""Hooks: the user's own commands run at points of a turn, in Claude Code's format, so that
existing Claude Code (and Codex) hook scripts run under Tether unchanged.

No agent imports here; `server.agent.hooks` wires these into the turn. Reading order:

1. `config.py`: where hooks come from (TETHER_HOME/hooks.json, `[hooks]` in config.toml,
   `<root>/.tether/hooks.json`, optionally Claude Code's settings files), matchers, and the
   trust of project hooks by the hash of their definition.
2. `claude_names.py`: Tether's tools as Claude Code names them (`shell` -> `Bash`, ...), their
   inputs in Claude's field names, and the way back for `updatedInput`.
3. `runner.py`: runs the matching commands in parallel, outside the sandbox, with the scrubbed
   environment, each in its own process group killed on timeout.
4. `outcome.py`: what the exit codes and the JSON on stdout mean, combined over the hooks of
   one event (deny beats ask beats allow).
"""
