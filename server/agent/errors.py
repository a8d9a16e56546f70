"""The agent's exceptions, all of them: what ends a tool call, a turn or a request early.

- `ToolFailed`: a tool could not do what was asked. Not an error of the turn: the loop hands the
  message back to the model as the tool's observation, so the model can correct itself.
- `TurnCancelled`: the user chose "stop" at an approval; the turn ends `interrupted`.
- `ModelError`: the model endpoint failed; retried while `retryable`, else the turn fails.
  `StructuredOutputRefused`: the endpoint does not take an output schema; the turn asks for
  the JSON in the prompt instead (`server.agent.structured`).
- `AgentError`: a request the agent cannot serve; an `RpcError`, answered with its `code` (§7).
"""

from __future__ import annotations

from protocol.errors import ErrorCode, RpcError


class ToolFailed(Exception):
    """The tool could not do what was asked; the message goes back to the model."""


class TurnCancelled(Exception):
    """The user stopped the turn from an approval prompt."""


class ModelError(Exception):
    """A model call failed. `retryable` says whether trying again may help; `retry_after` is the
    server's requested wait in seconds, when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class StructuredOutputRefused(ModelError):
    """The endpoint answered 400 to a request carrying an output schema, naming it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, status=400)


class AgentError(RpcError):
    """A request the agent cannot serve, with its §7 `code`: one of protocol.errors' hierarchy,
    so the JSON-RPC layer answers it like any other `RpcError`, with no mapping in between."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
