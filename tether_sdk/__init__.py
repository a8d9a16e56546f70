"""Drive Tether from Python: the backend as a child process, threads and turns as typed events.

    async with Tether(cwd=".", mode="agent", on_command_approval=approve) as t:
        thread = await t.start_thread()
        async for event in thread.run_streamed("fix the failing test"):
            ...                                   # protocol notification structs
        result = await thread.run("add a test")  # TurnResult
        await thread.revert(result.turn_id)

`SyncTether` is the same API without `async`. Modules: `client` (the process, the connection,
approvals and their defaults), `hooks` (Python callables as hooks), `thread` (turns, images),
`sync` (the blocking wrapper).
"""

from tether_sdk.client import DEFAULT_ANSWERS, Tether, TetherError
from tether_sdk.hooks import HookCallback, HookMatcher
from tether_sdk.sync import SyncTether, SyncThread
from tether_sdk.thread import ServerGone, Thread, TurnResult

__all__ = [
    "DEFAULT_ANSWERS",
    "HookCallback",
    "HookMatcher",
    "ServerGone",
    "SyncTether",
    "SyncThread",
    "Tether",
    "TetherError",
    "Thread",
    "TurnResult",
]
