"""Sub-agents (a Tether addition): the definitions a thread's agent can spawn (`agent/list`).

A running child shows as a `subagent` item of the parent's turn (`protocol.item.SubagentItem`)
and is a thread of its own (`Thread.parentThreadId`); its approvals are the usual `approval/*`
requests with `parentThreadId` and `agentType` set.
"""

from typing import Literal

from protocol.base import Mode, Wire


class AgentListParams(Wire):
    cwd: str
    """The workspace whose `.tether/agents` and `.claude/agents` count."""


class AgentInfo(Wire):
    name: str
    description: str
    source: str
    """`builtin`, or the definition's file."""
    mode: Mode | None = None
    """The mode it asks for; it never runs looser than its parent."""
    tools: list[str] | None = None
    """The tools it may use; None: every tool of the parent but the sub-agent tools."""
    model: str | None = None
    """None: the parent's model."""
    max_turns: int | None = None
    isolation: Literal["worktree"] | None = None


class AgentListResult(Wire):
    agents: list[AgentInfo]
    problems: list[str]
    """Definition files that could not be read, and why."""
