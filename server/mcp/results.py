"""What an MCP tool returned, as the model's observation and as the user's item.

Text blocks are the observation, joined; structured content is added as JSON when no text
block already carries it (nor its `result`, as SDK servers wrap a plain value); images and
audio become a one-line note each (their bytes go to the item without the data); links and
embedded resources their URI and text. The whole is capped at `MODEL_TOKEN_CAP` tokens
(estimated at 4 characters a token), cut in the middle with a note saying how much was left
out, so one chatty tool cannot fill the context window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from protocol.item import McpToolCallResult

MODEL_TOKEN_CAP = 25_000
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Observation:
    text: str
    """What the model is given (capped)."""
    result: McpToolCallResult
    """What the user's item shows."""
    images: tuple[tuple[str, str], ...] = ()
    """(mime type, base64 data) of each image the tool returned."""


def cap_tokens(text: str, tokens: int = MODEL_TOKEN_CAP) -> tuple[str, bool]:
    limit = tokens * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text, False
    head, tail = text[: limit * 3 // 4], text[-(limit // 4) :]
    omitted = len(text) - len(head) - len(tail)
    note = (
        f"\n[... {omitted} characters (about {omitted // CHARS_PER_TOKEN} tokens) of this tool's "
        f"output were left out: MCP results are capped at {tokens} tokens ...]\n"
    )
    return head + note + tail, True


def observe(result: types.CallToolResult) -> Observation:
    parts: list[str] = []
    shown: list[Any] = []
    images: list[tuple[str, str]] = []
    for block in result.content:
        dumped = block.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent):
            images.append((block.mime_type, block.data))
            parts.append(f"[image {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
            dumped.pop("data", None)
        elif isinstance(block, types.AudioContent):
            parts.append(f"[audio {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
            dumped.pop("data", None)
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource link {block.uri}: {block.name}]")
        elif isinstance(block, types.EmbeddedResource):
            res = block.resource
            body = res.text if isinstance(res, types.TextResourceContents) else "(binary)"
            parts.append(f"[resource {res.uri}]\n{body}")
            if isinstance(res, types.BlobResourceContents):
                dumped.get("resource", {}).pop("blob", None)
        shown.append(dumped)
    structured = result.structured_content
    if structured is not None:
        as_json = json.dumps(structured, ensure_ascii=False)
        # SDK servers wrap a plain return value as {"result": value}, next to it as text.
        wrapped = structured.get("result") if isinstance(structured, dict) else None
        if not any(p in (as_json, wrapped) or _same_json(p, structured) for p in parts):
            parts.append(as_json)
    text = "\n".join(parts) if parts else "(the tool returned no content)"
    if result.is_error:
        text = f"The tool reported an error: {text}"
    capped, truncated = cap_tokens(text)
    item = McpToolCallResult(
        content=shown,
        output=capped,
        structured_content=structured,
        is_error=bool(result.is_error),
        truncated=truncated,
    )
    return Observation(capped, item, tuple(images))


def _same_json(text: str, value: Any) -> bool:
    try:
        return json.loads(text) == value
    except (ValueError, TypeError):
        return False
