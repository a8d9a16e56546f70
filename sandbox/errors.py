"""Errors the sandbox raises before a command runs; each message says what to do next."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """The command was not started; nothing ran."""


class SandboxUnavailable(SandboxError):
    """No launcher can enforce the requested policy here (approval to run unsandboxed needed)."""


class CommandSetupError(SandboxError):
    """The command cannot be set up as asked (missing cwd, an unprotectable protected path)."""
