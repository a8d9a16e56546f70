"""Settings: initializationOptions > environment > TETHER_HOME/config.toml > defaults.

Forgiving like jedi-language-server's options: every setting is typed with a default, a bad value
falls back to the default and leaves a warning the server shows to the user. The API key is read
from the environment only, so it never lands in a settings file or in logs.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args

from protocol.base import Mode, WireApi
from sandbox.launchers import LAUNCHER_SETTINGS, LauncherSetting

MODES: tuple[Mode, ...] = get_args(Mode)
WIRE_APIS: tuple[WireApi, ...] = get_args(WireApi)
OFFICIAL_DEFAULT_MODEL = "gpt-5-codex"
"""Used only when no base URL is set, i.e. against OpenAI itself."""


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path.home() / ".tether")
    model: str | None = None
    base_url: str | None = None
    wire_api: WireApi = "responses"
    default_mode: Mode = "readOnly"
    api_key: str | None = field(default=None, repr=False)
    models: tuple[str, ...] = ()
    """Extra model ids offered by `model/list`, besides what the endpoint lists."""
    context_window: int | None = None
    """The model's context window in tokens, when the endpoint does not tell."""
    compact_threshold: float = 0.9
    command_timeout_s: float = 300.0
    command_output_cap: int = 1_000_000
    """Bytes of command output kept (head and tail); the model sees a smaller slice."""
    request_timeout_s: float = 600.0
    max_retries: int = 4
    sandbox_launcher: LauncherSetting = "auto"
    """The command sandbox: the strongest that works ("auto"), or "bwrap", "landlock", "none"."""
    workspace_growth_cap: int = 10 * 1024**3
    """Bytes the workspace's disk may fill up by during one command before it is killed."""
    tmp_cap: int = 4 * 1024**3
    """Bytes a command's private /tmp may hold before it is killed."""
    warnings: tuple[str, ...] = ()

    @property
    def effective_model(self) -> str | None:
        return self.model or (None if self.base_url else OFFICIAL_DEFAULT_MODEL)

    def endpoint_problem(self) -> str | None:
        """Why no model call can be made, in words that say how to fix it; None when ready."""
        if not self.api_key and not self.base_url:
            return (
                "No model endpoint is configured. Set OPENAI_API_KEY for OpenAI, or "
                "OPENAI_BASE_URL (with TETHER_MODEL, and TETHER_WIRE_API=chat for Chat "
                "Completions servers such as Ollama, vLLM or llama.cpp) for another "
                "OpenAI-compatible endpoint; or set baseUrl "
                f"and model in the client's settings or in {self.home / 'config.toml'}."
            )
        if not self.effective_model:
            return (
                f"No model is configured for {self.base_url}. Set TETHER_MODEL, the client's "
                f"`model` setting, or `model` in {self.home / 'config.toml'}."
            )
        return None


_FILE_KEYS = {
    "model": "model",
    "base_url": "base_url",
    "wire_api": "wire_api",
    "default_mode": "default_mode",
    "models": "models",
    "context_window": "context_window",
    "compact_threshold": "compact_threshold",
    "command_timeout_s": "command_timeout_s",
    "command_output_cap": "command_output_cap",
    "request_timeout_s": "request_timeout_s",
    "max_retries": "max_retries",
    "sandbox_launcher": "sandbox_launcher",
    "workspace_growth_cap": "workspace_growth_cap",
    "tmp_cap": "tmp_cap",
}
_OPTION_KEYS = {
    "model": "model",
    "baseUrl": "base_url",
    "wireApi": "wire_api",
    "defaultMode": "default_mode",
    "home": "home",
}
_ENV_KEYS = {
    "OPENAI_BASE_URL": "base_url",
    "TETHER_MODEL": "model",
    "TETHER_WIRE_API": "wire_api",
    "TETHER_HOME": "home",
    "TETHER_SANDBOX_LAUNCHER": "sandbox_launcher",
}


def _check(name: str, value: Any) -> Any:
    """Coerce one raw value to the setting's type; raise ValueError saying what is expected."""
    if name in ("model", "base_url"):
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected a non-empty string")
        return value.strip()
    if name == "home":
        if not isinstance(value, str) or not value:
            raise ValueError("expected a path")
        return Path(value).expanduser()
    if name == "wire_api":
        if value not in WIRE_APIS:
            raise ValueError(f"expected one of {', '.join(WIRE_APIS)}")
        return value
    if name == "default_mode":
        if value not in MODES:
            raise ValueError(f"expected one of {', '.join(MODES)}")
        return value
    if name == "sandbox_launcher":
        if value not in LAUNCHER_SETTINGS:
            raise ValueError(f"expected one of {', '.join(LAUNCHER_SETTINGS)}")
        return value
    if name == "models":
        if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
            raise ValueError("expected a list of model ids")
        return tuple(value)
    if name == "compact_threshold":
        if not isinstance(value, int | float) or not 0.2 <= float(value) <= 1.0:
            raise ValueError("expected a number between 0.2 and 1.0")
        return float(value)
    if name in ("command_timeout_s", "request_timeout_s"):
        if not isinstance(value, int | float) or value <= 0:
            raise ValueError("expected a positive number of seconds")
        return float(value)
    if name in ("workspace_growth_cap", "tmp_cap"):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError("expected a positive number of bytes")
        return value
    if name in ("context_window", "command_output_cap", "max_retries"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("expected a non-negative integer")
        return value
    raise ValueError("unknown setting")


def _merge(
    base: dict[str, Any], raw: dict[str, Any], keys: dict[str, str], source: str, warns: list[str]
) -> None:
    for key, value in raw.items():
        name = keys.get(key)
        if name is None:
            warns.append(f"{source}: unknown setting `{key}` ignored")
            continue
        if value is None:
            continue
        try:
            base[name] = _check(name, value)
        except ValueError as exc:
            warns.append(f"{source}: `{key}` = {value!r} ignored ({exc})")


def load_settings(
    options: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Resolve the settings from every source, highest precedence last applied."""
    env = dict(os.environ if environ is None else environ)
    warns: list[str] = []
    values: dict[str, Any] = {}
    # `home` decides where config.toml lives, so resolve it first.
    env_values: dict[str, Any] = {}
    _merge(
        env_values, {k: env[k] for k in _ENV_KEYS if env.get(k)}, _ENV_KEYS, "environment", warns
    )
    opt_values: dict[str, Any] = {}
    _merge(opt_values, dict(options or {}), _OPTION_KEYS, "initializationOptions", warns)
    home = opt_values.get("home") or env_values.get("home") or Path.home() / ".tether"
    config_file = home / "config.toml"
    if config_file.is_file():
        try:
            _merge(
                values, tomllib.loads(config_file.read_text()), _FILE_KEYS, str(config_file), warns
            )
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            warns.append(f"{config_file}: not read ({exc}); using defaults")
    values.update(env_values)
    values.update(opt_values)
    values["home"] = home
    values["api_key"] = env.get("OPENAI_API_KEY") or None
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known}, warnings=tuple(warns))
