"""Fixtures of the container executor tests: Podman set up, the test image, a config.toml.

These tests need root and Podman (scripts/setup-podman.sh, which `make setup` runs): as a normal
user they are skipped, as root a missing Podman fails them, so CI cannot pass without running
them. The image is built once per run from this host's packages (`tests.containers.image`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.containers import THREAD_LABEL, ContainerConfig, podman_global_argv
from tests.containers.image import ensure_image
from tests.e2e.conftest import (
    tcp_listener,
    workspace,  # noqa: F401 (the e2e suite's workspace, shared)
)

ROOTLESS_ENV = "TETHER_PODMAN_ROOTLESS"
"""Set by test_rootless.py when it runs these tests again as a normal user (rootless Podman)."""


def needs_podman() -> None:
    if os.geteuid() != 0 and not os.environ.get(ROOTLESS_ENV):
        pytest.skip("the podman executor tests run as root; test_rootless.py reruns them as a user")
    if shutil.which("podman") is None or shutil.which("runc") is None:
        pytest.fail("podman and runc are missing: run scripts/setup-podman.sh as root")


@pytest.fixture(scope="session")
def image() -> str:
    needs_podman()
    return ensure_image(podman_global_argv(ContainerConfig()))


@pytest.fixture
def config(image: str) -> ContainerConfig:
    return ContainerConfig(kind="podman", image=image, memory="512m", cpus=1.0, pids=128)


@pytest.fixture
def host_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on every address: a container reaches the host over Podman's bridge."""
    with tcp_listener("0.0.0.0") as found:
        yield found


@pytest.fixture
def home_with_podman(tmp_path: Path, image: str) -> Path:
    """A TETHER_HOME whose config.toml runs commands in Podman."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        f'[executor]\nkind = "podman"\nimage = "{image}"\nmemory = "512m"\npids = 128\n'
    )
    return home


def containers_of(thread_id: str) -> list[str]:
    """The names of the containers, running or not, of one thread."""
    listed = subprocess.run(
        [
            "podman",
            "ps",
            "--all",
            "--filter",
            f"label={THREAD_LABEL}={thread_id}",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


@pytest.fixture
def leftover_check() -> Iterator[list[str]]:
    """Thread ids a test used; their containers are removed (and reported) afterwards."""
    threads: list[str] = []
    yield threads
    for thread in threads:
        names = containers_of(thread)
        if names:
            subprocess.run(["podman", "rm", "-f", "-t", "0", *names], capture_output=True)
