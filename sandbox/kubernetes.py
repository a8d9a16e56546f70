"""The `kubernetes` executor: a thread's commands in a Pod of its own, through the exec API.

For users who outgrow one machine. The Pod is `sandbox.containers.pod_manifest` of the thread's
container (the YAML `tether executor manifest` prints, which `podman kube play` runs here): the
workspace from a PersistentVolumeClaim (`tether-<thread>`, made from `storage_class` when
missing, and filled by a `git clone` init container when `git_url` is set) mounted at the
workspace's own path, no service-account token, no host environment beyond the scrubbed names,
every capability dropped, a read-only root filesystem, the limits as resources, and the label
`tether.network=none` that the NetworkPolicy `tether-no-network` denies all traffic for. With
`workload = "job"` (`tether exec` batches) the Pod comes from a Job, so the cluster keeps a
record of the task and removes it after `ttlSecondsAfterFinished`.

Commands run as `bash -c` through `connect_get_namespaced_pod_exec`, their output streamed as it
arrives; a timeout or a cancelled task kills every process of the Pod but its first (`kill -9
-1`). The workspace lives in the cluster, not on this host (`shares_host_files` is false): the
file methods and `snapshot` (a tar of the root) go through exec too: a write streams its bytes
on the exec's stdin into a new temporary file renamed over the path (a symlink there is
replaced, not followed; a directory reached through a symlink is refused). The Pod and its Job are
deleted when the thread closes; `activeDeadlineSeconds` ends a Pod whose server died without
saying so. Every call of the client is blocking, so each runs in a worker thread.

The client is the official `kubernetes` package, an optional extra (`pip install
tether[kubernetes]`); it reads ~/.kube/config, or the in-cluster service account when Tether
itself runs in a Pod.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import importlib
import os
import shlex
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sandbox.containers import (
    LABEL,
    SERVER_LABEL,
    THREAD_LABEL,
    ContainerConfig,
    ContainerSpec,
    container_env,
    pod_manifest,
    spec_for,
)
from sandbox.errors import SandboxUnavailable
from sandbox.executor import CommandRequest, ExecutorKind, container_result
from sandbox.output import CappedOutput
from sandbox.run import CommandResult

ACTIVE_DEADLINE_S = 12 * 3600
JOB_TTL_S = 3600
_POLL_S = 0.5
_START_TIMEOUT_S = 300.0
_KILL_ALL = "kill -9 -1 2>/dev/null; exit 0"
_STDIN_CHUNK = 256 * 1024
_FILE_TIMEOUT_S = 120.0


def load_client() -> Any:
    """The `kubernetes` module, configured from ~/.kube/config or the in-cluster account."""
    try:
        kube: Any = importlib.import_module("kubernetes")
    except ImportError:
        raise SandboxUnavailable(
            "The kubernetes executor needs the kubernetes client: pip install 'tether[kubernetes]'."
        ) from None
    try:
        # Named here: the client reads KUBECONFIG once, when it is first imported.
        kube.config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    except Exception as outside:  # the client raises several types for a missing or bad file
        try:
            kube.config.load_incluster_config()
        except Exception:
            raise SandboxUnavailable(
                f"No Kubernetes cluster is configured ({outside}): point KUBECONFIG or "
                "~/.kube/config at your cluster, or run Tether in a Pod with a service account."
            ) from None
    return kube


def workload_manifest(
    spec: ContainerSpec, *, claim: str | None, job: bool, clone: tuple[str, Path] | None = None
) -> dict[str, Any]:
    """What a thread's commands run in: the Pod of `spec` with its deadline, its workspace
    filled from `clone` (url, root) when given, wrapped in a Job when `job`. The executor
    creates it; `tether executor manifest` prints it."""
    pod = pod_manifest(spec, claim=claim)
    pod["spec"]["activeDeadlineSeconds"] = ACTIVE_DEADLINE_S
    if clone is not None:
        pod = with_clone(pod, *clone)
    return job_manifest(pod) if job else pod


def job_manifest(pod: dict[str, Any]) -> dict[str, Any]:
    """A Job running `pod` once: no retries, removed an hour after it ends."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": pod["metadata"]["name"], "labels": pod["metadata"]["labels"]},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": JOB_TTL_S,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_S,
            "template": {"metadata": {"labels": pod["metadata"]["labels"]}, "spec": pod["spec"]},
        },
    }


