"""JSON-RPC error codes (PROTOCOL.md §7)."""

from enum import IntEnum


class ErrorCode(IntEnum):
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    THREAD_NOT_FOUND = -32001
    TURN_ALREADY_RUNNING = -32002
    MODEL_UNAVAILABLE = -32003
    TURN_NOT_RUNNING = -32004
    CHANGE_CONFLICT = -32005
    """A Tether addition: an undo would overwrite what the user changed since."""
