"""Request handlers: decode params into the method table's types, call the agent, encode.

Every method of `protocol.methods.REQUESTS` has a handler here (a test checks it); errors
become JSON-RPC errors with Tether's codes. The server imports this module (and with it the
agent) after it has answered `initialize`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from protocol.base import Empty
from protocol.change import ChangeProposeParams, ChangeRevertParams, ChangeRevertResult
from protocol.errors import InternalError, MethodNotFound, RpcError
from protocol.methods import REQUESTS
from protocol.review import (
    ReviewStartParams,
    ReviewStartResult,
    TurnFilesParams,
    TurnFilesResult,
)
from protocol.subagent import AgentListParams, AgentListResult
from protocol.thread import (
    ThreadIdParams,
    ThreadListParams,
    ThreadResult,
    ThreadSetModeParams,
    ThreadStartedNotification,
    ThreadStartParams,
    ThreadWithTurnsResult,
)
from protocol.turn import (
    TurnIdParams,
    TurnResult,
    TurnRevertParams,
    TurnRevertResult,
    TurnStartParams,
    TurnSteerParams,
)
from server.agent.inline import gate_for_turn
from server.agent.service import Agent
from server.handlers.mcp import mcp_server_list, mcp_server_reload, mcp_server_trust
from server.rpc import decode

log = logging.getLogger(__name__)

Handler = Callable[[Agent, Any], Awaitable[Any]]


async def thread_start(agent: Agent, p: ThreadStartParams) -> ThreadResult:
    thread = agent.start_thread(p.cwd, p.roots, p.mode, p.model)
    agent.notifier.notify(ThreadStartedNotification(thread))
    return ThreadResult(thread)


async def thread_list(agent: Agent, p: ThreadListParams) -> Any:
    return agent.list_threads(p.cursor, p.limit, p.cwd, p.parent_thread_id, p.include_subagents)


async def thread_read(agent: Agent, p: ThreadIdParams) -> ThreadWithTurnsResult:
    thread, turns = agent.read_thread(p.thread_id)
    return ThreadWithTurnsResult(thread, turns)


async def thread_set_mode(agent: Agent, p: ThreadSetModeParams) -> ThreadResult:
    return ThreadResult(agent.set_mode(p.thread_id, p.mode))


async def thread_compact(agent: Agent, p: ThreadIdParams) -> Empty:
    agent.compact(p.thread_id)
    return Empty()


async def thread_close(agent: Agent, p: ThreadIdParams) -> Empty:
    await agent.close_thread(p.thread_id)
    return Empty()


async def turn_start(agent: Agent, p: TurnStartParams) -> TurnResult:
    return TurnResult(
        agent.start_turn(
            p.thread_id, p.input, p.model, gate_for_turn(p.propose_edits), p.output_schema
        )
    )


async def turn_steer(agent: Agent, p: TurnSteerParams) -> Empty:
    agent.steer(p.thread_id, p.turn_id, p.input)
    return Empty()


async def turn_interrupt(agent: Agent, p: TurnIdParams) -> Empty:
    await agent.interrupt(p.thread_id, p.turn_id)
    return Empty()


async def turn_revert(agent: Agent, p: TurnRevertParams) -> TurnRevertResult:
    restored, conflicts = agent.revert_turn(p.thread_id, p.turn_id, p.force)
    return TurnRevertResult(restored=restored, conflicts=conflicts)


async def change_revert(agent: Agent, p: ChangeRevertParams) -> ChangeRevertResult:
    return ChangeRevertResult(await agent.revert_change(p.thread_id, p.item_id, p.hunks))


async def change_propose(agent: Agent, p: ChangeProposeParams) -> TurnResult:
    from server.agent.propose import propose  # these three: off a first turn's import path

    return TurnResult(propose(agent, p.thread_id, p.path, p.content))


async def turn_files(agent: Agent, p: TurnFilesParams) -> TurnFilesResult:
    from server.agent.turn_review import turn_files as review_turn_files

    return review_turn_files(agent, p.thread_id, p.turn_id)


async def review_start(agent: Agent, p: ReviewStartParams) -> ReviewStartResult:
    from server.review.runner import start_review

    return start_review(agent, p)


async def model_list(agent: Agent, _p: Empty) -> Any:
    return await agent.list_models()


async def agent_list(agent: Agent, p: AgentListParams) -> AgentListResult:
    return agent.list_agents(p.cwd)


HANDLERS: dict[str, Handler] = {
    "thread/start": thread_start,
    "thread/list": thread_list,
    "thread/read": thread_read,
    "thread/resume": thread_read,
    "thread/setMode": thread_set_mode,
    "thread/compact": thread_compact,
    "thread/close": thread_close,
    "turn/start": turn_start,
    "turn/steer": turn_steer,
    "turn/interrupt": turn_interrupt,
    "turn/revert": turn_revert,
    "change/revert": change_revert,
    "change/propose": change_propose,
    "review/start": review_start,
    "model/list": model_list,
    "turn/files": turn_files,
    "agent/list": agent_list,
    "mcpServer/list": mcp_server_list,
    "mcpServer/reload": mcp_server_reload,
    "mcpServer/trust": mcp_server_trust,
}


def make_handlers(agent: Callable[[], Agent]) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """A handler for every method of the table: raw params in, the result Struct out; a
    request the agent cannot serve is answered with its code (§7), any other failure -32603.
    A method declared in the table before its handler landed answers -32601 "not available
    yet" (tests/server/test_handlers.py fails until it has one)."""
    return {method: _handler(method, agent) for method in REQUESTS}


async def _not_available(method: str) -> Any:
    raise MethodNotFound(f"{method} is not available yet in this server")


def _handler(method: str, agent: Callable[[], Agent]) -> Callable[[Any], Awaitable[Any]]:
    params_type = REQUESTS[method].params
    handler = HANDLERS.get(method)
    if handler is None:
        return lambda _raw: _not_available(method)

    async def handle(raw: Any) -> Any:
        params = decode(method, raw, params_type)
        try:
            return await handler(agent(), params)
        except RpcError:  # the agent's AgentError too: answered with its own code
            raise
        except Exception as exc:
            log.exception("%s failed", method)
            raise InternalError(f"{method} failed: {exc!r}") from None

    return handle
