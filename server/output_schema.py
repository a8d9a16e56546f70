"""JSON answers of a schema: reading the JSON out of a message and checking it.

A turn with an output schema (`turn/start {outputSchema}`, `tether exec --output-schema`,
`tether_sdk`'s `run(output_schema=...)`, the review's findings) asks the endpoint for
structured output (`server.agent.structured`); this module is the part both sides share: the
JSON value of a message, the check of it against the subset of JSON Schema that OpenAI's strict
structured outputs use (`type`, `enum`, `required`, `properties`, `items`,
`additionalProperties: false`), whether a schema qualifies for strict mode, and the prompt
used when the endpoint has no structured output.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"^```[a-zA-Z]*\n(.*)\n```$", re.DOTALL)


def json_value(text: str) -> tuple[Any] | None:
    """The JSON value of a message (a ```json fence around it allowed), or None."""
    body = text.strip()
    if fenced := _FENCE.match(body):
        body = fenced.group(1)
    try:
        return (json.loads(body),)
    except ValueError:
        return None


def json_text(text: str) -> str | None:
    """The message's JSON value, written compactly, or None when it is not JSON."""
    value = json_value(text)
    return json.dumps(value[0]) if value is not None else None


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def schema_mismatch(value: Any, schema: dict[str, Any], where: str) -> str | None:
    """Where `value` (at the path `where`) breaks `schema`, or None."""
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else list(kinds)
        is_bool = isinstance(value, bool)
        if not any(
            isinstance(value, _JSON_TYPES.get(k, ())) and (k == "boolean" or not is_bool)
            for k in allowed
        ):
            return f"{where} is not {' or '.join(allowed)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where} is not one of {schema['enum']}"
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                return f"{where}.{key} is missing"
        for key, sub in value.items():
            if key in props:
                if found := schema_mismatch(sub, props[key], f"{where}.{key}"):
                    return found
            elif schema.get("additionalProperties") is False:
                return f"{where}.{key} is not allowed"
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, sub in enumerate(value):
            if found := schema_mismatch(sub, schema["items"], f"{where}[{index}]"):
                return found
    return None


def strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode takes `schema`: every object lists each of its properties
    as required and forbids others (`additionalProperties: false`)."""
    if isinstance(schema, list):
        return all(strict_compatible(s) for s in schema)  # pyright: ignore[reportUnknownVariableType]
    if not isinstance(schema, dict):
        return True
    node: dict[str, Any] = schema  # pyright: ignore[reportUnknownVariableType]
    props = node.get("properties")
    if node.get("type") == "object" or isinstance(props, dict):
        names = set(props or {})
        if node.get("additionalProperties") is not False or set(node.get("required", [])) != names:
            return False
    return all(strict_compatible(v) for k, v in node.items() if k not in ("enum", "const"))


def answer_problem(text: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """(the JSON value of `text`, None) when it matches `schema`, else (None, what is wrong)."""
    value = json_value(text)
    if value is None:
        return None, "the answer is not a JSON value"
    where = schema_mismatch(value[0], schema, "$")
    return (None, f"the answer does not match the schema: {where}") if where else (value[0], None)


def schema_prompt(schema: dict[str, Any]) -> str:
    """The instruction added to the turn's input."""
    return (
        "Your final message must be only a JSON value (no prose, no code fence) that matches "
        f"this JSON Schema:\n{json.dumps(schema)}"
    )


def final_message_problem(text: str | None, schema: dict[str, Any]) -> str | None:
    """Why the turn's final message does not satisfy `--output-schema`, or None."""
    value = json_value(text) if text is not None else None
    if value is None:
        return "the final message is not JSON, as --output-schema asks"
    where = schema_mismatch(value[0], schema, "$")
    return f"the final message does not match --output-schema: {where}" if where else None
