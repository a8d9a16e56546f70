"""`tether executor manifest`: the Kubernetes Pod a thread's commands would run in, as YAML.

    tether executor manifest [--cd DIR] [--add-dir DIR]... [--mode readOnly|agent]
                             [--network] [--job] [--claim NAME] [--image IMAGE] [--name NAME]
    tether executor network-policy [--namespace NS]

The Pod is `sandbox.containers.pod_manifest` of the container the `kubernetes` (and `podman`)
executor makes for the thread: the same mounts, limits, user, capabilities and environment. By
default the workspace roots are hostPath volumes, which `podman kube play` and a one-node cluster
run as they are; `--claim NAME` puts the first root on that PersistentVolumeClaim, as the
executor does in a cluster. `--job` wraps the Pod in the Job `tether exec` batches use.
`network-policy` prints the NetworkPolicy that cuts Pods labelled `tether.network=none` off.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import yaml

from sandbox.containers import LABEL, THREAD_LABEL, network_policy_manifest, spec_for
from sandbox.kubernetes import workload_manifest
from sandbox.policy import DEFAULT_SECRET_PATHS, Policy
from server.config import load_settings


def executor_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tether executor")
    sub = parser.add_subparsers(dest="command", required=True)
    manifest = sub.add_parser("manifest", help="print the Pod a thread's commands run in")
    manifest.add_argument("--cd", "-C", default=None, help="workspace directory (default: cwd)")
    manifest.add_argument("--add-dir", action="append", default=[], help="another root")
    manifest.add_argument("--mode", choices=("readOnly", "agent"), default="agent")
    manifest.add_argument("--network", action="store_true", help="as after a network approval")
    manifest.add_argument("--job", action="store_true", help="a Job running the Pod once")
    manifest.add_argument("--claim", default=None, help="the first root from this claim")
    manifest.add_argument("--image", default=None, help="default: [executor] image")
    manifest.add_argument("--name", default="tether-work", help="the Pod's name")
    network = sub.add_parser("network-policy", help="print the NetworkPolicy for no-network Pods")
    network.add_argument("--namespace", default=None, help="default: [executor] namespace")
    ns = parser.parse_args(argv)
    settings = load_settings()
    for warning in settings.warnings:
        print(f"tether: {warning}", file=sys.stderr)
    config = settings.executor
    if ns.command == "network-policy":
        yaml.safe_dump(network_policy_manifest(ns.namespace or config.namespace), sys.stdout)
        return 0
    config = dataclasses.replace(config, image=ns.image or config.image)
    if not config.image:
        print(
            "tether: no image: set `image` in [executor] of config.toml or pass --image",
            file=sys.stderr,
        )
        return 2
    cwd = Path(ns.cd or os.getcwd()).resolve()
    roots = tuple(dict.fromkeys([cwd, *(Path(r).resolve() for r in ns.add_dir)]))
    if missing := [str(r) for r in roots if not r.is_dir()]:
        # A hostPath volume of a missing directory would be typed a File and fail to mount.
        print(
            f"tether: not a directory: {', '.join(missing)}; pass --cd/--add-dir an existing one",
            file=sys.stderr,
        )
        return 2
    policy = Policy(
        kind="workspaceWrite" if ns.mode == "agent" else "readOnly",
        roots=roots,
        network=ns.network,
        secret_paths=(*DEFAULT_SECRET_PATHS, str(settings.home)),
    )
    labels = {LABEL: "kubernetes", THREAD_LABEL: ns.name}
    spec = spec_for(ns.name, config, policy, cwd=cwd, env=os.environ, labels=labels)
    manifest = workload_manifest(spec, claim=ns.claim, job=ns.job)
    yaml.safe_dump(manifest, sys.stdout, sort_keys=False)
    return 0
