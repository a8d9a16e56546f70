"""Generates the JSON Schema of the protocol from the method table, and the client's TypeScript.

    python -m protocol.export           # write protocol/schema/tether.schema.json and generated.ts
    python -m protocol.export --check   # exit 1 if either checked-in file is stale

The TypeScript comes from the schema through json-schema-to-typescript (installed in
vscode-client/node_modules by its set-up), followed by method maps generated from the same table.
Both texts depend on protocol/ alone, not on the Python or msgspec version that ran this: every
description is cleaned like a docstring, and every object and list of names is sorted
(tests/protocol/test_generation_identity.py checks it across interpreters and msgspec releases).
"""

import argparse
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast, get_args

import msgspec

from protocol import PROTOCOL_VERSION
from protocol.base import Mode
from protocol.errors import ErrorCode
from protocol.findings import ReviewTarget
from protocol.initialize import (
    InitializationOptions,
    TetherCapabilities,
    TetherClientCapabilities,
)
from protocol.item import Item, UserInput
from protocol.methods import NOTIFICATIONS, REQUESTS, SERVER_REQUESTS

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "protocol" / "schema" / "tether.schema.json"
TS_PATH = ROOT / "vscode-client" / "src" / "protocol" / "generated.ts"
JSON2TS = ROOT / "vscode-client" / "node_modules" / ".bin" / "json2ts"


def _name(t: type[Any]) -> str:
    return t.__name__


def _name_unions(definitions: dict[str, Any], unions: dict[str, Any]) -> None:
    """Give tagged unions a name of their own (msgspec inlines them) so clients get `Item`."""
    for name, union in unions.items():
        (inline,), _ = msgspec.json.schema_components([union], ref_template="#/definitions/{name}")
        definitions[name] = inline

        def substitute(node: Any, inline: Any = inline, name: str = name) -> Any:
            if node == inline:
                return {"$ref": f"#/definitions/{name}"}
            if isinstance(node, dict):
                items = cast(dict[str, Any], node).items()
                return {k: substitute(v) for k, v in items}
            if isinstance(node, list):
                return [substitute(v) for v in cast(list[Any], node)]
            return node

        for key, schema in list(definitions.items()):
            if key != name:
                definitions[key] = substitute(schema)


# Lists whose order carries no meaning; sorted so a generator's whims cannot reorder them.
_UNORDERED = ("required", "enum", "anyOf", "oneOf")


def _normalise(node: Any) -> Any:
    """The schema with every description cleaned as `inspect.cleandoc` does (Python 3.13 and
    msgspec 0.23 strip a docstring's indentation, earlier releases keep it) and every unordered
    list sorted. Object keys are sorted when the text is rendered."""
    if isinstance(node, list):
        return [_normalise(v) for v in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in cast(dict[str, Any], node).items():
        value = _normalise(value)
        if key == "description" and isinstance(value, str):
            value = inspect.cleandoc(value)
        elif key in _UNORDERED and isinstance(value, list):
            value = sorted(cast(list[Any], value), key=lambda v: json.dumps(v, sort_keys=True))
        out[key] = value
    return out


def build_schema() -> dict[str, Any]:
    """The whole protocol as one JSON Schema document; every type sits in `definitions` and is
    reachable from the root's properties so code generators emit all of them."""
    types: list[type[Any]] = [InitializationOptions, TetherCapabilities, TetherClientCapabilities]
    for req in (*REQUESTS.values(), *SERVER_REQUESTS.values()):
        types += [req.params, req.result]
    types += list(NOTIFICATIONS.values())
    unique = list(dict.fromkeys(types))
    _, definitions = msgspec.json.schema_components(unique, ref_template="#/definitions/{name}")
    _name_unions(definitions, {"Item": Item, "UserInput": UserInput, "ReviewTarget": ReviewTarget})

    def ref(t: type[Any]) -> dict[str, str]:
        return {"$ref": f"#/definitions/{_name(t)}"}

    properties: dict[str, Any] = {_name(t): ref(t) for t in unique}
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "TetherProtocol",
        "description": f"Tether protocol version {PROTOCOL_VERSION}, generated from protocol/.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "definitions": definitions,
        "x-requests": {
            m: {"params": _name(r.params), "result": _name(r.result)} for m, r in REQUESTS.items()
        },
        "x-notifications": {m: _name(t) for m, t in NOTIFICATIONS.items()},
        "x-serverRequests": {
            m: {"params": _name(r.params), "result": _name(r.result)}
            for m, r in SERVER_REQUESTS.items()
        },
        # Constants the client needs as values, not only as types (PROTOCOL.md §2, §7).
        "x-modes": list(get_args(Mode)),
        "x-errorCodes": {_camel(code.name): code.value for code in ErrorCode},
    }
    return _normalise(schema)


def render_schema() -> str:
    return json.dumps(build_schema(), indent=2, sort_keys=True) + "\n"


def _camel(name: str) -> str:
    """THREAD_NOT_FOUND -> threadNotFound."""
    first, *rest = name.lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


def _constants(schema: dict[str, Any]) -> list[str]:
    """The modes in their order of trust and the JSON-RPC error codes, as TypeScript values."""
    out = [f"export const MODES = {json.dumps(schema['x-modes'])} as const;"]
    out.append("export const ErrorCodes = {")
    out += [f"  {name}: {code}," for name, code in schema["x-errorCodes"].items()]
    out.append("} as const;")
    return out


def _method_maps(schema: dict[str, Any]) -> str:
    """TypeScript maps from method name to params/result types, from the same table."""
    out = ["", "// Method maps, generated from protocol/methods.py.", ""]
    out.append(f"export const PROTOCOL_VERSION = {PROTOCOL_VERSION};")
    out += _constants(schema)
    for const, key in (("Requests", "x-requests"), ("ServerRequests", "x-serverRequests")):
        out.append(f"export interface {const} {{")
        for method, pr in schema[key].items():
            out.append(f'  "{method}": {{ params: {pr["params"]}; result: {pr["result"]} }};')
        out.append("}")
    out.append("export interface Notifications {")
    for method, t in schema["x-notifications"].items():
        out.append(f'  "{method}": {t};')
    out.append("}")
    return "\n".join(out) + "\n"


def render_typescript(schema_text: str) -> str:
    """Run json2ts over the schema text; raises FileNotFoundError when it is not installed."""
    if not JSON2TS.exists():
        raise FileNotFoundError(
            f"{JSON2TS} is missing: run vscode-client/scripts/setup.sh (npm ci) first"
        )
    proc = subprocess.run(
        [str(JSON2TS), "--unreachableDefinitions", "--no-additionalProperties", "--format=false"],
        input=schema_text,
        capture_output=True,
        text=True,
        check=True,
    )
    header = "/* Generated by `python -m protocol.export` from protocol/. Do not edit. */\n"
    return header + proc.stdout + _method_maps(json.loads(schema_text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the checked-in files are stale"
    )
    parser.add_argument("--schema-only", action="store_true", help="skip the TypeScript")
    args = parser.parse_args(argv)
    schema_text = render_schema()
    outputs = {SCHEMA_PATH: schema_text}
    if not args.schema_only:
        outputs[TS_PATH] = render_typescript(schema_text)
    stale = [
        p for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)} (run python -m protocol.export)", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(outputs[p], encoding="utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
