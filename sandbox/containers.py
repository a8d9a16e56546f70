"""What a thread's container looks like, spelled once for Podman and once for Kubernetes.

`ContainerConfig` is the `[executor]` table of config.toml. `ContainerSpec` is one container of a
thread: the image, the workspace roots bind-mounted at their own absolute paths (read-only for a
read-only policy), the protected entries that exist mounted read-only over them, secrets inside a
root hidden, no network unless the policy allows it, the memory, CPU and process limits, every
capability dropped and no new privileges. `podman_run_argv` and `pod_manifest` turn it into a
`podman run` command line and a Kubernetes Pod; `podman kube play` runs that same Pod here.

A container gets the host's locale and terminal variables only (`container_env`, scrubbed by
`sandbox.env` too), HOME and TMPDIR at its private /tmp; the image's own PATH applies.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sandbox.env import scrub_env
from sandbox.executor import ExecutorKind
from sandbox.policy import Policy, homes_of, secret_paths_for
from sandbox.protect import command_targets

LIFETIME_FD = 3
"""The container's first process reads this inherited pipe; it ends (and the container with it,
`--rm` removes it) when the server, which holds the only write end, dies."""
MAIN_SCRIPT = f"while :; do read -t 5 _ <&{LIFETIME_FD}; [ $? -gt 128 ] || exit 0; done"
"""Bash, not sh: as the container's first process it also reaps the orphans of killed commands
(read times out every 5 s so that it gets to)."""
KEEP_ALIVE_SCRIPT = "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"
"""The Pod's first process, which Kubernetes ends when the Pod is deleted."""
PASSED_NAMES = frozenset({"LANG", "LANGUAGE", "TERM", "TZ", "COLORTERM", "NO_COLOR"})
"""The host variables a container gets (and every LC_*): the locale and the terminal. The rest
of the host's environment describes the host (its PATH, HOME, virtualenv, CA bundles, tokens);
the image has its own."""
LABEL = "tether.executor"
SERVER_LABEL = "tether.server"
THREAD_LABEL = "tether.thread"


@dataclass(frozen=True)
class ContainerConfig:
    """`[executor]` in config.toml: which engine, which image, and the limits."""

    kind: ExecutorKind = "local"
    image: str | None = None
    runtime: str | None = "runc"
    """Podman's OCI runtime (`--runtime`); runc works on hosts with hybrid cgroups."""
    cgroup_manager: str | None = "cgroupfs"
    memory: str | None = "2g"
    cpus: float | None = 2.0
    pids: int = 512
    nofile: int = 4096
    """Open files per process; a root without CAP_SYS_RESOURCE cannot give more than it has."""
    tmp_size: str = "1g"
    namespace: str = "default"
    """Kubernetes: the namespace of the Pods and Jobs."""
    service_account: str | None = None
    storage_class: str | None = None
    """Kubernetes: the storage class of the workspace's claim (the cluster's default if unset)."""
    workspace_size: str = "10Gi"
    git_url: str | None = None
    """Kubernetes: clone this repository into the claim instead of expecting it filled."""
    workload: Literal["pod", "job"] = "pod"
    """Kubernetes: a bare Pod per thread, or a Job (`tether exec` batches: the cluster keeps
    its record, and removes it `ttlSecondsAfterFinished` after it ends)."""


@dataclass(frozen=True)
class Mount:
    source: Path
    target: Path
    read_only: bool
    kind: Literal["bind", "tmpfs"] = "bind"


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    workdir: Path
    mounts: tuple[Mount, ...]
    network: bool
    env: Mapping[str, str]
    config: ContainerConfig
    labels: Mapping[str, str] = field(default_factory=lambda: {})
    user: tuple[int, int] = (0, 0)


def spec_for(
    name: str,
    config: ContainerConfig,
    policy: Policy,
    *,
    cwd: Path,
    env: Mapping[str, str],
    labels: Mapping[str, str],
) -> ContainerSpec:
    """The container for commands under `policy`: writable roots only for a write policy."""
    if not config.image:
        raise ValueError("[executor] needs an `image` for a container executor")
    homes = homes_of(env)
    mounts: list[Mount] = []
    for root in policy.roots:
        real = Path(os.path.realpath(root))
        mounts.append(Mount(real, real, read_only=not policy.writable_roots))
        if policy.writable_roots:
            for target in command_targets(real, policy, homes):
                if target.exists and not target.is_symlink:
                    mounts.append(Mount(target.path, target.path, read_only=True))
        for secret in secret_paths_for(policy, homes):
            if secret.is_relative_to(real) and secret.is_dir() and not secret.is_symlink():
                mounts.append(Mount(secret, secret, read_only=True, kind="tmpfs"))
    return ContainerSpec(
        name=name,
        image=config.image,
        workdir=cwd,
        mounts=tuple(mounts),
        network=policy.allows_network,
        env=container_env(env),
        config=config,
        labels=labels,
        user=(os.getuid(), os.getgid()),
    )


def container_env(env: Mapping[str, str]) -> dict[str, str]:
    """What a container sees of the host's environment: `PASSED_NAMES` and LC_*, scrubbed of
    anything that looks like a secret all the same (`sandbox.env`)."""
    passed = {k: v for k, v in env.items() if k in PASSED_NAMES or k.startswith("LC_")}
    return scrub_env(passed)


