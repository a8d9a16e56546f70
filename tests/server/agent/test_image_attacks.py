"""Image paths an attacker would name: devices that never end, /proc files that hold the
environment, links to them, a sparse file far over the cap; each refused with a reason and
before a byte is sent, while a real PNG beside them is read."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from protocol.item import ImageInput
from server.agent.images import IMAGE_CAP, ImageRefused, image_url, workspace_image_url

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/proc/self/environ"])
def test_a_device_or_proc_file_named_by_the_user_is_refused(path: str) -> None:
    with pytest.raises(ImageRefused, match=r"device|/proc"):
        image_url(ImageInput(path=path))


def test_links_to_them_and_a_huge_sparse_file_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "zero.png").symlink_to("/dev/zero")
    (root / "env.png").symlink_to("/proc/self/environ")
    with open(root / "sparse.png", "wb") as f:
        f.write(PNG)
        f.truncate(IMAGE_CAP * 100)  # no blocks on disk, 1 GB by its size
    (root / "ok.png").write_bytes(PNG)
    with pytest.raises(ImageRefused, match="character device"):
        image_url(ImageInput(path=str(root / "zero.png")))  # the user's link is followed
    with pytest.raises(ImageRefused, match="/proc"):
        image_url(ImageInput(path=str(root / "env.png")))
    for name in ("zero.png", "env.png"):  # the model's never is
        with pytest.raises(ImageRefused, match="symlink"):
            workspace_image_url(root, root / name)
    with pytest.raises(ImageRefused, match=r"larger|too large|MB"):
        workspace_image_url(root, root / "sparse.png")
    with pytest.raises(ImageRefused, match=r"larger|too large|MB"):
        image_url(ImageInput(path=str(root / "sparse.png")))
    # The control: the real image beside them.
    expected = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    assert workspace_image_url(root, root / "ok.png") == expected
    assert image_url(ImageInput(path=str(root / "ok.png"))) == expected
    assert os.path.getsize(root / "sparse.png") == IMAGE_CAP * 100
