"""Images the user attaches to a message (`protocol.item.ImageInput`), as the data URLs the
model reads (Responses `input_image`, Chat Completions `image_url`; `server.agent.history`).

A `path` is the user's explicit choice (an editor's attachment, `tether exec --image`), so it
may lie outside the workspace roots, as an attached file may. It is read like one: links are
followed as the user's shell would, but never into a secret (a `shot.png -> ~/.ssh/id_rsa`
left by a command), and only a regular file is read (never a FIFO or a device), without
following a final symlink after the check (`server.edits.safe_read`), at most `IMAGE_CAP`
bytes. A `url` must be a base64 `data:` URL. Either way the bytes must be PNG, JPEG, GIF or
WebP by their first bytes, whatever the name or the declared type says, and the model is told
the type the bytes have.

`check_images` runs when a turn or a steer is asked for, so a bad image is refused with its
reason (-32602) before anything starts; the turn reads the images again when it sends them.

An image the model names (`view_image`) must be inside the workspace roots, and is opened
below its root without following any symlink (`workspace_image_url`).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path

from protocol.item import ImageInput, UserInput
from sandbox.paths import PathDenied, resolve_for_read
from sandbox.policy import Policy
from server.edits.safe_read import NotReadable, human_size, open_beneath, read_bounded, read_fd

IMAGE_CAP = 10 * 1024 * 1024
"""Largest image, in bytes, sent to the model (OpenAI takes up to 20 MB; screenshots are far
smaller, and each image is kept in the thread's log)."""

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_DATA_URL = re.compile(r"data:(image/[\w.+-]+);base64,(.*)", re.DOTALL)


class ImageRefused(ValueError):
    """An image Tether will not send; `str()` says why, for the user."""


def image_type(data: bytes) -> str | None:
    """The MIME type of PNG, JPEG, GIF or WebP bytes; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _SIGNATURES if data.startswith(magic)), None)


def image_url(image: ImageInput) -> str:
    """The image as a `data:` URL; raises ImageRefused saying why it cannot be sent."""
    if (image.path is None) == (image.url is None):
        raise ImageRefused("an image input needs exactly one of `path` and `url`")
    if image.url is not None:
        return _checked_url(image.url)
    return _read_path(image.path or "")


def _checked_url(url: str) -> str:
    match = _DATA_URL.fullmatch(url.strip())
    if match is None:
        raise ImageRefused(
            "an image `url` must be a base64 data URL (data:image/png;base64,...); "
            "give a local file as `path` instead"
        )
    if len(match.group(2)) > IMAGE_CAP * 4 // 3 + 4:
        raise ImageRefused(f"the image is larger than the {human_size(IMAGE_CAP)} Tether sends")
    try:
        data = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise ImageRefused("the image's data URL is not valid base64") from None
    return _as_url(data, "the data URL")


def _read_path(path: str) -> str:
    given = Path(path)
    if not given.is_absolute():
        raise ImageRefused(f"image path {path!r} must be absolute")
    try:
        verdict = resolve_for_read(given, cwd=given.parent, policy=Policy("fullAccess"))
    except PathDenied as exc:
        raise ImageRefused(str(exc)) from None
    if verdict.secret:
        raise ImageRefused(f"{path} leads to a secret file (credentials); not sent.")
    try:
        data = read_bounded(verdict.path, IMAGE_CAP)
    except FileNotFoundError:
        raise ImageRefused(f"image {path} does not exist") from None
    except NotReadable as exc:  # says why in words: a FIFO, too large, ...
        raise ImageRefused(str(exc)) from None
    except OSError as exc:
        raise ImageRefused(f"image {path} could not be read: {exc.strerror}") from None
    return _as_url(data, path)


def workspace_image_url(root: Path, path: Path) -> str:
    """An image a model named (`view_image`), as a data URL: `path` (resolved, inside `root`)
    is opened below `root` one component at a time without following any symlink, so a
    directory or file swapped for a link after the gate's check is refused, not followed; then
    the same checks as a user's image. Raises ImageRefused."""
    try:
        fd, info = open_beneath(root, str(path.relative_to(root)))
    except FileNotFoundError:
        raise ImageRefused(f"{path} does not exist") from None
    except NotReadable as exc:
        raise ImageRefused(str(exc)) from None
    except OSError as exc:
        raise ImageRefused(f"{path} could not be read: {exc.strerror}") from None
    try:
        data = read_fd(fd, IMAGE_CAP, path, info.st_size)
    except NotReadable as exc:
        raise ImageRefused(str(exc)) from None
    finally:
        os.close(fd)
    return _as_url(data, str(path))


def _as_url(data: bytes, shown: str) -> str:
    mime = image_type(data)
    if mime is None:
        raise ImageRefused(f"{shown} is not a PNG, JPEG, GIF or WebP image")
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def check_images(content: list[UserInput]) -> None:
    """Raise ImageRefused for the first image of `content` that cannot be sent."""
    for item in content:
        if isinstance(item, ImageInput):
            image_url(item)


def image_urls(content: list[UserInput]) -> tuple[list[str], list[str]]:
    """The images of `content` as data URLs, and a note for each one that could not be read
    now (it was checked when the turn was asked for; the file may have changed since)."""
    urls: list[str] = []
    problems: list[str] = []
    for item in content:
        if isinstance(item, ImageInput):
            try:
                urls.append(image_url(item))
            except ImageRefused as exc:
                problems.append(f"(an attached image could not be read: {exc})")
    return urls, problems
