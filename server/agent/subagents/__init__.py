"""Sub-agents: the model delegates to child agents that run in parallel, each a thread of its
own, under the parent's rules, visible and stoppable.

- `definitions`: the built-in `general` and `explorer`, and `.tether/agents/*.md`,
  `TETHER_HOME/agents/*.md`, `.claude/agents/*.md` (YAML front matter and instructions);
- `tools`: spawn_agent, wait_agents, send_agent, close_agent for the parent's model;
- `team`: one parent turn's children (limits, the write lock, live items, the end with the turn);
- `child`: a child's turn (instructions, maxTurns, SubagentStop) and its approvals' ids;
- `worktree`: the git worktree of an `isolation: worktree` child, and its diff.
"""
