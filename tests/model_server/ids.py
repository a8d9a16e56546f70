"""Unique ids in OpenAI's style (`resp_…`, `msg_…`, `call_…`) for scripted replies."""

from __future__ import annotations

import itertools
import os

# A per-process prefix keeps ids unique across servers started by different processes.
_PROCESS = os.getpid() % 0x10000
_counter = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{_PROCESS:04x}{next(_counter):08d}"
