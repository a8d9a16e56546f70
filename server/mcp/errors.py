"""The MCP side's named failures; none of them ends a thread, one ends a turn."""


class RequiredServerNotReady(Exception):
    """A `required` server is not ready for the turn; the message names it and says why.
    The turn fails with code `mcpServerRequired`."""


class StartFailed(Exception):
    """The server could not be started; the message says why and what to do."""


class ToolCallFailed(Exception):
    """A call did not return a result: timed out, the server went away, a protocol error."""