def claim_manifest(name: str, config: ContainerConfig) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": config.workspace_size}},
    }
    if config.storage_class:
        spec["storageClassName"] = config.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": spec,
    }


def with_clone(pod: dict[str, Any], url: str, root: Path) -> dict[str, Any]:
    """`pod` with an init container cloning `url` into the workspace when it is empty."""
    work = pod["spec"]["containers"][0]
    where = shlex.quote(str(root))
    script = f"[ -e {where}/.git ] || git clone -- {shlex.quote(url)} {where}"
    init = {
        "name": "clone",
        "image": work["image"],
        "command": ["/bin/sh", "-c", script],
        "volumeMounts": work["volumeMounts"],
        "securityContext": work["securityContext"],
        "env": [{"name": "HOME", "value": "/tmp"}],
    }
    pod["spec"]["initContainers"] = [init]
    return pod


class KubernetesExecutor:
    """One thread's Pod (or Job) in `config.namespace`."""

    kind: ExecutorKind = "kubernetes"
    shares_host_files = False

    def __init__(self, config: ContainerConfig, thread_id: str) -> None:
        self.config = config
        self.thread_id = thread_id
        self.name = f"tether-{_dns(thread_id)[-20:]}-{uuid.uuid4().hex[:6]}"
        self._kube: Any = None
        self._pod: str | None = None
        self._lock = asyncio.Lock()

    @property
    def image(self) -> str | None:
        return self.config.image

    def manifest(self, request: CommandRequest) -> dict[str, Any]:
        """The Pod (or Job) this executor creates for the thread's commands."""
        labels = {
            LABEL: "kubernetes",
            SERVER_LABEL: _dns(os.uname().nodename),
            THREAD_LABEL: _dns(self.thread_id),
        }
        spec = spec_for(
            self.name, self.config, request.policy, cwd=request.cwd, env=request.env, labels=labels
        )
        url, roots = self.config.git_url, request.policy.roots
        clone = (url, roots[0]) if url and roots else None
        return workload_manifest(
            spec, claim=self.name, job=self.config.workload == "job", clone=clone
        )

    async def run(self, request: CommandRequest) -> CommandResult:
        async with self._lock:
            pod = await self._ensure_pod(request)
            return await self._exec(pod, request)

    async def _ensure_pod(self, request: CommandRequest) -> str:
        if self._pod is not None:
            return self._pod
        self._kube = self._kube or await asyncio.to_thread(load_client)
        manifest = self.manifest(request)
        self._pod = await asyncio.to_thread(self._create, manifest)
        return self._pod

    def _create(self, manifest: dict[str, Any]) -> str:
        kube, namespace = self._kube, self.config.namespace
        core = kube.client.CoreV1Api()
        try:
            core.read_namespaced_persistent_volume_claim(self.name, namespace)
        except kube.client.ApiException as exc:
            if exc.status != 404:
                raise
            core.create_namespaced_persistent_volume_claim(
                namespace, claim_manifest(self.name, self.config)
            )
        if manifest["kind"] == "Job":
            kube.client.BatchV1Api().create_namespaced_job(namespace, manifest)
            selector = f"job-name={self.name}"
        else:
            core.create_namespaced_pod(namespace, manifest)
            selector = f"metadata.name={self.name}"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if manifest["kind"] == "Job":
                pods = core.list_namespaced_pod(namespace, label_selector=selector).items
            else:
                pods = [core.read_namespaced_pod(self.name, namespace)]
            for pod in pods:
                if pod.status.phase == "Running":
                    return pod.metadata.name
                if pod.status.phase in ("Failed", "Succeeded"):
                    raise SandboxUnavailable(
                        f"the Pod {pod.metadata.name} ended before its first command"
                    )
            time.sleep(_POLL_S)
        raise SandboxUnavailable(
            f"the Pod for {self.name} was not running after {_START_TIMEOUT_S:.0f} s"
        )

    async def _exec(self, pod: str, request: CommandRequest) -> CommandResult:
        output = CappedOutput(request.output_cap_bytes, request.on_output)
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def feed(stream: str, text: str) -> None:
            data = text.encode()
            loop.call_soon_threadsafe(
                output.feed, "stderr" if stream == "stderr" else "stdout", data
            )

        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in container_env(request.env).items())
        command = shlex.quote(request.command)
        script = f"cd {shlex.quote(str(request.cwd))} && exec env {env} bash -c {command}"
        started = time.monotonic()
        worker = asyncio.create_task(asyncio.to_thread(self._stream, pod, script, feed, stop))
        try:
            code = await asyncio.wait_for(asyncio.shield(worker), request.timeout_s)
            timed_out = False
        except TimeoutError:
            code, timed_out = -9, True
        except asyncio.CancelledError:
            stop.set()
            await asyncio.shield(asyncio.to_thread(self._call, pod, _KILL_ALL))
            raise
        finally:
            stop.set()
        await asyncio.to_thread(self._call, pod, _KILL_ALL)
        await asyncio.sleep(0)  # the last chunks were handed over with call_soon_threadsafe
        return container_result(request, output, code, timed_out=timed_out, started=started)

    def _open_exec(self, pod: str, script: str, **options: Any) -> Any:
        """`sh -c script` in the Pod's container through the exec API (no stdin, no tty)."""
        kube = self._kube
        return kube.stream.stream(
            kube.client.CoreV1Api().connect_get_namespaced_pod_exec,
            pod,
            self.config.namespace,
            container="work",
            command=["/bin/sh", "-c", script],
            **{"stdin": False, "stdout": True, "tty": False, **options},
        )

    def _stream(self, pod: str, script: str, feed: Any, stop: threading.Event) -> int:
        response = self._open_exec(pod, script, stderr=True, _preload_content=False)
        try:
            while response.is_open() and not stop.is_set():
                response.update(timeout=_POLL_S)
                if response.peek_stdout():
                    feed("stdout", response.read_stdout())
                if response.peek_stderr():
                    feed("stderr", response.read_stderr())
            code = response.returncode
            return -9 if code is None else int(code)
        finally:
            response.close()

    def _call(self, pod: str, script: str) -> str:
        """Run a short shell script in the Pod; its stdout."""
        return self._open_exec(pod, script, stderr=False)

    def _feed(self, pod: str, script: str, data: bytes) -> None:
        """Run `script` in the Pod with `data` streamed on its stdin (never on the command
        line, which `ARG_MAX` bounds); OSError with its stderr when it fails."""
        response = self._open_exec(pod, script, stdin=True, stderr=True, _preload_content=False)
        errors: list[str] = []
        try:
            for start in range(0, len(data), _STDIN_CHUNK):
                response.write_stdin(data[start : start + _STDIN_CHUNK])
            deadline = time.monotonic() + _FILE_TIMEOUT_S
            while response.is_open() and time.monotonic() < deadline:
                response.update(timeout=_POLL_S)
                if response.peek_stderr():
                    errors.append(response.read_stderr())
            if response.is_open():
                raise OSError(f"writing in the Pod did not end within {_FILE_TIMEOUT_S:.0f} s")
            code = response.returncode
        finally:
            response.close()
        if code != 0:
            raise OSError("".join(errors).strip() or f"writing in the Pod failed ({code})")

    def _require_pod(self) -> str:
        if self._pod is None:
            raise SandboxUnavailable("the thread's Pod is not running yet: run a command first")
        return self._pod

    async def read_file(self, path: Path) -> bytes:
        out = await asyncio.to_thread(self._call, self._require_pod(), read_script(path))
        return parse_read(path, out)

    async def write_file(self, path: Path, data: bytes) -> None:
        await asyncio.to_thread(
            self._feed, self._require_pod(), write_script(path, len(data)), data
        )

    async def list_dir(self, path: Path) -> list[str]:
        script = f"{_reached_directly(path)}\nls -A1 -- {shlex.quote(str(path))}"
        out = await asyncio.to_thread(self._call, self._require_pod(), script)
        return sorted(line for line in out.splitlines() if line)

    async def snapshot(self, root: Path) -> bytes | None:
        script = f"tar -C {shlex.quote(str(root))} -cf - . | base64"
        return base64.b64decode(await asyncio.to_thread(self._call, self._require_pod(), script))

    async def close(self) -> None:
        if self._kube is None or self._pod is None:
            return
        await asyncio.to_thread(self._delete)
        self._pod = None

    def _delete(self) -> None:
        kube, namespace = self._kube, self.config.namespace
        options = {"grace_period_seconds": 0, "propagation_policy": "Background"}
        if self.config.workload == "job":
            kube.client.BatchV1Api().delete_namespaced_job(self.name, namespace, **options)
        else:
            kube.client.CoreV1Api().delete_namespaced_pod(self.name, namespace, **options)


