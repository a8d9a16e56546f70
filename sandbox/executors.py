"""The executor a thread gets, from `[executor]` in config.toml (`sandbox.executor`).

Podman and Kubernetes are imported only when chosen: the Kubernetes client is an optional extra.
"""

from __future__ import annotations

from sandbox.containers import ContainerConfig
from sandbox.executor import Executor, LocalExecutor


def make_executor(config: ContainerConfig, thread_id: str) -> Executor:
    """The executor `config` (`[executor]` in config.toml) asks for, for one thread."""
    if config.kind == "podman":
        from sandbox.podman import PodmanExecutor

        return PodmanExecutor(config, thread_id)
    if config.kind == "kubernetes":
        from sandbox.kubernetes import KubernetesExecutor

        return KubernetesExecutor(config, thread_id)
    return LocalExecutor()
