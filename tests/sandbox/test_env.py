"""scrub_env: secrets never reach a command's environment."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sandbox.env import scrub_env


def test_secret_names_are_removed_and_the_rest_kept() -> None:
    env = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "OPENAI_API_KEY": "sk-1",
        "GITHUB_TOKEN": "t",
        "my_secret": "s",
        "DB_PASSWORD": "p",
        "AWS_ACCESS_KEY_ID": "a",
        "SSH_AUTH_SOCK": "/run/agent",
        "NPM_AUTH": "x",
        "CI_JOB_TOKEN_FILE": "/f",
    }
    assert scrub_env(env) == {"PATH": "/usr/bin", "HOME": "/home/u", "LANG": "C.UTF-8"}


def test_extra_names_are_removed_case_insensitively() -> None:
    assert scrub_env({"MY_VAR": "1", "OTHER": "2"}, extra_names=["my_var"]) == {"OTHER": "2"}


def test_input_is_not_modified() -> None:
    env = {"OPENAI_API_KEY": "sk", "PATH": "/bin"}
    scrub_env(env)
    assert env == {"OPENAI_API_KEY": "sk", "PATH": "/bin"}


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=0, max_size=8))
def test_any_name_containing_a_marker_is_removed(affix: str) -> None:
    for marker in ("KEY", "TOKEN", "SECRET", "PASSWORD"):
        assert scrub_env({f"{affix}{marker}{affix}": "v"}) == {}
