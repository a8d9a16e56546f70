"""The conversation as the model sees it, independent of the wire API that carries it.

Entries are what gets replayed to the model on every call (and persisted with the thread); the
protocol's items are what the user sees. A tool call and its result are separate entries so that
a crash between them leaves a history that can still be repaired and replayed.
"""

from __future__ import annotations

from typing import Any

import msgspec


class UserEntry(msgspec.Struct, tag="user"):
    text: str
    images: list[str] = []
    """Data URLs of the images the user attached (`server.agent.images`)."""


class AssistantEntry(msgspec.Struct, tag="assistant"):
    text: str


class ToolCallEntry(msgspec.Struct, tag="toolCall"):
    call_id: str
    name: str
    arguments: str


class ToolResultEntry(msgspec.Struct, tag="toolResult"):
    call_id: str
    output: str
    images: list[str] = []
    """Data URLs the tool showed the model (`view_image`)."""


class SummaryEntry(msgspec.Struct, tag="summary"):
    """What compaction left of earlier turns: `text` is what the model reads; `user_messages`
    are the user's messages it covers, verbatim, carried into the next compaction."""

    text: str
    user_messages: list[str] = []


Entry = UserEntry | AssistantEntry | ToolCallEntry | ToolResultEntry | SummaryEntry


def repair(entries: list[Entry]) -> list[Entry]:
    """Every tool call needs a result before the next model call; a call cut off by a crash or
    an interrupt gets one that says so (both APIs reject a dangling call)."""
    answered = {e.call_id for e in entries if isinstance(e, ToolResultEntry)}
    out: list[Entry] = []
    for entry in entries:
        out.append(entry)
        if isinstance(entry, ToolCallEntry) and entry.call_id not in answered:
            out.append(
                ToolResultEntry(
                    entry.call_id,
                    "The tool call was interrupted before it finished; its effects are unknown.",
                )
            )
    return out


def to_responses_input(entries: list[Entry]) -> list[dict[str, Any]]:
    """Entries as the Responses API's `input` list."""
    items: list[dict[str, Any]] = []
    for e in entries:
        if isinstance(e, (UserEntry, SummaryEntry)):
            images = e.images if isinstance(e, UserEntry) else []
            content: list[dict[str, Any]] = [
                {"type": "input_image", "image_url": url} for url in images
            ]
            if e.text or not images:
                content.insert(0, {"type": "input_text", "text": e.text})
            items.append({"role": "user", "content": content})
        elif isinstance(e, AssistantEntry):
            items.append(
                {"role": "assistant", "content": [{"type": "output_text", "text": e.text}]}
            )
        elif isinstance(e, ToolCallEntry):
            items.append(
                {
                    "type": "function_call",
                    "call_id": e.call_id,
                    "name": e.name,
                    "arguments": e.arguments,
                }
            )
        elif e.images:  # the Responses API takes images in a function call's output
            parts = [{"type": "input_text", "text": e.output}]
            parts += [{"type": "input_image", "image_url": url} for url in e.images]
            items.append({"type": "function_call_output", "call_id": e.call_id, "output": parts})
        else:
            items.append({"type": "function_call_output", "call_id": e.call_id, "output": e.output})
    return items


def to_chat_messages(instructions: str, entries: list[Entry]) -> list[dict[str, Any]]:
    """Entries as Chat Completions `messages`; an assistant's text and the tool calls that follow
    it share one message, as the API expects."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": instructions}]
    shown: list[str] = []
    """Images of the tool results just added: a tool message takes only text, so they follow
    as one user message once the run of results ends."""
    for e in entries:
        if shown and not isinstance(e, ToolResultEntry):
            messages.append(_tool_images(shown))
            shown = []
        last = messages[-1]
        if isinstance(e, UserEntry) and e.images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": e.text}] if e.text else []
            parts += [{"type": "image_url", "image_url": {"url": url}} for url in e.images]
            messages.append({"role": "user", "content": parts})
        elif isinstance(e, UserEntry | SummaryEntry):
            messages.append({"role": "user", "content": e.text})
        elif isinstance(e, AssistantEntry):
            messages.append({"role": "assistant", "content": e.text})
        elif isinstance(e, ToolCallEntry):
            call = {
                "id": e.call_id,
                "type": "function",
                "function": {"name": e.name, "arguments": e.arguments},
            }
            if last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        else:
            messages.append({"role": "tool", "tool_call_id": e.call_id, "content": e.output})
            shown += e.images
    if shown:
        messages.append(_tool_images(shown))
    return messages


def _tool_images(urls: list[str]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "The images view_image showed:"}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return {"role": "user", "content": parts}


IMAGE_TOKENS = 1000
"""What an image counts for in the estimate (OpenAI bills a large image at a few hundred to
about 1,500 tokens, whatever its bytes)."""


def estimate_tokens(entries: list[Entry], instructions: str = "") -> int:
    """A cheap token estimate (about 4 bytes a token) for the time between API usage reports."""
    size = len(instructions.encode())
    images = 0
    for e in entries:
        for value in msgspec.structs.astuple(e):
            size += len(value.encode()) if isinstance(value, str) else 0
        images += len(e.images) if isinstance(e, UserEntry | ToolResultEntry) else 0
    return size // 4 + 4 * len(entries) + IMAGE_TOKENS * images
