"""`tether executor manifest` run by a real engine: `podman kube play` of the exact YAML it
prints, with the checks the podman executor passes (writes confined to the workspace, protected
entries read-only, no network unless the manifest allows it, output streaming, a kill from
inside ending a command, and nothing left after `podman kube down`)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml


def manifest(workspace: Path, image: str, name: str, *extra: str) -> str:
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "executor",
            "manifest",
            "--cd",
            str(workspace),
            "--image",
            image,
            "--name",
            name,
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return printed.stdout


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, check=check, timeout=timeout
    )


@pytest.fixture
def played(workspace: Path, image: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The manifest's Pod, running (no network, as its label says); removed afterwards."""
    name = f"tk-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "pod.yaml"
    path.write_text(manifest(workspace, image, name))
    podman("kube", "play", "--network", "none", str(path))
    yield f"{name}-work", path
    podman("kube", "down", str(path), check=False)


def run_in(container: str, script: str) -> subprocess.CompletedProcess[str]:
    return podman("exec", container, "bash", "-c", script, check=False)


def test_the_manifest_is_the_executor_s_container(workspace: Path, image: str) -> None:
    pod = yaml.safe_load(manifest(workspace, image, "tk-shape"))
    (work,) = pod["spec"]["containers"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert work["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert work["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"]: m.get("readOnly") for m in work["volumeMounts"]}[
        str(workspace)
    ] is False
    names = {e["name"] for e in work["env"]}
    assert names <= {
        "HOME",
        "TMPDIR",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TZ",
        "COLORTERM",
        "NO_COLOR",
    } | {n for n in names if n.startswith("LC_")}
    assert pod["metadata"]["labels"]["tether.network"] == "none"


def test_writes_are_confined_to_the_workspace(played: tuple[str, Path], workspace: Path) -> None:
    container, _ = played
    done = run_in(
        container,
        "echo pod > from-pod.txt; echo x > /etc/evil; echo y >> .git/config; echo t > /tmp/t",
    )
    assert (workspace / "from-pod.txt").read_text() == "pod\n"
    assert done.stderr.count("Read-only file system") == 2
    assert "y" not in (workspace / ".git/config").read_text().splitlines()
    assert not Path("/etc/evil").exists()


def test_no_network_without_the_label_allowing_it(played: tuple[str, Path]) -> None:
    container, _ = played
    done = run_in(container, "echo > /dev/tcp/host.containers.internal/9 && echo sent")
    assert done.returncode != 0 and "sent" not in done.stdout
    assert "unreachable" in done.stderr.lower()


def test_output_streams_and_a_kill_from_inside_ends_the_command(
    played: tuple[str, Path],
) -> None:
    container, _ = played
    marker = f"sleep 5{uuid.uuid4().int % 10**6:06d}"
    streaming = subprocess.Popen(
        ["podman", "exec", container, "bash", "-c", f"echo started; {marker} & {marker}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert streaming.stdout is not None
    assert streaming.stdout.readline() == "started\n"  # before the command ends
    assert marker in run_in(container, "ps -eo args").stdout
    run_in(container, "kill -9 -1; exit 0")  # what the executor sends on interrupt
    assert streaming.wait(timeout=60) != 0
    assert marker not in run_in(container, "ps -eo args").stdout


def test_kube_down_leaves_nothing(workspace: Path, image: str, tmp_path: Path) -> None:
    name = f"tk-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "pod.yaml"
    path.write_text(manifest(workspace, image, name, "--network"))
    podman("kube", "play", str(path))
    try:
        assert yaml.safe_load(path.read_text())["metadata"]["labels"]["tether.network"] == "allowed"
        assert run_in(f"{name}-work", "echo up").stdout == "up\n"
    finally:
        podman("kube", "down", str(path))
    left = podman("ps", "--all", "--filter", f"name={name}", "--format", "{{.Names}}").stdout
    assert left.strip() == ""
