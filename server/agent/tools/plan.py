"""update_plan: the agent's checklist, shown to the user as a plan item that updates in place."""

from __future__ import annotations

from typing import Any

from protocol.item import PlanItem, PlanStep
from server.agent.errors import ToolFailed
from server.agent.ids import new_id
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext

STATUSES = ("pending", "inProgress", "completed")


async def update_plan(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    raw_steps = args["steps"]
    steps: list[PlanStep] = []
    for i, step in enumerate(raw_steps):
        if not isinstance(step, dict) or not isinstance(step.get("text"), str):
            raise ToolFailed(f"steps[{i}] must be an object with `text` and `status`.")
        status = step.get("status", "pending")
        if status not in STATUSES:
            raise ToolFailed(f"steps[{i}].status must be one of {', '.join(STATUSES)}.")
        steps.append(PlanStep(text=step["text"], status=status))
    if sum(s.status == "inProgress" for s in steps) > 1:
        raise ToolFailed("At most one step can be inProgress at a time.")
    existing = next((i for i in reversed(ctx.stream.turn.items) if isinstance(i, PlanItem)), None)
    if existing is None:
        item = PlanItem(id=new_id("item"), steps=steps, explanation=args.get("explanation"))
        ctx.stream.started(item)
        ctx.stream.completed(item)
    else:
        existing.steps, existing.explanation = steps, args.get("explanation")
        ctx.stream.updated(existing)
    done = sum(s.status == "completed" for s in steps)
    return f"Plan updated ({done}/{len(steps)} steps completed)."


UPDATE_PLAN = Tool(
    ToolSpec(
        "update_plan",
        "Create or replace your step-by-step plan for the task; keep exactly one step inProgress "
        "while working and mark steps completed as you finish them.",
        {
            "type": "object",
            "properties": {
                "explanation": {"type": "string"},
                "steps": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "text": {"type": "string"},
                            "status": {"type": "string", "enum": list(STATUSES)},
                        },
                        "required": ["text", "status"],
                    },
                },
            },
            "required": ["steps"],
        },
    ),
    update_plan,
)
