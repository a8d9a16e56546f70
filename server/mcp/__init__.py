"""MCP servers (issue 18): the tools of any MCP server, for the agent, per thread.

- `config`: where servers are defined (config.toml's `[mcp_servers]`, `.mcp.json`), read into
  `ServerDef`s; project servers' trust by the SHA-256 of their definition.
- `threads`: each open thread's servers, started in the background (the SDK loaded only then).
- `manager`: one thread's servers: status on the wire, trust, reload, required ones.
- `connection`: one server's life (start, initialize, watch, restart with backoff) and calls.
- `transport`: a stdio server's sandboxed process, or an HTTP server's client.
- `tools`, `turn`: the servers' tools as the turn's tools (`mcpToolCall` items, the gate's
  approvals, `mcp_tool_search`); `results`: a result as the model's observation, capped.
- `naming`: `mcp__<server>__<tool>`; `approvals`: acceptAlways's edit of config.toml;
  `acp`: ACP's `mcpServers`; `errors`: the named failures.
"""
