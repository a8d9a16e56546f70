"""Starting the two servers under test, each pointed at the scripted model server.

`Tether` is `.venv/bin/python -m server --stdio` (LSP framing); `Codex` is the `codex` binary
from npm `@openai/codex` (bench/setup.sh installs it) as `codex app-server` (JSON lines), with
a provider whose `wire_api = "responses"` and whose base_url is the scripted server. Both get a
fresh home directory (TETHER_HOME / CODEX_HOME) per process, so no state carries over.

Both protocols share the names that matter here (`thread/start`, `turn/start`,
`item/agentMessage/delta`, `turn/completed`), so a `Session` drives either one the same way.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.rpc import RpcProcess, Stamped

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
CODEX_VENDOR = BENCH / "node_modules" / "@openai" / "codex-linux-x64" / "vendor"
MODEL = "scripted-model"
DELTA = "item/agentMessage/delta"
API_KEY = "sk-bench-scripted"
# Codex refuses to put its helper binaries under /tmp; the sandbox bench also uses /var/tmp.
CACHE = Path("/var/tmp")  # what is kept between runs (the generated search tree)
SCRATCH = Path(tempfile.mkdtemp(prefix="tether-bench-", dir=CACHE))  # homes, workspaces
atexit.register(shutil.rmtree, SCRATCH, True)


def codex_binary() -> Path | None:
    """The native codex binary (not the node wrapper: its spawn cost is not Codex's)."""
    found = sorted(CODEX_VENDOR.glob("*/bin/codex")) if CODEX_VENDOR.exists() else []
    return found[0] if found else None


def codex_version() -> str:
    binary = codex_binary()
    if binary is None:
        return "not installed"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or out.stderr.strip()


def tether_revision() -> str:
    """The commit measured, and whether the server's own packages differ from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "server", "sandbox", "protocol"],
        capture_output=True,
        text=True,
    )
    state = " + uncommitted changes in server/sandbox/protocol" if dirty.stdout.strip() else ""
    return f"commit {head.stdout.strip() or '?'}{state}"


def clean_env() -> dict[str, str]:
    """Our environment without model settings, and with bytecode caching on: this machine sets
    PYTHONDONTWRITEBYTECODE=1, which would make every Tether start recompile its own ~80
    modules from source (~0.1 s), a cost no installed copy (pip compiles .pyc) pays."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "TETHER_", "CODEX_")) and k != "PYTHONDONTWRITEBYTECODE"
    }


# The scripted model server, as its own process (so its CPU is not the client's GIL) ---------


