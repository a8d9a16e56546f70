"""The kubernetes executor against recorded requests: the official client, configured by a
kubeconfig, talks HTTP to a local stand-in for the API server that records every request and
answers as a cluster would (a claim that is missing, a Pod that is Running, deletions). No
cluster or API server binary installs from the registries here. The exec API (a WebSocket
upgrade, v4.channel.k8s.io) is served for the file methods only: the stand-in runs their
scripts on this host, so commands (`run`, which ends with `kill -9 -1`) are refused there; the
Pod's behaviour is tested under `podman kube play` (test_kube_play.py). Needs no root and no
Podman."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import struct
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from hashlib import sha1
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sandbox.containers import ContainerConfig
from sandbox.executor import CommandRequest
from sandbox.kubernetes import KubernetesExecutor, load_client
from sandbox.policy import Policy

Recorded = list[tuple[str, str, Any]]


class FakeApi(BaseHTTPRequestHandler):
    recorded: Recorded
    created: dict[str, Any]
    execs: list[tuple[list[str], subprocess.Popen[bytes]]]

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the test reads `recorded`
        return

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.recorded.append(("GET", self.path, None))
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self._exec()
        elif "/persistentvolumeclaims/" in self.path:
            self._send(
                404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
            )
        elif "/pods?" in self.path:  # the Job's Pods, by label
            pod = self.created["job"]["spec"]["template"]
            self._send(200, {"kind": "PodList", "items": [running(pod, "job-pod-1")]})
        elif "/pods/" in self.path:
            self._send(200, running(self.created["pod"], self.created["pod"]["metadata"]["name"]))
        else:
            self._send(404, {"kind": "Status", "code": 404})

    def _exec(self) -> None:
        """The exec API (`pods/NAME/exec`, a WebSocket speaking v4.channel.k8s.io): the command
        runs on this host, the stand-in's "Pod", with stdin, stdout, stderr on channels 0-2 and
        its exit status on channel 3, as a kubelet reports it."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        key = self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header(
            "Sec-WebSocket-Accept", base64.b64encode(sha1(key.encode()).digest()).decode()
        )
        self.send_header("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
        self.end_headers()
        self.close_connection = True
        piped = query.get("stdin") == ["true"]
        if query["command"][:2] != ["/bin/sh", "-c"] or "kill" in query["command"][-1]:
            raise AssertionError(f"the stand-in runs only file scripts, not {query['command']}")
        process = subprocess.Popen(
            query["command"],
            stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.execs.append((query["command"], process))
        lock = threading.Lock()

        def send(opcode: int, data: bytes) -> None:
            size = len(data)
            if size < 126:
                head = bytes([0x80 | opcode, size])
            elif size < 65536:
                head = bytes([0x80 | opcode, 126]) + struct.pack(">H", size)
            else:
                head = bytes([0x80 | opcode, 127]) + struct.pack(">Q", size)
            with lock:
                self.wfile.write(head + data)
                self.wfile.flush()

        def pump(stream: Any, channel: int) -> None:
            while chunk := stream.read1(65536):
                send(2, bytes([channel]) + chunk)

        def receive() -> None:
            while frame := read_frame(self.rfile):
                opcode, data = frame
                if opcode == 8:
                    return
                if data[:1] == b"\x00" and process.stdin is not None:
                    with contextlib.suppress(BrokenPipeError):
                        process.stdin.write(data[1:])
                        process.stdin.flush()

        threading.Thread(target=receive, daemon=True).start()
        pumps = [
            threading.Thread(target=pump, args=(process.stdout, 1)),
            threading.Thread(target=pump, args=(process.stderr, 2)),
        ]
        for thread in pumps:
            thread.start()
        code = process.wait()
        for thread in pumps:
            thread.join()
        status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        if code:
            status = {
                "metadata": {},
                "status": "Failure",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
            }
        send(2, b"\x03" + json.dumps(status).encode())
        send(8, struct.pack(">H", 1000))

    def do_POST(self) -> None:
        body = self._body()
        self.recorded.append(("POST", self.path, body))
        kind = {"Pod": "pod", "Job": "job", "PersistentVolumeClaim": "claim"}[body["kind"]]
        self.created[kind] = body
        self._send(201, body)

    def do_DELETE(self) -> None:
        self.recorded.append(("DELETE", self.path, self._body()))
        if "/jobs/" in self.path:  # a cluster answers with the object being deleted
            self._send(200, self.created["job"])
        else:
            self._send(200, running(self.created["pod"], self.created["pod"]["metadata"]["name"]))


def read_frame(stream: Any) -> tuple[int, bytes] | None:
    """One WebSocket frame from the client (masked), None at the end of the connection."""
    head = stream.read(2)
    if len(head) < 2:
        return None
    size = head[1] & 0x7F
    if size == 126:
        size = struct.unpack(">H", stream.read(2))[0]
    elif size == 127:
        size = struct.unpack(">Q", stream.read(8))[0]
    mask = stream.read(4) if head[1] & 0x80 else b"\x00" * 4
    data = stream.read(size)
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "big")
    return head[0] & 0x0F, (int.from_bytes(data, "big") ^ key).to_bytes(size, "big")


def running(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": pod["metadata"].get("labels", {})},
        "status": {"phase": "Running"},
    }


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    recorded: Recorded = []
    handler = type("Handler", (FakeApi,), {"recorded": recorded, "created": {}, "execs": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    worker = threading.Thread(target=server.serve_forever, daemon=True)
    worker.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
                ],
                "users": [{"name": "u", "user": {"token": "test-token"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    yield recorded
    server.shutdown()


def request_for(workspace: Path) -> CommandRequest:
    policy = Policy(kind="workspaceWrite", roots=(workspace,))
    env = {"LANG": "C.UTF-8", "GITHUB_TOKEN": "ghp-secret", "PATH": os.defpath}
    return CommandRequest("true", workspace, policy, env, timeout_s=30, output_cap_bytes=1000)


async def test_a_pod_per_thread_with_its_claim_then_deleted(api: Recorded, tmp_path: Path) -> None:
    config = ContainerConfig(
        kind="kubernetes",
        image="registry.example/toolchain:1",
        namespace="agents",
        storage_class="fast",
        service_account="tether-runner",
    )
    executor = KubernetesExecutor(config, "thr_abc123")
    request = request_for(tmp_path)
    pod = await executor._ensure_pod(request)
    await executor.close()
    methods = [(m, p.split("?")[0]) for m, p, _ in api]
    ns = "/api/v1/namespaces/agents"
    assert methods[:3] == [
        ("GET", f"{ns}/persistentvolumeclaims/{executor.name}"),
        ("POST", f"{ns}/persistentvolumeclaims"),
        ("POST", f"{ns}/pods"),
    ]
    assert methods[-1] == ("DELETE", f"{ns}/pods/{executor.name}")
    claim, sent = api[1][2], api[2][2]
    assert claim["spec"]["storageClassName"] == "fast"
    assert sent == executor.manifest(request) and pod == executor.name
    spec = sent["spec"]
    assert spec["serviceAccountName"] == "tether-runner"
    assert spec["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["v0"]["persistentVolumeClaim"]["claimName"] == executor.name
    text = json.dumps(sent)
    assert "ghp-secret" not in text and "GITHUB_TOKEN" not in text and "test-token" not in text


async def test_a_job_per_task_for_batches(api: Recorded, tmp_path: Path) -> None:
    config = ContainerConfig(
        kind="kubernetes",
        image="img:1",
        namespace="agents",
        workload="job",
        git_url="https://example.invalid/repo.git",
    )
    executor = KubernetesExecutor(config, "thr_job1")
    pod = await executor._ensure_pod(request_for(tmp_path))
    await executor.close()
    posted = [(p, b) for m, p, b in api if m == "POST"]
    job_path, job = posted[-1]
    assert job_path == "/apis/batch/v1/namespaces/agents/jobs"
    assert job["kind"] == "Job" and job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    (init,) = job["spec"]["template"]["spec"]["initContainers"]
    assert "git clone" in init["command"][-1]
    assert pod == "job-pod-1"
    assert api[-1][0] == "DELETE" and api[-1][1].startswith(
        f"/apis/batch/v1/namespaces/agents/jobs/{executor.name}"
    )


async def test_files_go_through_the_exec_api(api: Recorded, tmp_path: Path) -> None:
    """The real client's WebSocket exec against the stand-in: a write streams its bytes on stdin
    (a file larger than ARG_MAX), replaces a symlink instead of following it, and a read, a
    listing see the Pod's files. No command goes through `run` here: the stand-in's "Pod" is
    this host, and `run` ends with `kill -9 -1`."""
    config = ContainerConfig(kind="kubernetes", image="img:1", namespace="agents")
    executor = KubernetesExecutor(config, "thr_files")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    (workspace / "link.txt").symlink_to(outside)
    executor._kube = load_client()  # as `_ensure_pod` does; the stand-in's Pod is running
    executor._pod = executor.name
    big = os.urandom(3 * 1024 * 1024)
    await executor.write_file(workspace / "big.bin", big)
    await executor.write_file(workspace / "link.txt", b"new\n")
    assert (workspace / "big.bin").read_bytes() == big
    assert outside.read_text() == "keep me\n" and not (workspace / "link.txt").is_symlink()
    assert await executor.read_file(workspace / "link.txt") == b"new\n"
    assert await executor.list_dir(workspace) == ["big.bin", "link.txt"]
    with pytest.raises(FileNotFoundError):
        await executor.read_file(workspace / "missing.txt")
    execs = [path for method, path, _ in api if method == "GET" and "/exec?" in path]
    assert len(execs) == 5 and max(len(path) for path in execs) < 10_000