def _reached_directly(directory: Path) -> str:
    """Shell that fails unless `directory` is reached through no symlink in the Pod."""
    where = shlex.quote(str(directory))
    message = shlex.quote(f"{directory} is not a directory reached without symlinks in the Pod")
    physical = f'"$(cd -P -- {where} 2>/dev/null && pwd)"'
    return f"[ {physical} = {where} ] || {{ echo {message} >&2; exit 3; }}"


def read_script(path: Path) -> str:
    """Shell printing what is at `path` in the Pod: a first line F (a regular file, its bytes
    follow in base64), M (nothing there), L (a symlink, not followed) or S (something else)."""
    quoted = shlex.quote(str(path))
    return (
        f"{_reached_directly(path.parent)}\n"
        f"if [ -L {quoted} ]; then echo L; elif [ ! -e {quoted} ]; then echo M\n"
        f"elif [ ! -f {quoted} ]; then echo S; else echo F; base64 < {quoted}; fi"
    )


def parse_read(path: Path, out: str) -> bytes:
    """The bytes `read_script` printed; FileNotFoundError or OSError as a local read raises."""
    kind, _, body = out.partition("\n")
    if kind == "F":
        return base64.b64decode(body)
    if kind == "M":
        raise FileNotFoundError(errno.ENOENT, f"{path} does not exist in the Pod", str(path))
    what = {"L": "a symlink (not followed)", "S": "not a regular file"}.get(kind, "unreadable")
    raise OSError(errno.EINVAL, f"{path} is {what} in the Pod", str(path))


def write_script(path: Path, size: int) -> str:
    """Shell writing the next `size` bytes of stdin to `path` in the Pod, atomically: into a
    new temporary file beside it (`mktemp`, which never opens an existing name), then renamed
    over `path` with `mv -T`, which replaces a symlink there rather than writing through it or
    moving the file into the directory it names. An existing regular file keeps its mode."""
    quoted = shlex.quote(str(path))
    template = shlex.quote(str(path.with_name(f".{path.name}.tether-XXXXXXXX")))
    return "\n".join(
        [
            _reached_directly(path.parent),
            f"t=$(mktemp -- {template}) || exit 1",
            f'if [ -f {quoted} ] && [ ! -L {quoted} ]; then chmod --reference={quoted} "$t"; '
            'else chmod 644 "$t"; fi || { rm -f -- "$t"; exit 1; }',
            f'if head -c {size} > "$t" && mv -fT -- "$t" {quoted}; then exit 0; fi',
            'rm -f -- "$t"; exit 1',
        ]
    )


def _dns(text: str) -> str:
    """`text` as a DNS label: lowercase letters, digits and dashes."""
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "x"
