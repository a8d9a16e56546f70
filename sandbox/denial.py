"""Guess, from a failed command's output, whether the sandbox (not the command) said no.

The guess lets the server offer an escalation: rerun with network, or with writes outside the
roots. It only reads the output; a false hint costs one question to the user, never access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

DenialKind = Literal["write", "network"]

_NETWORK = re.compile(
    r"Network is unreachable|Temporary failure in name resolution|Could not resolve host"
    r"|Name or service not known|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|ENETUNREACH|EAI_AGAIN"
    r"|No address associated with hostname|Failed to establish a new connection"
    r"|socket: Permission denied|Cannot assign requested address|nodename nor servname"
    # Inside the sandbox's network namespace even the host's loopback services are gone, so a
    # refused connection is what a sandboxed `curl localhost:3000` sees.
    r"|Connection refused|ECONNREFUSED",
)
_WRITE = re.compile(r"Read-only file system|EROFS|Permission denied|EACCES|Operation not permitted")


@dataclass(frozen=True)
class Denial:
    """`kind` is what to escalate; `evidence` is the output line that suggested it."""

    kind: DenialKind
    evidence: str


def detect_denial(output: str, exit_code: int) -> Denial | None:
    if exit_code == 0:
        return None
    for kind, pattern in (("network", _NETWORK), ("write", _WRITE)):
        for line in reversed(output.splitlines()):
            if pattern.search(line):
                found: DenialKind = "network" if kind == "network" else "write"
                return Denial(found, line.strip()[:300])
    return None
