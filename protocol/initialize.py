"""What Tether adds to LSP's `initialize`: its options and its capabilities."""

from typing import Annotated, Literal

import msgspec

from protocol.base import LauncherKind, Mode, Wire, WireApi
from protocol.hooks import ClientHookMatcher

NonBlank = Annotated[str, msgspec.Meta(pattern=r"\S")]
"""A string with something in it besides spaces."""


class InitializationOptions(Wire):
    """`initializationOptions`; every field optional. Later changes come by
    `workspace/didChangeConfiguration` with the same shape under `settings.tether`. A bad
    value falls back to the next source with a warning (`server.config`)."""

    model: NonBlank | None = None
    base_url: NonBlank | None = None
    wire_api: WireApi | None = None
    default_mode: Mode | None = None
    home: NonBlank | None = None


class TetherClientCapabilities(Wire):
    """`capabilities.experimental.tether` in the `initialize` params: what the client adds."""

    hooks: dict[str, list[ClientHookMatcher]] = {}
    """Hooks the client runs itself, per Claude Code event name (PreToolUse, Stop, ...); the
    server asks for each with `hook/callback`. They run with the user's other hooks, and
    need no trust: they are the client's own code."""


class SandboxLauncherInfo(Wire):
    """Which command sandbox is in force and what it means (as `tether sandbox --check` says)."""

    name: LauncherKind
    setting: Literal["auto", "bwrap", "landlock", "none"]
    """`sandbox_launcher` as configured (config.toml or TETHER_SANDBOX_LAUNCHER)."""
    weaker_than_bwrap: bool
    """True when `name` is not bwrap: show the user `passedOver` and `guarantees`."""
    guarantees: list[str]
    """What the launcher enforces on every sandboxed command, one sentence each."""
    passed_over: list[str]
    """For each stronger launcher not used: why, and how to make it work."""


class TetherCapabilities(Wire):
    """`capabilities.experimental.tether` in the `initialize` result."""

    protocol_version: int
    modes: list[Mode]
    sandbox: LauncherKind
    sandbox_launcher: SandboxLauncherInfo | None = None
    wire_api: WireApi | None = None
    model: str | None = None
    default_mode: Mode | None = None
    """A Tether addition: the mode a thread starts in when `thread/start` names none."""