def podman_global_argv(config: ContainerConfig) -> list[str]:
    argv = ["podman"]
    if config.runtime:
        argv += ["--runtime", config.runtime]
    if config.cgroup_manager:
        argv += ["--cgroup-manager", config.cgroup_manager]
    return argv


def podman_run_argv(spec: ContainerSpec) -> list[str]:
    """`podman run` of the thread's container, detached, removed when it stops."""
    config = spec.config
    argv = [*podman_global_argv(config), "run", "--detach", "--rm", "--name", spec.name]
    for key, value in spec.labels.items():
        argv += ["--label", f"{key}={value}"]
    # Rootless Podman has no bridge of its own: slirp4netns is its user-mode network.
    network = ("bridge" if os.getuid() == 0 else "slirp4netns") if spec.network else "none"
    argv += ["--network", network]
    argv += ["--user", f"{spec.user[0]}:{spec.user[1]}"]
    if os.getuid() != 0:
        argv += ["--userns", "keep-id"]
    argv += ["--cap-drop", "all", "--security-opt", "no-new-privileges", "--read-only"]
    argv += ["--pids-limit", str(config.pids)]
    argv += ["--ulimit", f"nofile={config.nofile}:{config.nofile}"]
    argv += ["--ulimit", f"nproc={config.pids}:{config.pids}"]
    if config.memory:
        argv += ["--memory", config.memory, "--memory-swap", config.memory]
    if config.cpus:
        argv += ["--cpus", str(config.cpus)]
    argv += ["--tmpfs", f"/tmp:rw,size={config.tmp_size},mode=1777"]
    for mount in spec.mounts:
        if mount.kind == "tmpfs":
            argv += ["--mount", f"type=tmpfs,destination={mount.target},ro=true"]
        else:
            ro = ",ro=true" if mount.read_only else ""
            argv += ["--mount", f"type=bind,source={mount.source},destination={mount.target}{ro}"]
    argv += ["--env", "HOME=/tmp", "--env", "TMPDIR=/tmp"]
    for key, value in spec.env.items():
        argv += ["--env", f"{key}={value}"]
    argv += ["--workdir", str(spec.workdir), "--preserve-fds", "1"]
    argv += ["--entrypoint", "/bin/bash", spec.image, "-c", MAIN_SCRIPT]
    return argv


def pod_manifest(spec: ContainerSpec, claim: str | None = None) -> dict[str, Any]:
    """The same container as a Kubernetes Pod. Roots come from hostPath volumes (what `podman
    kube play` and a one-node cluster run) or, with `claim`, from that PersistentVolumeClaim
    mounted at the first root's path. No Secret, token or host environment goes in: the
    service account token is not mounted and env holds only the scrubbed names."""
    config = spec.config
    # /tmp first: the roots may lie below it (a runtime mounts in list order).
    tmp_size = _kube_quantity(config.tmp_size)
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": tmp_size}}
    ]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    for index, mount in enumerate(spec.mounts):
        volume = f"v{index}"
        if mount.kind == "tmpfs":
            volumes.append({"name": volume, "emptyDir": {"medium": "Memory"}})
        elif claim is not None and index == 0:
            volumes.append({"name": volume, "persistentVolumeClaim": {"claimName": claim}})
        else:
            kind = "Directory" if mount.source.is_dir() else "File"
            volumes.append({"name": volume, "hostPath": {"path": str(mount.source), "type": kind}})
        mounts.append({"name": volume, "mountPath": str(mount.target), "readOnly": mount.read_only})
    limits: dict[str, str] = {}
    if config.memory:
        limits["memory"] = _kube_quantity(config.memory)
    if config.cpus:
        limits["cpu"] = str(config.cpus)
    env = [{"name": "HOME", "value": "/tmp"}, {"name": "TMPDIR", "value": "/tmp"}]
    env += [{"name": k, "value": v} for k, v in spec.env.items()]
    container: dict[str, Any] = {
        "name": "work",
        "image": spec.image,
        "command": ["/bin/sh", "-c", KEEP_ALIVE_SCRIPT],
        "workingDir": str(spec.workdir),
        "env": env,
        "volumeMounts": mounts,
        "resources": {"limits": limits, "requests": dict(limits)},
        "securityContext": {
            "runAsUser": spec.user[0],
            "runAsGroup": spec.user[1],
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "volumes": volumes,
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
    }
    if config.service_account:
        pod_spec["serviceAccountName"] = config.service_account
    labels = {_kube_label(k): _kube_value(v) for k, v in spec.labels.items()}
    labels["tether.network"] = "allowed" if spec.network else "none"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": spec.name, "labels": labels},
        "spec": pod_spec,
    }


def network_policy_manifest(namespace: str) -> dict[str, Any]:
    """Denies all traffic to and from Pods labelled `tether.network=none` (a cluster's CNI must
    enforce NetworkPolicy; the README says so)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "tether-no-network", "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": {"tether.network": "none"}},
            "policyTypes": ["Ingress", "Egress"],
        },
    }


def _kube_quantity(value: str) -> str:
    """Podman's "2g" as Kubernetes' "2Gi"."""
    match = re.fullmatch(r"(\d+)([kmg]?)b?", value.strip().lower())
    if match is None:
        return value
    number, unit = match.groups()
    return number + {"": "", "k": "Ki", "m": "Mi", "g": "Gi"}[unit]


def _kube_label(key: str) -> str:
    return key if "/" in key else key.replace("_", "-")


def _kube_value(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", value)[:63].strip("-_.") or "x"
