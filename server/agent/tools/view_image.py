"""view_image: the model looks at an image file of the workspace (a screenshot a test wrote, a
diagram in the docs), as Codex's tool of that name.

Only inside the workspace roots (an image elsewhere is for the user to attach), through the
gate like read_file (secret paths refused, a hook's decision applied), and opened below its
root without following any symlink (`server.agent.images.workspace_image_url`). The image
goes back with the tool's result (`Conversation.attach_images`): on the Responses API inside
the function call's output, on Chat Completions as a user message right after the results.
"""

from __future__ import annotations

from typing import Any

from protocol.item import ToolCallItem
from sandbox.paths import PathDenied, resolve_for_read
from server.agent.errors import ToolFailed
from server.agent.images import ImageRefused, workspace_image_url
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext
from server.agent.tools.items import as_tool_item


async def view_image(args: dict[str, Any], ctx: ToolContext, call_id: str) -> str:
    requested = str(args["path"])

    async def work(item: ToolCallItem) -> str:
        try:
            verdict = resolve_for_read(requested, cwd=ctx.cwd, policy=ctx.gate.file_policy())
        except PathDenied as exc:
            raise ToolFailed(str(exc)) from None
        if verdict.root is None:  # asked before the gate could offer to read it outside
            raise ToolFailed(
                f"{requested} is outside the workspace; view_image shows workspace files only "
                "(the user can attach other images)."
            )
        path = await ctx.gate.clear_read(ctx.stream, item, requested)
        try:
            url = workspace_image_url(verdict.root, path)
        except ImageRefused as exc:
            raise ToolFailed(str(exc)) from None
        ctx.conversation.attach_images(call_id, [url])
        return f"The image {requested} is attached ({url.split(';', 1)[0][5:]})."

    return await as_tool_item(ctx, "view_image", args, f"View {requested}", work)


VIEW_IMAGE = Tool(
    ToolSpec(
        "view_image",
        "Look at an image file in the workspace (PNG, JPEG, GIF or WebP, at most 10 MiB): it "
        "is attached to the result for you to see.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "The image file, in the workspace."}
            },
            "required": ["path"],
        },
    ),
    view_image,
)
