"""What a command, a file or the model leaves in the workspace never kills or stalls the server
(issue 14 points 2-5) and never carries a secret to the client (issue 12 point 5).

Each test drives the real `python -m server --stdio` with a scripted model that makes the
agent meet the hazard through its tools, checks that `thread/list` is answered while the turn
is open (see tests/robustness/hazards.py for how "during" is made precise), and that a normal
turn completes afterwards. The server's peak RSS is printed per test (`-s`); the whole battery
in one process is measured by `python -m bench hazards_rss`.

Sizes chosen to stay quick on a 2-core box: 100,000 files left by one command, a workspace of
200,000 files, sparse files of 2 GB and 10 GB (holes cost no disk).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import SandboxCell
from tests.model_server import ModelServer, Reply, ToolCall
from tests.robustness.hazards import (
    KEY,
    Poller,
    command_items,
    hazard_server,
    last_diff,
    normal_turn,
    run_hazard,
    start_turn,
    wait_turn,
)

pytestmark = pytest.mark.sandbox_matrix

GB = 1 << 30


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


async def test_a_venv_with_its_lib64_symlink_does_not_fail_the_turn(
    model_server: ModelServer, workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        thread = await server.tether.start_thread(workspace, mode="agent")
        command = "python3 -m venv --without-pip .venv && test -L .venv/lib64 && echo made"
        turn, outputs = await run_hazard(
            server, thread["id"], [ToolCall("shell", {"command": command}, call_id="v")]
        )
        assert turn["status"] == "completed", turn.get("error")
        assert "Exit code: 0" in outputs["v"], outputs["v"]
        assert not [i for i in turn["items"] if i["type"] == "error"]
        diff = last_diff(server, turn["id"])
        # lib64 -> lib and bin/python -> the interpreter appear as symlinks, by target.
        lib64 = diff[diff.index("b/" + str(workspace / ".venv" / "lib64").lstrip("/")) - 200 :]
        assert "new file mode 120000" in lib64[:400] and "\n+lib\n" in lib64[:600]
        assert "\x7fELF" not in diff
        await normal_turn(server, thread["id"])


async def test_read_file_refuses_special_files_and_reads_one_window_of_a_huge_one(
    model_server: ModelServer, workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    os.mkfifo(workspace / "pipe")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(workspace / "sock"))
    sparse(workspace / "zeros.bin", 2 * GB)
    lines = "".join(f"line {n}\n" for n in range(1, 10_001)).encode()
    sparse(workspace / "big.log", 2 * GB, head=lines)
    calls = [
        ToolCall("read_file", {"path": "pipe"}, call_id="fifo"),
        ToolCall("read_file", {"path": "sock"}, call_id="sock"),
        ToolCall("read_file", {"path": "zeros.bin"}, call_id="zeros"),
        ToolCall("read_file", {"path": "big.log"}, call_id="big"),
        ToolCall(
            "read_file", {"path": "big.log", "start_line": 9990, "end_line": 9995}, call_id="win"
        ),
        ToolCall("search", {"pattern": "x", "path": "pipe"}, call_id="search"),
        ToolCall(
            "edit_file", {"path": "pipe", "old_string": "a", "new_string": "b"}, call_id="edit"
        ),
    ]
    try:
        async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
            thread = await server.tether.start_thread(workspace, mode="agent")
            turn, out = await run_hazard(server, thread["id"], calls)
            assert turn["status"] == "completed", turn.get("error")
            assert "pipe is a FIFO (named pipe); not read" in out["fifo"]
            assert "sock is a socket" in out["sock"] and "not read" in out["sock"]
            assert "zeros.bin is a binary file (2147483648 bytes); not shown." in out["zeros"]
            assert out["big"].startswith("     1\tline 1\n")
            assert "  2000\tline 2000" in out["big"] and "line 2001" not in out["big"]
            assert (
                "big.log is 2.0 GB; more lines follow. Read them with start_line=2001" in out["big"]
            )
            assert out["win"].splitlines()[:6] == [f"{n:>6}\tline {n}" for n in range(9990, 9996)]
            assert "pipe is a FIFO (named pipe); not searched." in out["search"]
            assert "FIFO" in out["edit"] and "Nothing was changed" in out["edit"]
            # Reading a window of a 2 GB file costs a window: far below the file's size.
            assert server.peak_rss_kib() < 300 * 1024
            await normal_turn(server, thread["id"])
    finally:
        listener.close()


LEFTOVERS = (
    "mkfifo p && ln -s p lp && ln -s /dev/zero z && truncate -s 10G huge.bin"
    " && touch \"$(printf 'bad\\377name')\" && mkdir -p d/e && ln -s ../.. d/e/up"
    " && echo left"
)


async def test_what_a_command_leaves_is_skipped_and_reported_not_followed(
    model_server: ModelServer, workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        thread = await server.tether.start_thread(workspace, mode="agent")
        turn, out = await run_hazard(
            server, thread["id"], [ToolCall("shell", {"command": LEFTOVERS}, call_id="c")]
        )
        assert turn["status"] == "completed", turn.get("error")
        assert "left" in out["c"], out["c"]
        (item,) = command_items(turn)
        assert item["status"] == "completed"
        note = item["trackingNote"]
        assert "1 FIFOs, sockets or devices skipped (never opened)" in note, note
        assert "1 names that are not UTF-8 skipped" in note
        assert "1 large files tracked by size and time only" in note
        diff = last_diff(server, turn["id"])
        assert "+p\n" in diff and "+/dev/zero\n" in diff  # symlinks by target, never read
        assert "+../..\n" in diff  # the loop is a link, not a walk
        assert f"Binary or large file (10.0 GB) ({workspace / 'huge.bin'} changed)" in diff
        await normal_turn(server, thread["id"])


async def test_a_symlink_to_a_secret_never_carries_it_to_the_client(
    model_server: ModelServer, workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        ssh = server.home / ".ssh"
        calls = [
            ToolCall(
                "shell",
                {"command": f"ln -s {ssh}/id_rsa leak.txt && mkdir sub && echo decoy > sub/id_rsa"},
                call_id="a",
            ),
            # The turn created sub/id_rsa; now sub points into ~/.ssh, where id_rsa is the key.
            ToolCall("shell", {"command": f"rm -r sub && ln -s {ssh} sub"}, call_id="b"),
            ToolCall("read_file", {"path": "leak.txt"}, call_id="r1"),
            ToolCall("read_file", {"path": "sub/id_rsa"}, call_id="r2"),
            ToolCall("search", {"pattern": "h3.secret", "path": "."}, call_id="s"),
        ]
        thread = await server.tether.start_thread(workspace, mode="agent")
        turn, out = await run_hazard(server, thread["id"], calls)
        assert turn["status"] == "completed", turn.get("error")
        assert "Exit code: 0" in out["a"] and "Exit code: 0" in out["b"]
        diff = last_diff(server, turn["id"])
        assert f"+{ssh}/id_rsa\n" in diff and f"+{ssh}\n" in diff  # shown as symlinks
        assert "h3-secret" not in server.wire_text()
        blobs = server.state / "checkpoints" / "blobs"
        assert not [b for b in blobs.rglob("*") if b.is_file() and b"h3-secret" in b.read_bytes()]
        await normal_turn(server, thread["id"])


async def test_control_the_symlink_does_lead_to_the_key(
    model_server: ModelServer, workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    """In fullAccess the same link is followed by a command: the route is real, and only the
    turn diff (which shows links as links in every mode) keeps the key out of it."""
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        ssh = server.home / ".ssh"
        thread = await server.tether.start_thread(workspace, mode="fullAccess")
        command = f"ln -s {ssh}/id_rsa leak.txt && cat leak.txt"
        turn, out = await run_hazard(
            server, thread["id"], [ToolCall("shell", {"command": command}, call_id="c")]
        )
        assert KEY in out["c"]
        assert "h3-secret" not in last_diff(server, turn["id"])


async def test_a_command_leaving_100k_files_does_not_stall_the_server(
    model_server: ModelServer, workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    make = (
        "python3 -c \"import os; os.mkdir('many'); "
        "[os.close(os.open(f'many/f{i}', os.O_CREAT | os.O_WRONLY)) for i in range(100000)]\""
        " && echo created"
    )
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        thread = await server.tether.start_thread(workspace, mode="agent")
        model_server.enqueue(
            Reply(tool_calls=[ToolCall("shell", {"command": make}, call_id="m")]),
            Reply(text="Done."),
        )
        async with Poller(server.tether) as poller:
            turn = await wait_turn(
                server.tether, await start_turn(server.tether, thread["id"], "Go.")
            )
        assert turn["status"] == "completed", turn.get("error")
        (item,) = command_items(turn)
        assert item["status"] == "completed" and "created" in item["output"]
        # After its last output the command's snapshot walks 100,000 new files; the loop
        # answered thread/list meanwhile (a blocked loop answers at most one request there).
        (printed,) = server.when("item/commandExecution/outputDelta")
        (completed,) = server.when("item/completed", lambda p: p["item"]["id"] == item["id"])
        assert poller.between(printed, completed) >= 3, (completed - printed, poller.answers)
        diff = last_diff(server, turn["id"])
        assert "more changed files not shown" in diff and len(diff) < 2_000_000
        await normal_turn(server, thread["id"])


async def test_a_workspace_of_200k_files_answers_while_its_first_snapshot_runs(
    model_server: ModelServer, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    big = tmp_path / "big"
    for d in range(200):
        (big / f"d{d}").mkdir(parents=True)
        for f in range(1000):
            os.close(os.open(big / f"d{d}" / f"f{f}.txt", os.O_CREAT | os.O_WRONLY))
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        model_server.enqueue(
            Reply(
                text="Let me look.", tool_calls=[ToolCall("shell", {"command": "ls d7 | wc -l"})]
            ),
            Reply(text="Done."),
        )
        # The first snapshot starts with the thread, in the background, and ends when its
        # manifest is written.
        manifests = server.state / "checkpoints" / "manifests"
        async with Poller(server.tether, watch=manifests) as poller:
            thread = await server.tether.start_thread(big, mode="agent")
            opened = time.monotonic()
            turn_id = await start_turn(server.tether, thread["id"], "Go.")
            turn = await wait_turn(server.tether, turn_id)
            await poller.wait_appeared(240)
        assert turn["status"] == "completed", turn.get("error")
        (item,) = command_items(turn)
        assert item["status"] == "completed" and item["output"] == "1000\n"
        first_delta = server.when("item/agentMessage/delta")[0]
        snapshotted = poller.appeared
        assert snapshotted is not None
        assert first_delta < snapshotted  # the first delta did not wait for the first snapshot
        # The loop answered while 200,000 files were being read.
        assert poller.between(opened, snapshotted) >= 3, (snapshotted - opened, poller.answers)
        await normal_turn(server, thread["id"])


async def test_a_workspace_that_is_home_keeps_its_secrets(
    model_server: ModelServer, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    from tests.robustness.hazards import make_home

    home = make_home(tmp_path)
    (home / ".bashrc").write_text("export PS1='$ '\n")
    (home / "proj").mkdir()
    (home / "proj" / "a.py").write_text("print('h3-public')\n")
    state = home / ".tether"  # the default TETHER_HOME: inside the workspace
    async with hazard_server(
        model_server, tmp_path, sandbox_cell, home=home, state=state
    ) as server:
        thread = await server.tether.start_thread(home, mode="agent")
        calls = [
            ToolCall(
                "shell", {"command": "echo note > proj/note.txt && cat proj/a.py"}, call_id="c"
            ),
            ToolCall("search", {"pattern": "h3-"}, call_id="s"),
            ToolCall("read_file", {"path": ".ssh/id_rsa"}, call_id="r"),
        ]
        turn, out = await run_hazard(server, thread["id"], calls)
        assert turn["status"] == "completed", turn.get("error")
        assert "h3-public" in out["c"] and "proj/a.py:1:print('h3-public')" in out["s"]
        assert "secret file" in out["r"]
        assert "h3-secret" not in server.wire_text()
        blobs = state / "checkpoints" / "blobs"
        assert not [b for b in blobs.rglob("*") if b.is_file() and b"h3-secret" in b.read_bytes()]
        await normal_turn(server, thread["id"])
        # Control: in fullAccess the same search does reach the key, so the filter mattered.
        await server.tether.request(
            "thread/setMode", {"threadId": thread["id"], "mode": "fullAccess"}
        )
        _turn, out = await run_hazard(
            server, thread["id"], [ToolCall("search", {"pattern": "h3-secret"}, call_id="s2")]
        )
        assert ".ssh/id_rsa:1:" in out["s2"]


@pytest.fixture
def read_only_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ro"
    root.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only filesystem needs root")
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(root)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    (root / "notes.txt").write_text("read me\n")
    subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
    yield root  # type: ignore[misc]
    subprocess.run(["umount", "-l", str(root)], check=False)


async def test_a_read_only_workspace_reads_and_reports_failed_writes(
    model_server: ModelServer, read_only_workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        thread = await server.tether.start_thread(read_only_workspace, mode="agent")
        calls = [
            ToolCall("read_file", {"path": "notes.txt"}, call_id="r"),
            ToolCall("shell", {"command": "touch new.txt"}, call_id="c"),
            ToolCall(
                "edit_file",
                {"path": "notes.txt", "old_string": "read", "new_string": "edit"},
                call_id="e",
            ),
        ]
        turn, out = await run_hazard(server, thread["id"], calls)
        assert turn["status"] == "completed", turn.get("error")
        assert "     1\tread me" in out["r"]
        assert "Exit code: 0" not in out["c"] and "Read-only file system" in out["c"]
        assert "could not be written" in out["e"] and "Read-only file system" in out["e"]
        await normal_turn(server, thread["id"])


async def test_a_workspace_folder_that_disappears_gives_clear_messages(
    model_server: ModelServer, workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        thread = await server.tether.start_thread(workspace, mode="agent")
        await normal_turn(server, thread["id"])
        subprocess.run(["rm", "-rf", str(workspace)], check=True)
        calls = [
            ToolCall("read_file", {"path": "README.md"}, call_id="r"),
            ToolCall("shell", {"command": "echo hi"}, call_id="c"),
            ToolCall("list_dir", {}, call_id="l"),
        ]
        turn, out = await run_hazard(server, thread["id"], calls)
        assert turn["status"] == "completed", turn.get("error")
        assert "README.md does not exist" in out["r"]
        assert "does not exist" in out["c"] or "cannot be opened" in out["c"], out["c"]
        await normal_turn(server, thread["id"])


async def test_attachments_of_special_huge_or_secret_files_become_notes(
    model_server: ModelServer, workspace: Path, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    os.mkfifo(workspace / "pipe")
    sparse(workspace / "zeros.bin", 2 * GB)
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        (workspace / "leak.txt").symlink_to(server.home / ".ssh" / "id_rsa")
        thread = await server.tether.start_thread(workspace, mode="agent")
        model_server.enqueue(Reply(text="Seen."))
        attached = [
            {"type": "file", "path": str(workspace / n)} for n in ("pipe", "zeros.bin", "leak.txt")
        ]
        params = {"threadId": thread["id"], "input": [{"type": "text", "text": "Look."}, *attached]}
        turn_id = (await server.tether.request("turn/start", params))["turn"]["id"]
        turn = await wait_turn(server.tether, turn_id, 60)
        assert turn["status"] == "completed", turn.get("error")
        sent = model_server.requests[-1].user_texts()[-1]
        assert "pipe is a FIFO (named pipe); not read." in sent
        assert "zeros.bin is a binary file (2.0 GB); not read." in sent
        assert "leak.txt leads to a secret file (credentials); not read." in sent
        assert "h3-secret" not in server.wire_text()
        await normal_turn(server, thread["id"])
