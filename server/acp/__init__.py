"""`tether acp`: Tether as an Agent Client Protocol agent (newline-delimited JSON-RPC over
stdio, protocol version 1), for Zed, JetBrains IDEs, Neovim and Emacs. It runs the same core
in process as `tether serve` (`server.agent`), without pygls; the wire and its schema models
are the `agent-client-protocol` package's (`acp`).

- `agent.py`: the ACP methods, each a call into `server.agent.service.Agent`.
- `bridge.py`: the core's `Notifier` on the ACP connection: notifications become
  `session/update`s in order, approvals become `session/request_permission`.
- `updates.py`: Tether items as ACP updates (pure).
- `permissions.py`: approval requests as permission options, and the answers back (pure).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys


async def serve_stdio() -> None:
    from typing import cast

    from acp import Agent, run_agent

    from server.acp.agent import TetherAcpAgent

    agent = TetherAcpAgent()
    try:
        # Methods it does not define (fork, providers, ...) answer "method not found".
        await run_agent(cast(Agent, agent), use_unstable_protocol=True)
    finally:
        await agent.shutdown()


def main_acp() -> int:
    """`tether acp`: serve until the client closes stdin."""
    logging.basicConfig(
        level=os.environ.get("TETHER_LOG_LEVEL", "WARNING"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from sandbox.run import shield_this_process

    shield_this_process()  # commands must not read the API key from our /proc/<pid>/environ
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_stdio())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
