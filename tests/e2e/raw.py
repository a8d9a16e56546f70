"""A raw byte-level connection to the server, for what a well-behaved client never sends."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.e2e.harness import ROOT


class RawServer:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, home: Path, env: dict[str, str] | None = None) -> RawServer:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TETHER_"))}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            "--stdio",
            cwd=ROOT,
            env={**base, "TETHER_HOME": str(home), **(env or {})},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        return cls(proc)

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    def send(self, message: Any) -> None:
        body = json.dumps(message).encode()
        self.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            assert self.proc.stdout is not None
            length = 0
            while (line := await self.proc.stdout.readline()) != b"\r\n":
                if not line:
                    raise EOFError("the server closed its stdout")
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            return json.loads(await self.proc.stdout.readexactly(length))

        return await asyncio.wait_for(read(), timeout)

    async def response(self, msg_id: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The response to `msg_id`, skipping notifications."""
        while True:
            message = await self.receive(timeout)
            if "method" not in message and message.get("id") == msg_id:
                return message

    async def initialize(self) -> None:
        self.send(
            {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {"capabilities": {}}}
        )
        await self.response("init")
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    async def close(self) -> int:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode or 0
