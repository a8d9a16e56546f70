"""The test image: a root filesystem made from this host's Debian packages, `podman import`ed.

No registry is reachable from the test machines, so the suite cannot pull an image. Instead it
copies the files of a handful of installed packages (bash, coreutils, dash, grep, sed, procps and
the libraries they link) into a directory, in Debian's merged-/usr layout, and imports that tree
as `localhost/tether-test:<digest>`, the digest naming the package versions. About 30 MB and a
few seconds; built once per run (the tree lives in a temporary directory) and reused by every
test, and a later run with the same packages finds the image already there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGES = (
    "bash",
    "dash",
    "coreutils",
    "libc6",
    "grep",
    "sed",
    "findutils",
    "procps",
    "libtinfo6",
    "libselinux1",
    "libpcre2-8-0",
    "libacl1",
    "libattr1",
    "libgmp10",
    "libcrypt1",
    "libgcc-s1",
    "libproc2-0",
    "libsystemd0",
    "libcap2",
    "liblzma5",
    "libzstd1",
    "liblz4-1",
    "libgcrypt20",
    "libgpg-error0",
)
_SKIPPED = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/locale/", "/usr/share/info/")


def _installed() -> dict[str, str]:
    """Package -> version of those of `PACKAGES` installed here (library names differ between
    Debian releases; bash, dash and coreutils are always there)."""
    shown = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n", *PACKAGES],
        capture_output=True,
        text=True,
        check=False,
    )
    found: dict[str, str] = {}
    for line in shown.stdout.splitlines():
        name, version, status = [*line.split(" ", 2), "", ""][:3]
        if status.startswith("ii"):
            found[name] = version
    return found


def _versions() -> str:
    return "".join(f"{name}={version}\n" for name, version in sorted(_installed().items()))


RECIPE = 2
"""Raised when the way the image is made changes, so an old one is not reused."""
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def image_tag() -> str:
    made_of = f"{RECIPE}\n{_versions()}"
    return "localhost/tether-test:" + hashlib.sha256(made_of.encode()).hexdigest()[:12]


def build_rootfs(root: Path) -> None:
    """Copy the packages' files into `root` (merged /usr: /bin is a link to usr/bin)."""
    for directory in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc", "tmp", "root"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    for directory in ("proc", "sys", "dev", "run"):
        (root / directory).mkdir(exist_ok=True)
    for name in ("bin", "sbin", "lib", "lib64"):
        (root / name).symlink_to(f"usr/{name}")
    installed = sorted(_installed())
    listed = subprocess.run(["dpkg", "-L", *installed], capture_output=True, text=True, check=True)
    for line in sorted(set(listed.stdout.splitlines())):
        source = Path(line)
        if line.startswith(_SKIPPED) or not (source.is_symlink() or source.is_file()):
            continue
        target = root / os.path.realpath(source.parent).lstrip("/") / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(target):
            shutil.copy2(source, target, follow_symlinks=False)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"
    )
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (root / "tmp").chmod(0o1777)


def ensure_image(podman: list[str]) -> str:
    """The test image's tag, building and importing it first when this host has none."""
    tag = image_tag()
    if subprocess.run([*podman, "image", "exists", tag], check=False).returncode == 0:
        return tag
    with tempfile.TemporaryDirectory(prefix="tether-rootfs-") as scratch:
        root = Path(scratch, "root")
        build_rootfs(root)
        archive = Path(scratch, "root.tar")
        with tarfile.open(archive, "w") as tar:
            for entry in sorted(root.iterdir()):
                tar.add(entry, arcname=entry.name)
        subprocess.run(
            # An image's own PATH, as registry images have: `podman kube play` uses it as is.
            [*podman, "import", "--quiet", "--change", f"ENV PATH={PATH}", str(archive), tag],
            check=True,
            capture_output=True,
        )
    return tag
