"""A realistic 20-step task in agent mode: how many prompts the user sees, and what landed.

Codex, measured on such a script, shows one prompt (for `rm -rf build`) and its sandbox makes the
commit fail. Here: no prompt; the edit, the commit and the clean-up land; the network stays shut.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, Reply, ToolCall

TEST_FILE = """*** Begin Patch
*** Add File: tests/test_calc.py
+import unittest
+
+from src.calc import add, sub
+
+
+class CalcTest(unittest.TestCase):
+    def test_add(self):
+        self.assertEqual(add(2, 3), 5)
+
+    def test_sub(self):
+        self.assertEqual(sub(2, 3), -1)
*** End Patch"""


def shell(command: str, call_id: str) -> ToolCall:
    return ToolCall("shell", {"command": command}, call_id=call_id)


async def test_twenty_step_task_needs_no_prompt(
    tether: Tether, model_server: ModelServer, workspace: Path, listener: tuple[int, list[bytes]]
) -> None:
    port, connections = listener
    net = (
        f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)\""
    )
    steps = [
        ToolCall("read_file", {"path": "README.md"}, call_id="s1"),
        ToolCall("list_dir", {}, call_id="s2"),
        ToolCall("search", {"pattern": "def add"}, call_id="s3"),
        ToolCall("read_file", {"path": "src/calc.py"}, call_id="s4"),
        shell("sed -i 's/a + b/b + a/' src/calc.py", "s5"),
        shell("cat src/calc.py", "s6"),
        ToolCall("apply_patch", {"patch": TEST_FILE}, call_id="s7"),
        shell("python3 -m unittest -q tests/test_calc.py", "s8"),
        shell("git status --short", "s9"),
        shell("git add -A", "s10"),
        shell(
            "git -c user.name=Tether -c user.email=t@example.com commit -qm 'Swap operands'", "s11"
        ),
        shell("git log --oneline", "s12"),
        shell("mkdir -p build && echo artifact > build/out.bin", "s13"),
        shell("ls build", "s14"),
        shell("rm -rf build", "s15"),
        shell(net, "s16"),
        ToolCall(
            "update_plan",
            {"steps": [{"text": "edit, test, commit", "status": "completed"}]},
            call_id="s17",
        ),
        ToolCall(
            "edit_file",
            {
                "path": "README.md",
                "old_string": "A tiny calculator.",
                "new_string": "A tiny, tested calculator.",
            },
            call_id="s18",
        ),
        shell("git diff --stat", "s19"),
    ]
    model_server.enqueue(
        *[Reply(tool_calls=[step]) for step in steps],
        Reply(text="Done: swapped operands, added tests, committed."),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(
        thread["id"], "Swap add's operands, test, commit, clean up.", timeout=120
    )
    assert turn["status"] == "completed"
    outputs = model_server.requests[-1].tool_outputs()

    prompts = len(tether.approvals)
    landed = {
        "edit": "return b + a" in (workspace / "src" / "calc.py").read_text(),
        "tests": "Exit code: 0" in outputs["s8"],
        "commit": "Swap operands"
        in subprocess.run(
            ["git", "-C", str(workspace), "log", "--oneline"], capture_output=True, text=True
        ).stdout,
        "clean-up": not (workspace / "build").exists() and "Exit code: 0" in outputs["s15"],
        "readme": "tested calculator" in (workspace / "README.md").read_text(),
    }
    print(
        f"\n20-step task: {prompts} prompts; landed: {landed}; "
        f"network step exit: {outputs['s16'].splitlines()[0]}"
    )
    assert prompts == 0
    assert all(landed.values()), landed
    assert "Exit code: 0" not in outputs["s16"] and connections == []  # the network stayed shut
    assert "escalate=true" in outputs["s16"]  # ... and the model learned how to ask
