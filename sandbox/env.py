"""The environment a command runs with: the caller's, minus anything that looks like a secret.

A name is dropped when any of its `_`-separated words contains KEY, TOKEN, SECRET, PASSWORD
(or the usual short forms), case-insensitively, and always when it is the model's key or one the
caller names. Values are not inspected: a secret in an innocent name is the caller's to remove.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Names that carry credentials without saying so.
ALWAYS_REMOVED: frozenset[str] = frozenset(
    {
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "ANTHROPIC_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "SSH_AUTH_SOCK",
        "GPG_AGENT_INFO",
        "DOCKER_AUTH_CONFIG",
        "KUBECONFIG",
        "NETRC",
        "PGPASSFILE",
        "DATABASE_URL",
    }
)

_SECRET_WORD = re.compile(
    r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|PRIVATE",
)
# Words that contain a secret marker but name nothing secret.
_HARMLESS_NAMES: frozenset[str] = frozenset({"KEYTIMEOUT"})


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    if upper in ALWAYS_REMOVED:
        return True
    if upper in _HARMLESS_NAMES:
        return False
    return _SECRET_WORD.search(upper) is not None


def scrub_env(env: Mapping[str, str], extra_names: Iterable[str] = ()) -> dict[str, str]:
    """Return a copy of `env` without secret-looking names, `ALWAYS_REMOVED` and `extra_names`."""
    extra = {name.upper() for name in extra_names}
    return {
        name: value
        for name, value in env.items()
        if name.upper() not in extra and not is_secret_name(name)
    }
