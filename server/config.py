"""Settings: initializationOptions > environment > TETHER_HOME/config.toml > defaults.

Forgiving like jedi-language-server's options: each source is decoded by `msgspec.convert` into
its type (`InitializationOptions` from the protocol, `FileSettings`, `EnvironmentSettings`) in
one function, `decode_settings`; a bad value falls back to the next source (at last the
default) and leaves a warning the server shows to the user. The API key is read
from the environment only, so it never lands in a settings file or in logs.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

import msgspec

from protocol.base import Mode, WireApi
from protocol.initialize import InitializationOptions, NonBlank
from sandbox.containers import ContainerConfig
from sandbox.launchers import LauncherSetting
from server.hooks.config import HookCommand

MODES: tuple[Mode, ...] = get_args(Mode)
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
    hooks: dict[str, Any] | None = None
    """config.toml's `[hooks]` table: Claude Code's `{Event: [groups]}` (`server.hooks.config`)."""
    hooks_import_claude: bool = False
    """Also run the hooks of Claude Code's settings files (~/.claude, <root>/.claude)."""
    max_subagents: int = 3
    """Sub-agents of one turn that run at once (`server.agent.subagents`); more wait."""
    max_subagent_depth: int = 1
    """How deep sub-agents nest: 1, only the thread you talk to spawns; 2, its children too."""
    client_hooks: tuple[HookCommand, ...] = ()
    """Hooks the client declared in `initialize` and runs itself (`server.hooks.config`)."""
    executor: ContainerConfig = field(default_factory=ContainerConfig)
    """Where commands run: `[executor]` in config.toml (`sandbox.executor`)."""
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


PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]
PositiveBytes = Annotated[int, msgspec.Meta(gt=0)]
Count = Annotated[int, msgspec.Meta(ge=0)]
ExecutorKindSetting = Literal["local", "podman", "kubernetes"]


