"""Where MCP servers are defined, read into one `ServerDef` each, with the problems found.

Sources, later ones overriding a server of the same name:
- user: `[mcp_servers.<name>]` in `TETHER_HOME/config.toml` (Codex's keys);
- project, per workspace root: `<root>/.mcp.json` (Claude Code's `{"mcpServers": {name: {...}}}`,
  `${VAR}` and `${VAR:-default}` expanded from the environment), then
  `[mcp_servers.<name>]` in `<root>/.tether/config.toml`.

A project's server is code anyone who can write to the repository chose to run on the user's
machine: it starts only once the user trusted its definition (`McpTrust`, the hooks' trust store
in its own file), keyed by the SHA-256 of the definition as written, so any change asks again.
A broken entry is left out with a problem the user is shown; the others still load.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from sandbox.env import is_secret_name
from server.hooks.config import TrustStore

ApprovalMode = Literal["auto", "prompt", "approve"]
APPROVAL_MODES: tuple[ApprovalMode, ...] = ("auto", "prompt", "approve")
DEFAULT_STARTUP_TIMEOUT_S = 30.0
DEFAULT_TOOL_TIMEOUT_S = 120.0
TRUST_FILE = "mcp-trust.json"

_STDIO_KEYS = {"command", "args", "env", "env_vars", "cwd"}
_HTTP_KEYS = {"url", "bearer_token_env_var", "http_headers", "env_http_headers"}
_COMMON_KEYS = {
    "enabled",
    "required",
    "startup_timeout_sec",
    "startup_timeout_ms",
    "tool_timeout_sec",
    "enabled_tools",
    "disabled_tools",
    "tools",
    "default_tools_approval_mode",
    "network",
    "sandbox",
    "type",
}


@dataclass(frozen=True)
class ServerDef:
    """One configured server, as the manager starts it."""

    name: str
    source: str
    """The file that defines it (what the user is shown, and what trust is keyed by)."""
    project: bool
    definition: dict[str, Any]
    """The entry as written (before expansion): what the digest covers."""
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: {})
    env_vars: tuple[str, ...] = ()
    cwd: str | None = None
    url: str | None = None
    bearer_token_env_var: str | None = None
    http_headers: Mapping[str, str] = field(default_factory=lambda: {})
    env_http_headers: Mapping[str, str] = field(default_factory=lambda: {})
    enabled: bool = True
    required: bool = False
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    tool_timeout_s: float = DEFAULT_TOOL_TIMEOUT_S
    enabled_tools: frozenset[str] | None = None
    disabled_tools: frozenset[str] = frozenset()
    approval: Mapping[str, ApprovalMode] = field(default_factory=lambda: {})
    default_approval: ApprovalMode = "auto"
    network: bool = False
    sandboxed: bool = True

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "http" if self.url else "stdio"

    @property
    def digest(self) -> str:
        canonical = json.dumps(
            {"name": self.name, "definition": self.definition},
            sort_keys=True,
            separators=(",", ":"),
            default=str,  # TOML dates and times, which JSON has no type for
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def label(self) -> str:
        """Trust is per server and file: `<file> [mcp_servers.<name>]`."""
        return f"{self.source} [mcp_servers.{self.name}]"

    def offers(self, tool: str) -> bool:
        if self.enabled_tools is not None and tool not in self.enabled_tools:
            return False
        return tool not in self.disabled_tools

    def approval_of(self, tool: str) -> ApprovalMode:
        return self.approval.get(tool, self.default_approval)

    def display(self) -> str:
        """What runs, for the user's eyes: no env values nor headers, and arguments or URL
        parts that look like secrets (`--token X`, `API_KEY=X`, `?key=X`, `user:pass@`) masked.
        Shown as written, before `${VAR}` expansion: `${VAR}` tells what the user trusts,
        its value (the environment's) is not for the client's screen. A project's server
        names the secrets it is given, which the user trusts along with what runs."""
        written = self.definition
        url, command = written.get("url", self.url), written.get("command", self.command)
        args = written.get("args", self.args)
        if self.url:
            shown = mask_url(str(url))
        else:
            shown = " ".join([str(command or ""), *mask_args(str(a) for a in args)]).strip()
        taken = self.secrets_taken() if self.project else []
        return f"{shown} (given {', '.join(taken)} from your environment)" if taken else shown

    def secrets_taken(self) -> list[str]:
        """The secret-looking variables of the user's environment this server is given:
        through `env_vars`, `${VAR}` in `env` or header values, or the token and header keys."""
        named = list(self.env_vars)
        for key in ("env", "http_headers"):
            table = self.definition.get(key)
            for value in table.values() if isinstance(table, dict) else ():
                named += [m.group(1) for m in _VAR.finditer(str(value))]
        tokens = [*self.env_http_headers.values(), *filter(None, [self.bearer_token_env_var])]
        return sorted({*tokens, *filter(is_secret_name, named)})


@dataclass(frozen=True)
class McpConfig:
    servers: dict[str, ServerDef]
    problems: list[str]


def load_mcp_config(
    home: Path, roots: Iterable[Path], environ: Mapping[str, str] | None = None
) -> McpConfig:
    """Every server of every source that exists; problems say what was left out and why."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    servers: dict[str, ServerDef] = {}

    def add(entries: dict[str, Any], source: str, project: bool, expand: bool) -> None:
        for name, entry in entries.items():
            where = f"{source}: server `{name}`"
            if not isinstance(entry, dict):
                problems.append(f"{where} must be a table of settings; left out")
                continue
            try:
                servers[name] = parse_server(name, entry, source, project, env if expand else None)
            except ConfigProblem as exc:
                problems.append(f"{where}: {exc}; left out")

    user_toml = home / "config.toml"
    user_entries = _toml_servers(user_toml, problems)
    overlays = {n: e for n, e in user_entries.items() if _is_overlay(e)}
    add({n: e for n, e in user_entries.items() if n not in overlays}, str(user_toml), False, False)
    for root in roots:
        mcp_json = root / ".mcp.json"
        add(_json_servers(mcp_json, problems), str(mcp_json), True, True)
        project_toml = root / ".tether" / "config.toml"
        add(_toml_servers(project_toml, problems), str(project_toml), True, False)
    for name, overlay in overlays.items():
        if name not in servers:
            continue  # a project's server that is not in this workspace
        try:
            servers[name] = _overlaid(servers[name], overlay)
        except ConfigProblem as exc:
            problems.append(f"{user_toml}: server `{name}`: {exc}; your settings for it ignored")
    return McpConfig(servers, problems)


_OVERLAY_KEYS = {"tools", "default_tools_approval_mode", "enabled"}


def _is_overlay(entry: Any) -> bool:
    """A user's table for a server defined elsewhere (a project's): only approvals and
    `enabled`, no command or url. acceptAlways writes these for project servers."""
    return isinstance(entry, dict) and bool(entry) and set(entry) <= _OVERLAY_KEYS


def _overlaid(defn: ServerDef, overlay: dict[str, Any]) -> ServerDef:
    approval, default = _approvals(overlay)
    enabled = overlay.get("enabled", defn.enabled)
    if not isinstance(enabled, bool):
        raise ConfigProblem("`enabled` must be true or false")
    return replace(
        defn,
        approval={**defn.approval, **approval},
        default_approval=default
        if "default_tools_approval_mode" in overlay
        else defn.default_approval,
        enabled=enabled and defn.enabled,
    )


class ConfigProblem(ValueError):
    """What is wrong with one server's entry, in words for the user."""


def _toml_servers(path: Path, problems: list[str]) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path}: not read ({exc}); its MCP servers are off")
        return {}
    servers = data.get("mcp_servers", {})
    if not isinstance(servers, dict):
        problems.append(f"{path}: `mcp_servers` must be a table of servers; ignored")
        return {}
    return servers


