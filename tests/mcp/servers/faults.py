"""MCP servers that misbehave, for the fault tests (the SDK's server side).

faults.py slow SECONDS     starts serving only after SECONDS (slower than a start-up timeout)
faults.py many N           offers N tools (tool search must take their place)
faults.py exit             exits at once with a message on stderr
"""

from __future__ import annotations

import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def many(count: int) -> MCPServer:
    server = MCPServer("many")
    topics = ["weather", "invoice", "calendar", "database", "ticket", "deploy", "metric", "user"]
    for i in range(count):
        topic = topics[i % len(topics)]

        def tool(query: str, detail: int = 0, i: int = i, topic: str = topic) -> str:
            return f"{topic} tool {i} answered {query!r}"

        server.tool(
            name=f"{topic}_lookup_{i:03d}",
            description=f"Look up a {topic} record by a free-text query; variant {i} of a "
            "long family of nearly identical tools whose schemas fill the context window.",
            annotations=READ_ONLY,
        )(tool)
    return server


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "slow":
        time.sleep(float(sys.argv[2]))
        MCPServer("slow").run()
    elif mode == "many":
        many(int(sys.argv[2])).run()
    elif mode == "exit":
        print("fatal: this server cannot start (missing FAULT_DB)", file=sys.stderr, flush=True)
        sys.exit(2)