class ExecutorTable(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """`[executor]`: `kind` and the container's image and limits (`ContainerConfig`)."""

    kind: ExecutorKindSetting | None = None
    image: NonBlank | None = None
    runtime: NonBlank | None = None
    cgroup_manager: NonBlank | None = None
    memory: NonBlank | None = None
    cpus: Annotated[float, msgspec.Meta(gt=0)] | None = None
    pids: Annotated[int, msgspec.Meta(ge=16)] | None = None
    nofile: Annotated[int, msgspec.Meta(ge=64)] | None = None
    tmp_size: NonBlank | None = None
    namespace: NonBlank | None = None
    service_account: NonBlank | None = None
    storage_class: NonBlank | None = None
    workspace_size: NonBlank | None = None
    git_url: NonBlank | None = None
    workload: Literal["pod", "job"] | None = None


class FileSettings(msgspec.Struct, omit_defaults=True):
    """`config.toml`: snake_case keys, every one optional."""

    model: NonBlank | None = None
    base_url: NonBlank | None = None
    wire_api: WireApi | None = None
    default_mode: Mode | None = None
    models: list[str] | None = None
    context_window: Count | None = None
    compact_threshold: Annotated[float, msgspec.Meta(ge=0.2, le=1.0)] | None = None
    command_timeout_s: PositiveSeconds | None = None
    command_output_cap: Count | None = None
    request_timeout_s: PositiveSeconds | None = None
    max_retries: Count | None = None
    sandbox_launcher: LauncherSetting | None = None
    workspace_growth_cap: PositiveBytes | None = None
    tmp_cap: PositiveBytes | None = None
    hooks: dict[str, Any] | None = None
    hooks_import_claude: bool | None = None
    max_subagents: Annotated[int, msgspec.Meta(ge=1, le=16)] | None = None
    max_subagent_depth: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None
    executor: ExecutorTable | None = None


class EnvironmentSettings(
    msgspec.Struct,
    omit_defaults=True,
    rename={
        "base_url": "OPENAI_BASE_URL",
        "model": "TETHER_MODEL",
        "wire_api": "TETHER_WIRE_API",
        "home": "TETHER_HOME",
        "sandbox_launcher": "TETHER_SANDBOX_LAUNCHER",
        "executor_kind": "TETHER_EXECUTOR",
        "executor_image": "TETHER_EXECUTOR_IMAGE",
        "executor_workload": "TETHER_EXECUTOR_WORKLOAD",
    },
):
    """The environment variables Tether reads for its settings (the API key aside)."""

    base_url: NonBlank | None = None
    model: NonBlank | None = None
    wire_api: WireApi | None = None
    home: NonBlank | None = None
    sandbox_launcher: LauncherSetting | None = None
    executor_kind: ExecutorKindSetting | None = None
    executor_image: NonBlank | None = None
    executor_workload: Literal["pod", "job"] | None = None


S = TypeVar("S", InitializationOptions, FileSettings, EnvironmentSettings)


def decode_settings(raw: dict[str, Any], cls: type[S], source: str, warns: list[str]) -> S:
    """`raw` as `cls` (msgspec.convert, the types' own constraints), one key at a time, so that
    an unknown key or a bad value is left out with a warning and that setting falls back to the
    next source, while the good ones apply."""
    names = {f.encode_name for f in msgspec.structs.fields(cls)}
    good: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            warns.append(f"{source}: unknown setting `{key}` ignored")
        elif value is not None:
            try:
                msgspec.convert({key: value}, cls)
            except msgspec.ValidationError as exc:
                warns.append(f"{source}: `{key}` = {value!r} ignored ({exc})")
            else:
                good[key] = value
    return msgspec.convert(good, cls)


def _set(values: dict[str, Any], decoded: msgspec.Struct) -> None:
    """The settings `decoded` gives, over those in `values`."""
    for name in decoded.__struct_fields__:
        value = getattr(decoded, name)
        if value is None:
            continue
        if isinstance(value, str) and name != "home":
            value = value.strip()
        values[name] = tuple(value) if isinstance(value, list) else value


def load_settings(
    options: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Resolve the settings from every source, highest precedence last applied."""
    env = dict(os.environ if environ is None else environ)
    warns: list[str] = []
    # `home` decides where config.toml lives, so the environment and options come first.
    from_env = decode_settings(
        {k: env[k] for k in _ENV_NAMES if env.get(k)}, EnvironmentSettings, "environment", warns
    )
    from_options = decode_settings(
        dict(options or {}), InitializationOptions, "initializationOptions", warns
    )
    home_text = from_options.home or from_env.home
    home = Path(home_text).expanduser() if home_text else Path.home() / ".tether"
    values: dict[str, Any] = {}
    config_file = home / "config.toml"
    if config_file.is_file():
        try:
            raw = tomllib.loads(config_file.read_text())
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            warns.append(f"{config_file}: not read ({exc}); using defaults")
        else:
            raw.pop("mcp_servers", None)  # its own reader: server.mcp.config
            _set(values, decode_settings(raw, FileSettings, str(config_file), warns))
    executor = values.pop("executor", ExecutorTable())
    _set(values, from_env)
    _set(values, from_options)
    values["executor"] = _executor_config(executor, values)
    values["home"] = home
    values["api_key"] = env.get("OPENAI_API_KEY") or None
    return Settings(**values, warnings=tuple(warns))


def _executor_config(table: ExecutorTable, values: dict[str, Any]) -> ContainerConfig:
    """config.toml's `[executor]`, with TETHER_EXECUTOR, TETHER_EXECUTOR_IMAGE and
    TETHER_EXECUTOR_WORKLOAD over it (`tether exec --executor`)."""
    chosen = {k: v for k, v in msgspec.structs.asdict(table).items() if v is not None}
    for name in ("kind", "image", "workload"):
        if (value := values.pop(f"executor_{name}", None)) is not None:
            chosen[name] = value
    return ContainerConfig(**chosen)


_ENV_NAMES = tuple(f.encode_name for f in msgspec.structs.fields(EnvironmentSettings))
