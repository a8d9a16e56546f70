"""`server.agent.images`: what the checks refuse without a server (the e2e tests in
tests/e2e/test_images.py drive the same through turns)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from protocol.item import ImageInput
from server.agent.images import ImageRefused, image_type, image_url, workspace_image_url

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_types_come_from_the_bytes() -> None:
    assert image_type(PNG) == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_type(b"GIF89a...") == "image/gif"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_type(b"<svg/>") is None


def test_a_link_swapped_in_below_the_root_is_not_followed(tmp_path: Path) -> None:
    """The gate saw a real directory; by the time the image is opened a command made it a link
    out: opening below the root refuses it instead of following it."""
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "o.png").write_bytes(PNG)
    (root / "shots").symlink_to(outside)
    with pytest.raises(ImageRefused, match="a symlink"):
        workspace_image_url(root, root / "shots" / "o.png")
    (root / "direct.png").symlink_to(outside / "o.png")
    with pytest.raises(ImageRefused, match="a symlink"):
        workspace_image_url(root, root / "direct.png")
    (root / "real.png").write_bytes(PNG)
    assert workspace_image_url(root, root / "real.png").startswith("data:image/png;base64,")


def test_the_declared_type_of_a_data_url_is_not_trusted() -> None:
    gif_as_png = "data:image/png;base64," + base64.b64encode(b"GIF89a" + bytes(10)).decode()
    assert image_url(ImageInput(url=gif_as_png)).startswith("data:image/gif;base64,")
    with pytest.raises(ImageRefused, match="larger than"):
        image_url(ImageInput(url="data:image/png;base64," + "A" * (15 * 1024 * 1024)))