def _json_servers(path: Path, problems: list[str]) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{path}: not read ({exc}); its MCP servers are off")
        return {}
    servers = data.get("mcpServers", {}) if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        problems.append(f"{path}: `mcpServers` must be an object of servers; ignored")
        return {}
    return {name: _from_claude(entry) for name, entry in servers.items()}


def _from_claude(entry: Any) -> Any:
    """Claude Code's keys in Codex's names: `headers` -> `http_headers`; `type` is kept."""
    if not isinstance(entry, dict):
        return entry
    out = dict(entry)
    if "headers" in out:
        out["http_headers"] = out.pop("headers")
    return out


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^}])*))?\}")


def expand(text: str, env: Mapping[str, str], secrets: bool = True) -> str:
    """Claude Code's `${VAR}` and `${VAR:-default}`; an unset `${VAR}` without a default is a
    problem (the server would start with a hole in its command or URL). `secrets=False`: a
    secret-looking name (`sandbox.env`) is a problem too."""

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if not secrets and is_secret_name(name):
            raise ConfigProblem(
                f"${{{name}}} would put a secret on its command line or in its URL (seen in "
                "process lists and logs); pass it in `env` or a header"
            )
        value = env.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise ConfigProblem(f"${{{name}}} is not set in the environment (and has no default)")

    return _VAR.sub(one, text)


