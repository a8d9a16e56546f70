"""The tool set offered to the model, in the order the model sees it."""

from __future__ import annotations

from server.agent.subagents.tools import SUBAGENT_TOOL_SET
from server.agent.tools.base import Tool
from server.agent.tools.edits import APPLY_PATCH, EDIT_FILE
from server.agent.tools.files import LIST_DIR, READ_FILE
from server.agent.tools.plan import UPDATE_PLAN
from server.agent.tools.search import SEARCH
from server.agent.tools.shell import SHELL
from server.agent.tools.view_image import VIEW_IMAGE


def default_tools() -> dict[str, Tool]:
    tools = [READ_FILE, LIST_DIR, SEARCH, SHELL, APPLY_PATCH, EDIT_FILE, UPDATE_PLAN, VIEW_IMAGE]
    tools += SUBAGENT_TOOL_SET
    return {t.spec.name: t for t in tools}
