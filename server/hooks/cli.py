"""`tether hooks list [--cd DIR] [--json]`: what hooks are configured for a workspace, where
each comes from, and whether it runs (a project's file only once trusted)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from server.config import load_settings
from server.hooks.config import TrustStore, commands_of, load_hooks

TRUST_WORDS = {
    "trusted": "runs",
    "declined": "off: you declined this definition",
    "unknown": "off until you trust it (asked at the next turn that needs it)",
}


def hooks_main(argv: list[str], out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="tether hooks", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="show the configured hooks and their trust")
    listing.add_argument("--cd", "-C", default=None, help="workspace directory (default: cwd)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    ns = parser.parse_args(argv)
    root = Path(ns.cd or Path.cwd()).resolve()
    settings = load_settings()
    config = load_hooks(
        settings.home,
        [root],
        toml_hooks=settings.hooks,
        import_claude=settings.hooks_import_claude,
    )
    store = TrustStore(settings.home)
    sources: list[dict[str, Any]] = []
    for source in config.sources:
        sources.append(
            {
                "source": source.label,
                "scope": "project" if source.project else "user",
                "trust": store.state(source),
                "digest": source.digest,
                "hooks": [
                    {
                        "event": c.event,
                        "matcher": c.matcher,
                        "command": c.command,
                        "timeout": c.timeout_s,
                    }
                    for c in commands_of(source, [])
                ],
            }
        )
    if ns.json:
        out.write(json.dumps({"sources": sources, "problems": config.problems}, indent=2) + "\n")
        return 0
    if not sources:
        out.write(f"No hooks configured for {root}.\n")
    for s in sources:
        out.write(f"{s['source']} ({s['scope']}): {TRUST_WORDS[s['trust']]}\n")
        for h in s["hooks"]:
            matcher = f" [{h['matcher']}]" if h["matcher"] else ""
            out.write(f"  {h['event']}{matcher}: {h['command']} (timeout {h['timeout']:g} s)\n")
    for problem in config.problems:
        out.write(f"problem: {problem}\n")
    return 0
