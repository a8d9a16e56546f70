"""Fails when the environment installed from requirements.lock.txt misses or contradicts a
requirement of pyproject.toml (runtime, dev or build): someone changed a dependency and did not
run `make lock`. Installing from the lock with --no-deps would otherwise pass silently and break
at the first import. Run with the environment's interpreter from the repository root."""

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import Requirement


def main() -> int:
    with open("pyproject.toml", "rb") as f:
        project = tomllib.load(f)
    wanted = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    wrong: list[str] = []
    for req in map(Requirement, wanted):
        if req.marker and not req.marker.evaluate():
            continue
        try:
            have = version(req.name)
        except PackageNotFoundError:
            wrong.append(f"{req}: not in the lock")
            continue
        if not req.specifier.contains(have, prereleases=True):
            wrong.append(f"{req}: the lock has {have}")
    for line in wrong:
        print(f"setup(python): {line}", file=sys.stderr)
    if wrong:
        print(
            "setup(python): requirements.lock.txt is behind pyproject.toml; run `make lock`",
            file=sys.stderr,
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
