"""The bytes a file held before a command, taken from git when Tether had not read them yet.

A big workspace's files are read in the background after its first snapshot
(`server.edits.tracked`); a command that changes a file before that reading reached it leaves
only the file's stat in the baseline. When the root is a git repository, its index often
vouches for the old bytes: git records each tracked file's stat (size, mtime and ctime to the
nanosecond, inode) together with the blob it hashed from that file. If the baseline's stat is
the one the index recorded, the file has not been written since git hashed it (a write changes
ctime, which nothing can set back), so its bytes were that blob's. The rules, each needed:

- the index is the one that was there before the command (`IndexStamp` taken by `begin`, the
  same inode, size, mtime and ctime after it): a command may rewrite the index (`git add` is
  allowed), and an index it wrote could vouch for bytes of its choosing;
- it is also the index there was when the root's first walk ended (`server.edits.tracked`
  keeps that), before any command ran: one written since, by a command or a sandboxed MCP
  server, may hold a forged entry (a file's current stat with a blob of its choosing), which
  later `git add`s by the user keep, and which would restore its bytes in a revert;
- the entry's blob is also the one HEAD has at that path (a staged change is not used): an
  index forged before this server started (by a command of an earlier session) is not seen
  by the rule above, and passing this one too takes a commit, which the history shows;
- the entry is at stage 0, a regular file (100644/100755), without assume-unchanged,
  skip-worktree or intent-to-add, and not racily clean (its mtime is older than the index's,
  git's own rule for trusting a stat);
- no `filter` or `working-tree-encoding` attribute applies (those make the worktree bytes
  differ from the blob's at the same size); end-of-line conversion and `ident` only add or
  remove bytes, so the blob's size must equal the file's;
- the blob is read with `git cat-file --batch` and its object id recomputed here (a command may
  write `.git/objects`; git does not check what it reads).

`.git` must be a directory at the root (a worktree's `.git` file and nested repositories are
not consulted). git runs without hooks, fsmonitor or optional locks, and with the user's own
configuration (the sandbox keeps `.git/config` from commands).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from server.edits.blobs import BlobStore
from server.edits.snapshot import ManifestEntry

GIT_TIMEOUT_S = 60.0
PATHS_PER_CALL = 500
"""Paths per `git ls-files` call (the argument list stays short)."""
_NS = 1_000_000_000
_U32 = 0xFFFFFFFF
_UNTRUSTED_FLAGS = 0x8000 | 0x4000 | (1 << 29) | (1 << 30)
"""assume-unchanged, extended, intent-to-add, skip-worktree (git's `ce_flags`)."""
_TRANSFORMING = ("filter", "working-tree-encoding")


@dataclass(frozen=True)
class IndexStamp:
    """The stat of `<root>/.git/index` when a command began."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


def index_stamp(root: Path) -> IndexStamp | None:
    """The root's index as it is now; None when the root has no `.git` directory or index."""
    try:
        if not stat.S_ISDIR(os.lstat(root / ".git").st_mode):
            return None
        info = os.lstat(root / ".git" / "index")
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return IndexStamp(info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def originals_from_git(
    root: Path,
    wanted: Mapping[str, ManifestEntry],
    before: IndexStamp,
    blobs: BlobStore,
    cap: int,
) -> dict[str, str]:
    """rel -> digest (stored in `blobs`) of each `wanted` file's bytes at its baseline stat,
    for those git's index vouches for (see the module docstring); never raises."""
    if not wanted or index_stamp(root) != before or shutil.which("git") is None:
        return {}
    try:
        oids = _vouched(root, wanted, before)
        oids = {rel: oid for rel, oid in oids.items() if rel in _in_head(root, oids)}
        oids = {rel: oid for rel, oid in oids.items() if rel not in _transformed(root, oids)}
        return _store_blobs(root, oids, wanted, blobs, cap)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", "/"),
        "GIT_DIR": str(root / ".git"),
        "GIT_WORK_TREE": str(root),
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    command = ["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", *args]
    done = subprocess.run(
        command,
        cwd=root,
        env=env,
        input=data,
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        check=True,
        stdin=None if data is not None else subprocess.DEVNULL,
    )
    return done.stdout


def _vouched(root: Path, wanted: Mapping[str, ManifestEntry], index: IndexStamp) -> dict[str, str]:
    """rel -> blob id of the wanted files whose index entry records their baseline stat."""
    rels = sorted(wanted)
    found: dict[str, str] = {}
    for start in range(0, len(rels), PATHS_PER_CALL):
        chunk = rels[start : start + PATHS_PER_CALL]
        out = _git(root, "ls-files", "--stage", "--debug", "-z", "--", *chunk)
        for rel, oid, fields in _entries(out):
            entry = wanted.get(rel)
            if entry is not None and _same_stat(entry, fields) and entry.mtime_ns < index.mtime_ns:
                found[rel] = oid
    return found


def _entries(out: bytes) -> Iterator[tuple[str, str, dict[str, int]]]:
    """(path, blob id, stat fields) of each stage-0 regular-file entry `ls-files --stage
    --debug -z` printed: `<mode> <oid> <stage>\\t<path>\\0` then five `  name: value` lines."""
    at = 0
    while at < len(out):
        end = out.index(b"\0", at)
        head, _, path = out[at:end].partition(b"\t")
        lines: list[bytes] = []
        at = end + 1
        for _line in range(5):
            end = out.index(b"\n", at)
            lines.append(out[at:end])
            at = end + 1
        mode, oid, stage = head.split(b" ")
        fields = _fields(lines)
        if stage != b"0" or mode not in (b"100644", b"100755"):
            continue
        if fields.get("flags", 0) & _UNTRUSTED_FLAGS:
            continue
        yield os.fsdecode(path), oid.decode("ascii"), fields


def _fields(lines: list[bytes]) -> dict[str, int]:
    """`ctime: 1:2`, `dev: 3\\tino: 4`, `size: 5\\tflags: 6` -> {"ctime": 1 s + 2 ns, ...}."""
    fields: dict[str, int] = {}
    for line in lines:
        for part in line.strip().split(b"\t"):
            name, _, value = part.partition(b": ")
            key = name.decode("ascii")
            if key in ("ctime", "mtime"):
                seconds, _, nanos = value.partition(b":")
                fields[key] = int(seconds) * _NS + int(nanos or b"0")
            elif key == "flags":
                fields[key] = int(value, 16)
            else:
                fields[key] = int(value)
    return fields


def _same_stat(entry: ManifestEntry, fields: Mapping[str, int]) -> bool:
    """Whether git recorded exactly this stat (it keeps 32 bits of size and inode)."""
    return (
        fields.get("size") == entry.size & _U32
        and fields.get("ino") == entry.inode & _U32
        and fields.get("mtime") == entry.mtime_ns
        and fields.get("ctime") == entry.ctime_ns
    )


def _in_head(root: Path, oids: Mapping[str, str]) -> set[str]:
    """The paths whose index blob is HEAD's blob there too (a path holding a newline cannot be
    asked for, and is left out)."""
    rels = [rel for rel in oids if "\n" not in rel]
    if not rels:
        return set()
    data = b"".join(b"HEAD:" + os.fsencode(rel) + b"\n" for rel in rels)
    out = _git(root, "cat-file", "--batch-check=%(objectname)", data=data).split(b"\n")
    return {rel for rel, line in zip(rels, out, strict=False) if line == oids[rel].encode()}


def _transformed(root: Path, oids: Mapping[str, str]) -> set[str]:
    """The paths a `filter` or `working-tree-encoding` attribute applies to."""
    if not oids:
        return set()
    data = b"".join(os.fsencode(rel) + b"\0" for rel in oids)
    out = _git(root, "check-attr", "--stdin", "-z", *_TRANSFORMING, data=data).split(b"\0")
    return {
        os.fsdecode(out[i])
        for i in range(0, len(out) - 2, 3)
        if out[i + 2] not in (b"unspecified", b"unset")
    }


def _store_blobs(
    root: Path,
    oids: Mapping[str, str],
    wanted: Mapping[str, ManifestEntry],
    blobs: BlobStore,
    cap: int,
) -> dict[str, str]:
    """Read each blob, check its size and object id, and keep it: rel -> digest."""
    rels = [rel for rel, _oid in oids.items() if wanted[rel].size <= cap]
    if not rels:
        return {}
    data = b"".join(oids[rel].encode("ascii") + b"\n" for rel in rels)
    out = _git(root, "cat-file", "--batch", data=data)
    stored: dict[str, str] = {}
    at = 0
    for rel in rels:
        end = out.index(b"\n", at)
        header = out[at:end].split(b" ")
        at = end + 1
        if len(header) != 3:
            continue  # "<oid> missing"
        size = int(header[2])
        content = out[at : at + size]
        at += size + 1
        with contextlib.suppress(ValueError):
            if header[1] == b"blob" and size == wanted[rel].size and _is(oids[rel], content):
                stored[rel] = blobs.put(content)
    return stored


def _is(oid: str, content: bytes) -> bool:
    """Whether `content` is the blob `oid` (SHA-1 or SHA-256 repositories)."""
    algorithm = {40: hashlib.sha1, 64: hashlib.sha256}.get(len(oid))
    if algorithm is None:
        return False
    return algorithm(b"blob %d\0" % len(content) + content).hexdigest() == oid
