"""The generated schema and TypeScript are the same bytes whichever supported Python and msgspec
produce them: every available interpreter (3.11, 3.12, 3.13) generates in a throwaway virtual
environment holding the locked msgspec, and this interpreter also with the oldest and the newest
msgspec pyproject.toml allows. Each output is compared with this process's own rendering."""

from __future__ import annotations

import difflib
import glob
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable

import pytest
from packaging.requirements import Requirement
from uv import find_uv_bin

from protocol import export

ROOT = export.ROOT
LOCK = ROOT / "requirements.lock.txt"
MINORS = (11, 12, 13)

# Run inside each throwaway environment, with the checkout on PYTHONPATH: write both texts.
GENERATE = """
import pathlib, sys
from protocol import export
out = pathlib.Path(sys.argv[1])
schema = export.render_schema()
(out / "schema.json").write_text(schema, encoding="utf-8")
(out / "generated.ts").write_text(export.render_typescript(schema), encoding="utf-8")
"""


def locked_requirement(name: str) -> str:
    """The lock's entry for `name`: its exact version and the hashes of all its files."""
    lines = LOCK.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}=="))
    entry = [lines[start].rstrip(" \\")]
    for line in lines[start + 1 :]:
        if not line.strip().startswith("--hash="):
            break
        entry.append(line.strip().rstrip(" \\"))
    return " ".join(entry)


def msgspec_range() -> Requirement:
    with (ROOT / "pyproject.toml").open("rb") as f:
        deps: list[str] = tomllib.load(f)["project"]["dependencies"]
    return next(r for r in map(Requirement, deps) if r.name == "msgspec")


def oldest_allowed(req: Requirement) -> str:
    (floor,) = [s.version for s in req.specifier if s.operator == ">="]
    return f"msgspec=={floor}"


def find_python(minor: int) -> str | None:
    """An interpreter for 3.<minor>: on PATH, or one pyenv installed (its shims on PATH only
    answer for the versions pyenv has selected)."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [shutil.which(f"python3.{minor}")]
    candidates += sorted(glob.glob(f"{pyenv}/versions/3.{minor}.*/bin/python3.{minor}"))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", f"import sys; sys.exit(sys.version_info[:2] != (3, {minor}))"],
            capture_output=True,
        )
        if probe.returncode == 0:
            return candidate
    return None


Generate = Callable[[str, str], dict[str, str]]


@pytest.fixture(scope="session")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Generate:
    """Builds a throwaway environment for (interpreter, msgspec requirement), once per run, and
    returns what protocol.export renders in it. uv installs (a dev dependency, and its cache
    keeps the wheels across runs where pip's HTTP cache may not)."""
    built: dict[tuple[str, str], dict[str, str]] = {}

    def run(python: str, requirement: str) -> dict[str, str]:
        if (python, requirement) in built:
            return built[python, requirement]
        work = tmp_path_factory.mktemp("generation")
        venv = work / "venv"
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
        req_file = work / "requirements.txt"
        req_file.write_text(requirement + "\n", encoding="utf-8")
        hashed = ["--require-hashes"] if "--hash=" in requirement else []
        uv = [find_uv_bin(), "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        install = subprocess.run(
            [*uv, "--no-deps", *hashed, "-r", str(req_file)], capture_output=True, text=True
        )
        assert install.returncode == 0, f"installing {requirement}:\n{install.stderr}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", GENERATE, str(work)],
            cwd=ROOT,
            env=env,
            check=True,
        )
        out = {
            name: (work / name).read_text(encoding="utf-8")
            for name in ("schema.json", "generated.ts")
        }
        built[python, requirement] = out
        return out

    return run


@pytest.fixture(scope="session")
def reference() -> dict[str, str]:
    if not export.JSON2TS.exists():
        pytest.fail("json2ts is not installed: run vscode-client/scripts/setup.sh")
    schema = export.render_schema()
    return {"schema.json": schema, "generated.ts": export.render_typescript(schema)}


def assert_same(got: dict[str, str], reference: dict[str, str], label: str) -> None:
    for name, text in reference.items():
        if got[name] != text:
            diff = difflib.unified_diff(
                text.splitlines(), got[name].splitlines(), "this process", label, lineterm=""
            )
            pytest.fail(f"{name} differs under {label}:\n" + "\n".join(list(diff)[:60]))


@pytest.mark.parametrize("minor", MINORS, ids=[f"python3.{m}" for m in MINORS])
def test_every_python_generates_the_same_bytes(
    minor: int, generate: Generate, reference: dict[str, str]
) -> None:
    python = find_python(minor)
    if python is None:
        pytest.skip(f"python3.{minor} is not installed (looked on PATH and in pyenv's versions)")
    got = generate(python, locked_requirement("msgspec"))
    assert_same(got, reference, f"python3.{minor} with the locked msgspec")


@pytest.mark.parametrize("bound", ["oldest", "newest"])
def test_every_allowed_msgspec_generates_the_same_bytes(
    bound: str, generate: Generate, reference: dict[str, str]
) -> None:
    allowed = msgspec_range()
    requirement = oldest_allowed(allowed) if bound == "oldest" else str(allowed)
    got = generate(sys.executable, requirement)
    assert_same(got, reference, f"python{sys.version_info[0]}.{sys.version_info[1]}, {requirement}")


def test_descriptions_are_cleaned_and_unordered_lists_sorted() -> None:
    # What Python 3.12 with msgspec 0.22 emits for a two-line docstring, against 3.13's text.
    raw = {
        "description": "First line.\n\n    More, indented.\n    ",
        "required": ["b", "a"],
        "anyOf": [{"type": "null"}, {"$ref": "#/definitions/A"}],
        "properties": {"x": {"description": "  X."}},
    }
    assert export._normalise(raw) == {  # pyright: ignore[reportPrivateUsage]
        "description": "First line.\n\nMore, indented.",
        "required": ["a", "b"],
        "anyOf": [{"$ref": "#/definitions/A"}, {"type": "null"}],
        "properties": {"x": {"description": "X."}},
    }
