"""The kubernetes executor against recorded requests: the official client, configured by a
kubeconfig, talks HTTP to a local stand-in for the API server that records every request and
answers as a cluster would (a claim that is missing, a Pod that is Running, deletions). No
cluster or API server binary installs from the registries here, so the exec API (a WebSocket
upgrade) is not covered by this test; the Pod's behaviour is, under `podman kube play`
(test_kube_play.py). Needs no root and no Podman."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sandbox.containers import ContainerConfig
from sandbox.executor import CommandRequest
from sandbox.kubernetes import KubernetesExecutor
from sandbox.policy import Policy

Recorded = list[tuple[str, str, Any]]


class FakeApi(BaseHTTPRequestHandler):
    recorded: Recorded
    created: dict[str, Any]

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
        if "/persistentvolumeclaims/" in self.path:
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
    handler = type("Handler", (FakeApi,), {"recorded": recorded, "created": {}})
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
