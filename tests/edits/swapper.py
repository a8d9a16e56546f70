"""A process that swaps a directory for a symlink and back as fast as it can, for race tests:
what a command that outlives its turn could do while Tether writes."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

SWAPPER = """
import ctypes, os, sys
os.chdir(sys.argv[1])
os.symlink(sys.argv[2], "link")
exchange = ctypes.CDLL(None, use_errno=True).renameat2
print("swapping", flush=True)
while True:  # "d" is always there: the real directory or, atomically swapped in, the symlink
    exchange(-100, b"d", -100, b"link", 2)  # AT_FDCWD, RENAME_EXCHANGE
"""


@contextlib.contextmanager
def swapping(parent: Path, outside: Path) -> Iterator[None]:
    """While inside, `parent/d` (a directory) keeps trading places with a symlink to `outside`."""
    process = subprocess.Popen(
        [sys.executable, "-c", SWAPPER, str(parent), str(outside)], stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == b"swapping\n"
        yield
    finally:
        process.kill()
        process.wait()
