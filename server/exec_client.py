"""`tether exec`: a headless client of the protocol, like `codex exec`.

It starts the backend as a child process, runs one turn, and streams it to the terminal: the
agent's answer to stdout as it arrives; tool calls, command output and diffs to stderr. Approval
requests are asked at the terminal, or, without a TTY, declined unless `--yes`. The exit code is
0 when the turn completed, 1 when it failed or was interrupted, 2 when it could not start.
`--image FILE` attaches images; with `--output-schema FILE` the answer is not streamed: the
final message, once it is JSON matching the schema, is printed alone (else exit 1, saying why).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from protocol.errors import ErrorCode
from server.exec_args import image_inputs, read_output_schema
from server.framing import frame, read_frame
from server.output_schema import final_message_problem, json_text


class RpcFailure(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "unknown error"))
        self.code = error.get("code")


class Connection:
    """A minimal JSON-RPC client over the server's stdio."""

    def __init__(self, proc: asyncio.subprocess.Process, on_message: Any) -> None:
        self._proc = proc
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._on_message = on_message
        self.reader = asyncio.create_task(self._read())

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(frame(message))

    async def request(self, method: str, params: Any) -> Any:
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await future

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def respond(self, msg_id: Any, result: Any) -> None:
        self._send({"jsonrpc": "2.0", "id": msg_id, "result": result})

    def respond_error(self, msg_id: Any, code: int, message: str) -> None:
        error = {"code": code, "message": message}
        self._send({"jsonrpc": "2.0", "id": msg_id, "error": error})

    async def _read(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        while (body := await read_frame(stdout)) is not None:
            message = json.loads(body)
            if "method" not in message and message.get("id") in self._pending:
                future = self._pending.pop(message["id"])
                if "error" in message:
                    future.set_exception(RpcFailure(message["error"]))
                else:
                    future.set_result(message.get("result"))
            else:
                await self._on_message(message)
        for future in self._pending.values():
            future.set_exception(RpcFailure({"message": "the Tether server exited"}))


class Printer:
    """Renders the turn's notifications on the terminal. `hold_messages`: the agent's text is
    not streamed (with --output-schema only the final JSON is printed, at the end)."""

    def __init__(
        self, out: TextIO, err: TextIO, as_json: bool, *, hold_messages: bool = False
    ) -> None:
        self.out, self.err, self.as_json = out, err, as_json
        self.hold_messages = hold_messages
        self.in_message = False

    def _note(self, text: str) -> None:
        if self.in_message:
            self.out.write("\n")
            self.out.flush()
            self.in_message = False
        self.err.write(text + "\n")
        self.err.flush()

    def show(self, method: str, p: dict[str, Any]) -> None:
        if self.as_json:
            self.out.write(json.dumps({"method": method, "params": p}) + "\n")
            self.out.flush()
            return
        if method == "item/agentMessage/delta":
            if self.hold_messages:
                return
            self.out.write(p["delta"])
            self.out.flush()
            self.in_message = True
        elif method == "item/commandExecution/outputDelta":
            self.err.write(p["chunk"])
            self.err.flush()
        elif method == "item/started":
            self._item_started(p["item"])
        elif method == "item/completed":
            self._item_completed(p["item"])
        elif method == "turn/retrying":
            self._note(
                f"! {p['message']} (retry {p['attempt']}/{p['maxAttempts']} in "
                f"{p['delayMs'] / 1000:.1f} s)"
            )
        elif method == "window/showMessage":
            self._note(f"! {p.get('message')}")

    def _item_started(self, item: dict[str, Any]) -> None:
        if item["type"] == "commandExecution":
            self._note(f"$ {item['command']}    [{item['sandbox']} sandbox]")

    def _item_completed(self, item: dict[str, Any]) -> None:
        kind = item["type"]
        if kind == "toolCall":
            mark = "x" if item["status"] == "failed" else "-"
            self._note(f"{mark} {item.get('summary') or item['tool']}")
        elif kind == "commandExecution":
            self._note(f"  exit {item.get('exitCode')} ({item['status']})")
        elif kind == "fileChange":
            for change in item["changes"]:
                self._note(f"~ {change['kind']} {change['path']} ({item['status']})")
                self._note(change["diff"].rstrip("\n"))
        elif kind == "plan":
            for step in item["steps"]:
                box = {"completed": "[x]", "inProgress": "[>]"}.get(step["status"], "[ ]")
                self._note(f"  {box} {step['text']}")
        elif kind == "error":
            self._note(f"error: {item['message']}")


async def _ask(question: str, choices: dict[str, str]) -> str:
    """Ask at the terminal; returns the chosen key."""
    keys = "/".join(choices)
    prompt = f"{question}\n  " + ", ".join(f"[{k}] {v}" for k, v in choices.items()) + f" ({keys}) "
    while True:
        answer = (await asyncio.to_thread(input, prompt)).strip().lower()
        if answer in choices:
            return answer


async def _approve(method: str, p: dict[str, Any], yes: bool, tty: bool) -> dict[str, Any]:
    if yes:
        return {"decision": "accept"}
    if method == "approval/hookTrust":
        return await _trust_hooks(p, tty)
    if not tty:
        return {"decision": "decline"}
    if method == "approval/commandExecution":
        what = f"Run `{p['command']}` in {p['cwd']}?" + (
            f" ({p['reason']})" if p.get("reason") else ""
        )
    elif method == "approval/fileChange":
        for change in p["changes"]:
            sys.stderr.write(change["diff"])
        what = "Apply these changes?"
    else:
        what = f"Allow reading {p.get('path')}?"
    key = await _ask(what, {"y": "yes", "s": "yes for this session", "n": "no", "q": "stop"})
    return {
        "decision": {"y": "accept", "s": "acceptForSession", "n": "decline", "q": "cancel"}[key]
    }


async def _trust_hooks(p: dict[str, Any], tty: bool) -> dict[str, Any]:
    """Without a TTY the project's hooks stay off for this run, and the question stays open
    (a "no" would be kept until the file changes)."""
    if not tty:
        sys.stderr.write(f"Hooks of {p['source']} are off: not trusted yet (run interactively).\n")
        return {"decision": "cancel"}
    for c in p["commands"]:
        matcher = f" [{c['matcher']}]" if c["matcher"] else ""
        sys.stderr.write(f"  {c['eventName']}{matcher}: {c['command']}\n")
    what = f"{p['source']} defines these hooks, run outside the sandbox. Trust them?"
    key = await _ask(what, {"y": "yes", "n": "no"})
    return {"decision": "accept" if key == "y" else "decline"}


async def exec_turn(
    ns: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    cwd = Path(ns.cd or os.getcwd()).resolve()
    try:
        schema = read_output_schema(ns.output_schema)
    except ValueError as exc:
        err.write(f"tether: {exc}\n")
        return 2
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "--stdio",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=64 * 1024 * 1024,
    )
    printer = Printer(out, err, ns.json, hold_messages=schema is not None)
    done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    turn_id: list[str] = []
    thread_id: list[str] = []
    tty = sys.stdin.isatty()

    async def on_message(message: dict[str, Any]) -> None:
        method, params = message.get("method", ""), message.get("params") or {}
        if "id" in message:  # a request from the server: an approval
            conn.respond(message["id"], await _approve(method, params, ns.yes, tty))
            return
        if params.get("threadId") not in (None, *thread_id):
            return  # a sub-agent's thread: the parent's subagent item shows it
        printer.show(method, params)
        if method == "turn/completed" and not done.done():
            done.set_result(params["turn"])

    conn = Connection(proc, on_message)
    options = {k: v for k, v in {"model": ns.model, "defaultMode": ns.mode}.items() if v}
    try:
        await conn.request(
            "initialize",
            {"processId": os.getpid(), "capabilities": {}, "initializationOptions": options},
        )
        conn.notify("initialized", {})
        if ns.resume:
            thread = (await conn.request("thread/resume", {"threadId": ns.resume}))["thread"]
        else:
            start = {"cwd": str(cwd), "roots": [str(Path(r).resolve()) for r in ns.add_dir or ()]}
            thread = (await conn.request("thread/start", start))["thread"]
        text = {"type": "text", "text": " ".join(ns.prompt)}
        start = {"threadId": thread["id"], "input": [text, *image_inputs(ns.image)]}
        if schema is not None:
            start["outputSchema"] = schema
        thread_id.append(thread["id"])
        turn = (await conn.request("turn/start", start))["turn"]
        turn_id.append(turn["id"])

        async def interrupt() -> None:
            # Ctrl-C at a terminal reaches the server too; then it exits before it answers.
            with contextlib.suppress(RpcFailure):
                await conn.request(
                    "turn/interrupt", {"threadId": thread["id"], "turnId": turn["id"]}
                )

        interrupts: set[asyncio.Task[None]] = set()
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGINT, lambda: interrupts.add(asyncio.create_task(interrupt()))
        )
        final = await done
    except RpcFailure as exc:
        hint = " (see `tether exec --help`)" if exc.code == ErrorCode.MODEL_UNAVAILABLE else ""
        err.write(f"tether: {exc}{hint}\n")
        return 2
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.request("shutdown", None), 5)
            conn.notify("exit", None)
        with contextlib.suppress(ProcessLookupError):
            if proc.stdin is not None:
                proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
        if proc.returncode is None:
            proc.kill()
    if printer.in_message:
        out.write("\n")
    messages = [i["text"] for i in final["items"] if i["type"] == "agentMessage"]
    last = messages[-1] if messages else None
    if final["status"] != "completed":
        message = (final.get("error") or {}).get("message") or f"turn {final['status']}"
        err.write(f"tether: {message}\n")
        _write_last(ns, last)
        return 1
    if schema is not None:
        if (problem := final_message_problem(last, schema)) is not None:
            err.write(f"tether: {problem}\n")
            _write_last(ns, last)
            return 1
        last = json_text(last or "")
        if not ns.json:
            out.write(f"{last}\n")
    _write_last(ns, last)
    return 0


def _write_last(ns: argparse.Namespace, message: str | None) -> None:
    """`--output-last-message FILE`: the final message (with --output-schema, its JSON)."""
    if ns.output_last_message and message is not None:
        Path(ns.output_last_message).write_text(message)


def run_exec(ns: argparse.Namespace) -> int:
    return asyncio.run(exec_turn(ns))
