"""Errors the sandbox raises before a command runs; each message says what to do next."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """The command was not started; nothing ran."""


class SandboxUnavailable(SandboxError):
    """The requested policy cannot be enforced here (no launcher works, or a protected path is
    a symlink); running the command needs approval to go unsandboxed."""


class CommandSetupError(SandboxError):
    """The command cannot be set up as asked (its working directory is missing)."""