def parse_server(
    name: str,
    entry: dict[str, Any],
    source: str,
    project: bool,
    env: Mapping[str, str] | None = None,
) -> ServerDef:
    """One entry as a ServerDef; `env` given: `${VAR}`s in strings are expanded from it."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise ConfigProblem("the name may hold letters, digits, `_`, `-` and `.` (1-64 of them)")
    unknown = set(entry) - _STDIO_KEYS - _HTTP_KEYS - _COMMON_KEYS
    if unknown:
        raise ConfigProblem(f"unknown key(s) {', '.join(sorted(unknown))}")
    r = _Reader(entry, env)
    kind = r.string("type")
    url, command = r.string("url"), r.string("command")
    if kind not in (None, "stdio", "http", "streamable-http", "streamable_http"):
        raise ConfigProblem(f"type {kind!r} is not supported (stdio or http; sse is not)")
    if bool(url) == bool(command):
        raise ConfigProblem("give either `command` (a stdio server) or `url` (an HTTP server)")
    if url and not re.match(r"https?://", url):
        raise ConfigProblem(f"url {url!r} must start with http:// or https://")
    if url and set(entry) & (_STDIO_KEYS - {"command"}):
        raise ConfigProblem("`args`, `env`, `env_vars` and `cwd` are for stdio servers only")
    if command and set(entry) & (_HTTP_KEYS - {"url"}):
        raise ConfigProblem("`bearer_token_env_var` and the header keys are for HTTP servers only")
    startup = r.seconds("startup_timeout_sec", DEFAULT_STARTUP_TIMEOUT_S)
    if "startup_timeout_ms" in entry:
        startup = r.seconds("startup_timeout_ms", startup * 1000) / 1000
    sandbox = r.string("sandbox")
    if sandbox not in (None, "none", "workspace-write", "workspaceWrite"):
        raise ConfigProblem(f'sandbox {sandbox!r}: only "none" (the opt-out) is accepted')
    enabled_tools = r.strings("enabled_tools")
    approval, default_approval = _approvals(entry)
    return ServerDef(
        name=name,
        source=source,
        project=project,
        definition=entry,
        command=command,
        args=tuple(r.strings("args") or ()),
        env=r.table("env"),
        env_vars=tuple(r.strings("env_vars") or ()),
        cwd=r.string("cwd"),
        url=url,
        bearer_token_env_var=r.string("bearer_token_env_var"),
        http_headers=r.table("http_headers"),
        env_http_headers=r.table("env_http_headers"),
        enabled=r.flag("enabled", True),
        required=r.flag("required", False),
        startup_timeout_s=startup,
        tool_timeout_s=r.seconds("tool_timeout_sec", DEFAULT_TOOL_TIMEOUT_S),
        enabled_tools=None if enabled_tools is None else frozenset(enabled_tools),
        disabled_tools=frozenset(r.strings("disabled_tools") or ()),
        approval=approval,
        default_approval=default_approval,
        network=r.flag("network", False),
        sandboxed=sandbox != "none",
    )


def _approvals(entry: dict[str, Any]) -> tuple[dict[str, ApprovalMode], ApprovalMode]:
    default = entry.get("default_tools_approval_mode", "auto")
    if default not in APPROVAL_MODES:
        raise ConfigProblem(f"default_tools_approval_mode must be one of {APPROVAL_MODES}")
    tools = entry.get("tools", {})
    if not isinstance(tools, dict):
        raise ConfigProblem("`tools` must be a table of tools")
    approval: dict[str, ApprovalMode] = {}
    for tool, settings in tools.items():
        mode = settings.get("approval_mode") if isinstance(settings, dict) else None
        if mode not in APPROVAL_MODES:
            raise ConfigProblem(f"tools.{tool}.approval_mode must be one of {APPROVAL_MODES}")
        approval[tool] = mode
    return approval, default


_SECRET_KEYS = {"env", "http_headers"}
"""Where a project's `${VAR}` may bring a secret: the server's environment and headers."""


class _Reader:
    """Typed access to one entry's keys; a wrong type is a ConfigProblem naming the key."""

    def __init__(self, entry: dict[str, Any], env: Mapping[str, str] | None) -> None:
        self._entry, self._env = entry, env

    def _text(self, value: str, key: str) -> str:
        if self._env is None:
            return value
        return expand(value, self._env, secrets=key in _SECRET_KEYS)

    def string(self, key: str) -> str | None:
        value = self._entry.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigProblem(f"`{key}` must be a non-empty string")
        return self._text(value, key)

    def strings(self, key: str) -> list[str] | None:
        value = self._entry.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigProblem(f"`{key}` must be a list of strings")
        return [self._text(v, key) for v in value]

    def table(self, key: str) -> dict[str, str]:
        value = self._entry.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigProblem(f"`{key}` must be a table of strings")
        return {k: self._text(v, key) for k, v in value.items()}

    def flag(self, key: str, default: bool) -> bool:
        value = self._entry.get(key, default)
        if not isinstance(value, bool):
            raise ConfigProblem(f"`{key}` must be true or false")
        return value

    def seconds(self, key: str, default: float) -> float:
        value = self._entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigProblem(f"`{key}` must be a positive number")
        return float(value)


def mask_args(args: Iterable[str]) -> list[str]:
    out: list[str] = []
    secret_next = False
    for arg in args:
        name, eq, _value = arg.lstrip("-").partition("=")
        if secret_next:
            out.append("***")
        elif eq and is_secret_name(name.replace("-", "_")):
            out.append(f"{arg.split('=', 1)[0]}=***")
        else:
            out.append(arg)
        secret_next = arg.startswith("-") and not eq and is_secret_name(name.replace("-", "_"))
    return out


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    netloc = f"***@{netloc}" if "@" in parts.netloc else netloc
    query = "&".join(
        f"{k}=***" if is_secret_name(k) else (f"{k}={v}" if v else k)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mcp_trust(home: Path) -> TrustStore:
    """The user's answers about project servers (the hooks' store, in its own file)."""
    return TrustStore(home, TRUST_FILE)
