"""`--output-schema`: the final message of a `tether exec --json` turn as JSON of a schema.

The server has no structured-output request yet, so the schema goes to the model in the prompt
(`schema_prompt`) and the final message is checked here (`final_message_problem`). The check
covers the subset of JSON Schema that OpenAI's strict structured outputs use: `type`, `enum`,
`required`, `properties`, `items`, `additionalProperties: false`.
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
