"""Compaction: when the conversation nears the model's context window, the older part is
replaced by a summary the model writes, and the task carries on.

What survives a compaction: the summary, the user's own messages verbatim (the goal is never
lost to a bad summary; the oldest are kept first, then the newest, within a budget), and the
most recent entries, cut at a boundary that never separates a tool call from its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.agent.history import (
    Entry,
    SummaryEntry,
    ToolCallEntry,
    ToolResultEntry,
    UserEntry,
    estimate_tokens,
)
from server.agent.model import ModelClient, TextDelta

DEFAULT_CONTEXT_WINDOW = 128_000
KEEP_RECENT_SHARE = 0.3
"""Share of the window the most recent entries may keep after a compaction."""
USER_MESSAGES_SHARE = 0.15
TOOL_OUTPUT_IN_SUMMARY_INPUT = 2_000

SUMMARY_INSTRUCTIONS = """You are compacting a coding session so that it can continue in a \
fresh context. Write a concise summary for the agent that will continue the work: the user's \
goals and constraints, decisions made, files read and changed (with paths), commands run and \
their outcomes, problems found, the current state and the next steps. Use short bullet points. \
Do not call tools."""


@dataclass(frozen=True)
class CompactionPlan:
    keep_from: int
    """Entries from this index on stay as they are."""


def context_window(configured: int | None) -> int:
    return configured or DEFAULT_CONTEXT_WINDOW


def needs_compaction(tokens: int, window: int, threshold: float) -> bool:
    return tokens >= threshold * window


def plan(entries: list[Entry], window: int, *, manual: bool = False) -> CompactionPlan | None:
    """Where to cut: keep recent entries within KEEP_RECENT_SHARE of the window, starting at a
    user message when one fits, and never with a tool result whose call would be cut off.
    A compaction the user asked for summarizes everything."""
    if manual:
        return CompactionPlan(len(entries)) if entries else None
    budget = int(window * KEEP_RECENT_SHARE)
    keep_from = len(entries)
    used = 0
    for i in range(len(entries) - 1, -1, -1):
        used += estimate_tokens([entries[i]])
        if used > budget:
            break
        keep_from = i
    while keep_from < len(entries) and isinstance(entries[keep_from], ToolResultEntry):
        keep_from += 1
    user_start = next(
        (i for i in range(keep_from, len(entries)) if isinstance(entries[i], UserEntry)), None
    )
    if user_start is not None and user_start - keep_from < 8:
        keep_from = user_start
    if keep_from == 0:
        return None
    return CompactionPlan(keep_from)


def carried_messages(entries: list[Entry]) -> list[str]:
    """The user's messages in `entries`, including those an earlier summary carries."""
    texts: list[str] = []
    for e in entries:
        if isinstance(e, SummaryEntry):
            texts += e.user_messages
        elif isinstance(e, UserEntry):
            texts.append(e.text)
    return texts


def user_messages(texts: list[str], window: int) -> str:
    """The user's messages, verbatim, within budget: the first ones, then the most recent."""
    budget = int(window * USER_MESSAGES_SHARE) * 4
    head: list[str] = []
    tail: list[str] = []
    for text in texts:
        if len(text) > budget // 2:
            text = text[: budget // 2] + " [...]"
        if sum(map(len, head)) + len(text) <= budget // 2:
            head.append(text)
        else:
            break
    for text in reversed(texts[len(head) :]):
        if sum(map(len, tail)) + len(text) > budget // 2:
            break
        tail.insert(0, text)
    skipped = len(texts) - len(head) - len(tail)
    parts = [*head, *([f"[... {skipped} messages omitted ...]"] if skipped else []), *tail]
    return "\n---\n".join(parts)


def summary_entry(summary: str, earlier: list[Entry], window: int) -> SummaryEntry:
    carried = carried_messages(earlier)
    messages = user_messages(carried, window)
    text = (
        "This conversation was compacted to fit the context window. Summary of the earlier "
        f"part:\n{summary.strip()}"
    )
    if messages:
        text += f"\n\nThe user's messages in that part, verbatim (oldest first):\n{messages}"
    return SummaryEntry(text, carried)


def summarization_input(entries: list[Entry]) -> list[Entry]:
    """The entries to summarize, with long tool outputs shortened so the request fits."""
    shortened: list[Entry] = []
    for e in entries:
        if isinstance(e, ToolResultEntry) and len(e.output) > TOOL_OUTPUT_IN_SUMMARY_INPUT:
            e = ToolResultEntry(e.call_id, e.output[:TOOL_OUTPUT_IN_SUMMARY_INPUT] + "\n[...]")
        shortened.append(e)
    # Both APIs need every call answered and reject a trailing unanswered call.
    while shortened and isinstance(shortened[-1], ToolCallEntry):
        shortened.pop()
    shortened.append(UserEntry("Summarize the conversation above as instructed."))
    return shortened


async def summarize(client: ModelClient, model: str, entries: list[Entry]) -> str:
    parts: list[str] = []
    async for event in client.stream(
        model=model,
        instructions=SUMMARY_INSTRUCTIONS,
        entries=summarization_input(entries),
        tools=[],
    ):
        if isinstance(event, TextDelta):
            parts.append(event.text)
    return "".join(parts)
