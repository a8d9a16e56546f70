"""Command line: serve a JSON script until killed, for the VS Code e2e test and benchmarks.

    python -m tests.model_server --port 0 --script script.json [--echo]

The first line on stdout is the base URL (`http://127.0.0.1:PORT/v1`), flushed at once so a
parent process can read it and go. The script is a JSON list of turns (or `{"turns": [...]}`);
see `script.turns_from_json`. With `--echo`, requests after the script ran out get a short
reply quoting the user's last message instead of HTTP 500. Each model request is logged
to stderr with how its answer ended (`--quiet` turns that off). SIGUSR1 releases held streams
(turns with `hold_after`); SIGTERM or SIGINT stops the server.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from tests.model_server.script import ScriptError, Turn, echo_reply, turns_from_json
from tests.model_server.server import ModelServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.model_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", type=Path, help="JSON file of scripted turns")
    parser.add_argument("--echo", action="store_true", help="echo the user once the script ends")
    parser.add_argument("--model", action="append", help="model id to list (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no per-request log on stderr")
    args = parser.parse_args(argv)
    try:
        turns = _load(args.script)
    except (OSError, ValueError) as error:
        print(f"model server: cannot load script {args.script}: {error}", file=sys.stderr)
        return 2
    server = ModelServer(
        turns,
        fallback=echo_reply if args.echo else None,
        host=args.host,
        port=args.port,
        models=args.model or ("scripted-model",),
        log=None if args.quiet else sys.stderr,
    )
    try:
        server.start()
    except RuntimeError as error:
        print(f"model server: {error}: {error.__cause__}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: server.release())
    try:
        print(server.base_url, flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


def _load(path: Path | None) -> list[Turn]:
    if path is None:
        return []
    try:
        return turns_from_json(json.loads(path.read_text()))
    except ScriptError:
        raise
    except json.JSONDecodeError as error:
        raise ScriptError(f"not JSON: {error}") from None


if __name__ == "__main__":
    sys.exit(main())
