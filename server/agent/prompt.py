"""The instructions the model gets: who it is, where it works, what the mode allows, and the
project's own instructions (AGENTS.md files from the git root down to the cwd, plus the user's)."""

from __future__ import annotations

import platform
from pathlib import Path

from protocol.base import LauncherKind, Mode

PROJECT_DOC_CAP = 32 * 1024

_MODE_TEXT: dict[Mode, str] = {
    "readOnly": (
        "The user chose read-only mode: you may read and search freely and run known-safe "
        "read-only commands. Every edit you make is a proposal the user reviews hunk by hunk "
        "before it lands, and other commands need the user's approval."
    ),
    "agent": (
        "The user chose agent mode: your edits apply at once inside the workspace (the user can "
        "undo any hunk or the whole turn), and commands run by themselves in a sandbox that can "
        "write only inside the workspace and a private /tmp, with no network. Protected paths "
        "(.git/hooks, .git/config, .tether/, .vscode/) and anything outside the workspace need "
        "approval."
    ),
    "fullAccess": (
        "The user chose full access: edits and commands run without a sandbox and without "
        "asking. Be careful with destructive commands."
    ),
}

BASE = """You are Tether, a coding agent working inside the user's editor (VS Code). You help by \
reading the code, running commands and editing files with the tools you have, then answering \
concisely.

How to work:
- Look before you change: read the relevant files and search the code first.
- Edit with apply_patch (preferred) or edit_file; never rewrite a file through the shell.
- Keep changes minimal and in the project's style. Run the project's tests when you can.
- For multi-step work, keep a short plan with update_plan and mark steps as you go.
- If a command fails because the sandbox denied it (no network, read-only path), say so; call \
shell again with `escalate: true` and a `justification` only when the step truly needs it.
- When you are done, summarize what you changed and what is left, briefly. Reference files as \
paths relative to the workspace root."""


def project_docs(cwd: Path, home: Path) -> str:
    """AGENTS.md from the user's TETHER_HOME, then from the git root down to `cwd`, capped."""
    paths: list[Path] = [home / "AGENTS.md"]
    chain = [cwd, *cwd.parents]
    top = next((d for d in chain if (d / ".git").exists()), cwd)
    for d in reversed(chain[: chain.index(top) + 1]):
        paths.append(d / "AGENTS.md")
    out: list[str] = []
    budget = PROJECT_DOC_CAP
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if not text or budget <= 0:
            continue
        text = text[:budget]
        budget -= len(text)
        out.append(f"<instructions source={str(p)!r}>\n{text}\n</instructions>")
    return "\n\n".join(out)


def build_instructions(
    *, cwd: Path, roots: list[Path], mode: Mode, launcher: LauncherKind, home: Path
) -> str:
    env = (
        f"Environment: {platform.system()} {platform.machine()}; working directory {cwd}; "
        f"workspace roots: {', '.join(map(str, roots))}; command sandbox: {launcher}."
    )
    if launcher == "none" and mode != "fullAccess":
        env += (
            " No OS sandbox is available here, so commands that would need one ask the user first."
        )
    sections = [BASE, _MODE_TEXT[mode], env]
    if docs := project_docs(cwd, home):
        sections.append("Project and user instructions (follow them):\n" + docs)
    return "\n\n".join(sections)