@contextmanager
def model_server(turns: list[dict[str, Any]]) -> Iterator[str]:
    """Run `python -m tests.model_server` with `turns` (JSON form); yields its base URL."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=SCRATCH, delete=False) as f:
        json.dump(turns, f)
        script = Path(f.name)
    proc = subprocess.Popen(
        [
            str(PYTHON),
            "-m",
            "tests.model_server",
            "--port",
            "0",
            "--quiet",
            "--script",
            str(script),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1"):
            raise RuntimeError(f"model server did not start (printed {url!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        script.unlink(missing_ok=True)


# One server process and its conversation ----------------------------------------------------


@dataclass
class TurnTiming:
    sent: float  # turn/start written
    accepted: float  # its result parsed (the protocol says it comes "at once")
    first_delta: float | None
    completed: float
    deltas: int
    status: str
    turn: dict[str, Any]


class Session:
    """One server process, initialized, ready for threads and turns."""

    name: str

    def __init__(self, rpc: RpcProcess, home: Path, initialized_at: float) -> None:
        self.rpc = rpc
        self.home = home
        self.initialized_at = initialized_at

    @property
    def startup_s(self) -> float:
        return self.initialized_at - self.rpc.spawned_at

    def start_thread(self, cwd: Path) -> str:
        raise NotImplementedError

    def run_turn(self, thread_id: str, text: str, timeout: float = 120.0) -> TurnTiming:
        start = self.rpc.mark()
        rid, sent = self.rpc.request(
            "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]}
        )
        result = self.rpc.result_of(rid, timeout)
        turn_id = result.msg["result"]["turn"]["id"]

        def completed(m: dict[str, Any]) -> bool:
            return m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn_id

        done = self.rpc.wait(completed, timeout, start)
        first: Stamped | None = None
        deltas = 0
        for s in self.rpc.since(start):
            msg = s.msg
            if msg.get("method") == DELTA and msg["params"].get("turnId") == turn_id:
                deltas += 1
                first = first or s
        turn = done.msg["params"]["turn"]
        first_at = first.at if first else None
        return TurnTiming(sent, result.at, first_at, done.at, deltas, turn["status"], turn)

    def close(self) -> None:
        self.rpc.close()


class TetherSession(Session):
    name = "tether"

    @classmethod
    def start(
        cls,
        base_url: str,
        workspace: Path,
        *,
        python_flags: list[str] = (),  # type: ignore[assignment]
        module: list[str] = ("-m", "server", "--stdio"),  # type: ignore[assignment]
        config_toml: str = "",
    ) -> TetherSession:
        home = Path(tempfile.mkdtemp(prefix="tether-home-", dir=SCRATCH))
        if config_toml:
            (home / "config.toml").write_text(config_toml)
        env = {
            **clean_env(),
            "TETHER_HOME": str(home),
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": base_url,
            "TETHER_MODEL": MODEL,
            "TETHER_WIRE_API": "responses",
        }
        rpc = RpcProcess(
            [str(PYTHON), *python_flags, *module],
            framing="lsp",
            env=env,
            cwd=ROOT,
            stderr=home / "stderr.log",
        )
        rid, _ = rpc.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": None,
                "capabilities": {},
                "initializationOptions": {"defaultMode": "agent"},
            },
        )
        got = rpc.result_of(rid)
        rpc.notify("initialized", {})
        return cls(rpc, home, got.at)

    def start_thread(self, cwd: Path) -> str:
        return self.rpc.call("thread/start", {"cwd": str(cwd), "mode": "agent"})["thread"]["id"]

    def close(self) -> None:
        try:
            self.rpc.call("shutdown", None, timeout=5)
            self.rpc.notify("exit")
        except Exception:
            pass
        super().close()


class CodexSession(Session):
    name = "codex"

    @classmethod
    def start(cls, base_url: str, workspace: Path, *, config_toml: str = "") -> CodexSession:
        binary = codex_binary()
        if binary is None:
            raise RuntimeError("codex is not installed: run bench/setup.sh")
        home = Path(tempfile.mkdtemp(prefix="codex-home-", dir=SCRATCH))
        if config_toml:
            (home / "config.toml").write_text(config_toml)
        provider = (
            f'{{name="bench", base_url="{base_url}", wire_api="responses", '
            f'env_key="BENCH_CODEX_KEY"}}'
        )
        argv = [
            str(binary),
            "app-server",
            "-c", 'model_provider="bench"',
            "-c", f"model_providers.bench={provider}",
            "-c", f'model="{MODEL}"',
        ]  # fmt: skip
        env = {**clean_env(), "CODEX_HOME": str(home), "BENCH_CODEX_KEY": API_KEY}
        rpc = RpcProcess(argv, framing="ndjson", env=env, cwd=workspace, stderr=home / "stderr.log")
        rid, _ = rpc.request("initialize", {"clientInfo": {"name": "tether-bench", "version": "1"}})
        got = rpc.result_of(rid)
        rpc.notify("initialized")
        return cls(rpc, home, got.at)

    def start_thread(self, cwd: Path) -> str:
        params = {"cwd": str(cwd), "approvalPolicy": "never", "sandbox": "workspace-write"}
        return self.rpc.call("thread/start", params)["thread"]["id"]


def start_session(kind: str, base_url: str, workspace: Path, config_toml: str = "") -> Session:
    """`config_toml`: the text of the server's config.toml in its fresh home (TETHER_HOME or
    CODEX_HOME), e.g. `[mcp_servers.x]` tables, which both read with the same keys."""
    if kind == "tether":
        return TetherSession.start(base_url, workspace, config_toml=config_toml)
    return CodexSession.start(base_url, workspace, config_toml=config_toml)


def python_version() -> str:
    return sys.version.split()[0]
