"""JSON-RPC error codes (PROTOCOL.md §7), and one exception class per code.

Whatever fails a request raises the class of its code (or `RpcError.of(code, message)`); the
server's JSON-RPC layer answers it with that code and the message, which says what happened
and what to do next. Any other exception in a handler is a bug and answers -32603.
"""

from enum import IntEnum


class ErrorCode(IntEnum):
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    REQUEST_CANCELLED = -32800
    """LSP's: the client cancelled the request (`$/cancelRequest`) before it was answered."""
    THREAD_NOT_FOUND = -32001
    TURN_ALREADY_RUNNING = -32002
    MODEL_UNAVAILABLE = -32003
    TURN_NOT_RUNNING = -32004
    CHANGE_CONFLICT = -32005
    """A Tether addition: an undo would overwrite what the user changed since."""


class RpcError(Exception):
    """A request failure: `code` for the client's logic, `message` for the user. Each subclass
    below fixes its code; an instance may carry its own (the agent's `AgentError`)."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @staticmethod
    def of(code: ErrorCode, message: str) -> "RpcError":
        """The error of `code`'s class."""
        return _BY_CODE[code](message)


class ParseError(RpcError):
    code = ErrorCode.PARSE_ERROR


class InvalidRequest(RpcError):
    code = ErrorCode.INVALID_REQUEST


class MethodNotFound(RpcError):
    code = ErrorCode.METHOD_NOT_FOUND


class InvalidParams(RpcError):
    code = ErrorCode.INVALID_PARAMS


class InternalError(RpcError):
    code = ErrorCode.INTERNAL_ERROR


class RequestCancelled(RpcError):
    code = ErrorCode.REQUEST_CANCELLED


class ThreadNotFound(RpcError):
    code = ErrorCode.THREAD_NOT_FOUND


class TurnAlreadyRunning(RpcError):
    code = ErrorCode.TURN_ALREADY_RUNNING


class ModelUnavailable(RpcError):
    code = ErrorCode.MODEL_UNAVAILABLE


class TurnNotRunning(RpcError):
    code = ErrorCode.TURN_NOT_RUNNING


class ChangeConflict(RpcError):
    code = ErrorCode.CHANGE_CONFLICT


_BY_CODE: dict[ErrorCode, type[RpcError]] = {
    cls.code: cls
    for cls in (
        ParseError,
        InvalidRequest,
        MethodNotFound,
        InvalidParams,
        InternalError,
        RequestCancelled,
        ThreadNotFound,
        TurnAlreadyRunning,
        ModelUnavailable,
        TurnNotRunning,
        ChangeConflict,
    )
}
