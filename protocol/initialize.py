"""What Tether adds to LSP's `initialize`: its options and its capabilities."""

from protocol.base import LauncherKind, Mode, Wire, WireApi


class InitializationOptions(Wire):
    """`initializationOptions`; every field optional. Later changes come by
    `workspace/didChangeConfiguration` with the same shape under `settings.tether`."""

    model: str | None = None
    base_url: str | None = None
    wire_api: WireApi | None = None
    default_mode: Mode | None = None
    home: str | None = None


class TetherCapabilities(Wire):
    """`capabilities.experimental.tether` in the `initialize` result."""

    protocol_version: int
    modes: list[Mode]
    sandbox: LauncherKind
    wire_api: WireApi | None = None
    model: str | None = None
