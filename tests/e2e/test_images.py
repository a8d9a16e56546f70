"""Images in a turn's input (`{type: image, path | url}`): what reaches the model on each wire
API, and what is refused before the turn starts (-32602, nothing sent, nothing lost)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tests.e2e.harness import Tether, start_tether, stop_tether
from tests.model_server import ModelServer, Reply, ToolCall

# A 1x1 PNG and a 1x1 GIF: real images, a few bytes each.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


async def start_turn(tether: Tether, thread_id: str, inputs: list[dict[str, str]]) -> str:
    params = {"threadId": thread_id, "input": inputs}
    return (await tether.request("turn/start", params))["turn"]["id"]


async def finished(tether: Tether, turn_id: str) -> dict[str, object]:
    done = await tether.wait_for("turn/completed", lambda p: p["turn"]["id"] == turn_id)
    return done["turn"]


async def test_images_reach_the_model_as_images_and_stay_in_the_history(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path, wire_api: str
) -> None:
    """A file outside the roots (the user chose it), named .jpg but holding PNG bytes (the
    bytes decide the type), and a data URL; the next turn replays both."""
    shot = tmp_path / "elsewhere" / "shot.jpg"
    shot.parent.mkdir()
    shot.write_bytes(PNG)
    model_server.enqueue(Reply(text="A white pixel."), Reply(text="Still one pixel."))
    thread = await tether.start_thread(workspace)
    turn_id = await start_turn(
        tether,
        thread["id"],
        [
            {"type": "text", "text": "What is in these?"},
            {"type": "image", "path": str(shot)},
            {"type": "image", "url": data_url("image/gif", GIF)},
        ],
    )
    turn = await finished(tether, turn_id)
    assert turn["status"] == "completed", turn
    first = model_server.requests[0]
    assert first.api == wire_api
    assert first.user_texts()[-1].startswith("What is in these?")
    assert first.user_images()[-1] == [data_url("image/png", PNG), data_url("image/gif", GIF)]
    content = turn["items"][0]["content"]  # the user's item keeps what the client sent
    assert content[1] == {"type": "image", "path": str(shot)}

    await tether.run_turn(thread["id"], "And now?")
    second = model_server.requests[1]
    assert second.user_images() == [
        [data_url("image/png", PNG), data_url("image/gif", GIF)],
        [],
    ]


async def test_an_image_alone_is_a_message(
    tether: Tether, model_server: ModelServer, workspace: Path, wire_api: str
) -> None:
    model_server.enqueue(Reply(text="A pixel."))
    thread = await tether.start_thread(workspace)
    turn_id = await start_turn(
        tether, thread["id"], [{"type": "image", "url": data_url("image/png", PNG)}]
    )
    assert (await finished(tether, turn_id))["status"] == "completed"
    assert model_server.requests[0].user_images()[-1] == [data_url("image/png", PNG)]


async def test_bad_images_are_refused_before_the_turn_starts(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    user_home = tmp_path / "userhome"
    (user_home / ".ssh").mkdir(parents=True)
    (user_home / ".ssh" / "key.png").write_bytes(PNG)
    (workspace / "leak.png").symlink_to(user_home / ".ssh" / "key.png")
    os.mkfifo(workspace / "pipe.png")
    with (workspace / "huge.png").open("wb") as f:
        f.write(PNG)
        f.truncate(11 * 1024 * 1024)  # sparse: a PNG header, then 11 MiB of nothing
    (workspace / "notes.png").write_text("not an image")
    cases = {
        "leak.png": "leads to a secret file",
        "pipe.png": "is a FIFO",
        "huge.png": "more than the 10.0 MB",
        "notes.png": "is not a PNG, JPEG, GIF or WebP image",
        "missing.png": "does not exist",
    }
    tether = await start_tether({**model_server.env(), "HOME": str(user_home)}, tmp_path / "th")
    try:
        thread = await tether.start_thread(workspace)
        for name, why in cases.items():
            image = {"type": "image", "path": str(workspace / name)}
            with pytest.raises(Exception) as refused:
                await start_turn(tether, thread["id"], [{"type": "text", "text": "see"}, image])
            assert getattr(refused.value, "code", None) == -32602, name
            assert why in str(refused.value), (name, str(refused.value))
        for image, why in (
            ({"type": "image", "path": "shot.png"}, "must be absolute"),
            ({"type": "image"}, "exactly one of `path` and `url`"),
            ({"type": "image", "url": "https://example.com/a.png"}, "base64 data URL"),
            ({"type": "image", "url": "data:image/png;base64,%%%"}, "not valid base64"),
            ({"type": "image", "url": data_url("image/png", b"text")}, "is not a PNG"),
        ):
            with pytest.raises(Exception) as refused:
                await start_turn(tether, thread["id"], [image])
            assert getattr(refused.value, "code", None) == -32602, image
            assert why in str(refused.value), (image, str(refused.value))
        read = await tether.request("thread/read", {"threadId": thread["id"]})
        assert read["turns"] == [] and model_server.requests == []

        # A steer's image is checked too; the turn goes on without it.
        model_server.enqueue(Reply(text="done", hold_after=1))
        turn_id = await start_turn(tether, thread["id"], [{"type": "text", "text": "go"}])
        await model_server.wait_held_async()
        with pytest.raises(Exception) as refused:
            await tether.request(
                "turn/steer",
                {
                    "threadId": thread["id"],
                    "turnId": turn_id,
                    "input": [{"type": "image", "path": str(workspace / "pipe.png")}],
                },
            )
        assert getattr(refused.value, "code", None) == -32602
        model_server.release()
        assert (await finished(tether, turn_id))["status"] == "completed"
        assert model_server.requests[-1].user_images() == [[]]
    finally:
        await stop_tether(tether)


async def test_view_image_shows_a_workspace_image_on_both_apis(
    tether: Tether, model_server: ModelServer, workspace: Path, wire_api: str
) -> None:
    (workspace / "shots").mkdir()
    (workspace / "shots" / "ui.png").write_bytes(PNG)
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("view_image", {"path": "shots/ui.png"}, call_id="v")]),
        Reply(text="The button is white."),
        Reply(text="Still white."),
    )
    thread = await tether.start_thread(workspace)
    turn = await tether.run_turn(thread["id"], "look at the screenshot")
    assert turn["status"] == "completed", turn
    (item,) = tether.items(turn, "toolCall")
    assert item["tool"] == "view_image" and item["status"] == "completed"
    url = data_url("image/png", PNG)
    for request in model_server.requests[1:]:  # the result, and the next turn's history
        assert "is attached (image/png)" in request.tool_outputs()["v"]
        if wire_api == "responses":
            (output,) = [
                i for i in request.body["input"] if i.get("type") == "function_call_output"
            ]
            assert output["output"][1] == {"type": "input_image", "image_url": url}
        else:
            messages = request.body["messages"]
            at = next(i for i, m in enumerate(messages) if m["role"] == "tool")
            assert messages[at + 1]["role"] == "user"  # right after the results
            assert messages[at + 1]["content"][1] == {
                "type": "image_url",
                "image_url": {"url": url},
            }
    await tether.run_turn(thread["id"], "and now?")


async def test_view_image_refuses_links_out_secrets_specials_and_outside_files(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    """The model names these: a link to an image outside the workspace (and one inside a
    directory that is a link out), a link into ~/.ssh, a FIFO, text named .png, and a path
    outside, which is refused without asking to read it."""
    user_home = tmp_path / "userhome"
    (user_home / ".ssh").mkdir(parents=True)
    (user_home / ".ssh" / "key.png").write_bytes(PNG)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.png").write_bytes(PNG)
    (workspace / "out.png").symlink_to(outside / "o.png")
    (workspace / "outdir").symlink_to(outside)
    (workspace / "key.png").symlink_to(user_home / ".ssh" / "key.png")
    os.mkfifo(workspace / "pipe.png")
    (workspace / "notes.png").write_text("text")
    names = ["out.png", "outdir/o.png", "key.png", "pipe.png", "notes.png", str(outside / "o.png")]
    calls = [ToolCall("view_image", {"path": n}, call_id=f"c{i}") for i, n in enumerate(names)]
    model_server.enqueue(Reply(tool_calls=calls), Reply(text="none shown"))
    tether = await start_tether({**model_server.env(), "HOME": str(user_home)}, tmp_path / "th")
    try:
        thread = await tether.start_thread(workspace, mode="fullAccess")
        turn = await tether.run_turn(thread["id"], "look")
    finally:
        await stop_tether(tether)
    assert turn["status"] == "completed"
    assert tether.approvals == []
    outputs = model_server.requests[1].tool_outputs()
    assert all(outputs[f"c{i}"].startswith("Error: ") for i in range(len(names))), outputs
    assert all("leads outside the workspace" in outputs[f"c{i}"] for i in range(3)), outputs
    assert "is a FIFO" in outputs["c3"]
    assert "is not a PNG, JPEG, GIF or WebP image" in outputs["c4"]
    assert "outside the workspace" in outputs["c5"]
    body = str(model_server.requests[1].body)
    assert "input_image" not in body and "image_url" not in body
