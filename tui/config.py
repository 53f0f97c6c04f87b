"""The TOML config: locate, read strictly, validate, write a starter file.

Reading is strict on purpose: a misspelt key or a string where a number belongs is refused with the
file, line and key named, instead of being silently ignored and surprising the user later.
Environment variables override the file for API keys, so keys can stay out of it entirely.
"""

from __future__ import annotations

import math
import os
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tui import paths
from tui.alerts.settings import AlertSettings, parse_alerts
from tui.alerts.settings import default_settings as default_alert_settings
from tui.errors import ConfigError
from tui.model import Provider
from tui.secret import Secret as Secret  # re-exported: callers import it from the config
from tui.secret import is_loopback as is_loopback

ENV_KEYS: dict[Provider, tuple[str, ...]] = {
    Provider.SENTDM: ("SENT_DM_API_KEY", "SENT_API_KEY"),
    Provider.SENDO: ("SENDO_API_KEY",),
}
#: Webhook credentials: Sent.dm signs with a `whsec_` secret, Sendo sends a static token.
ENV_WEBHOOK: dict[Provider, tuple[str, str]] = {
    Provider.SENTDM: ("webhook_secret", "SENT_DM_WEBHOOK_SECRET"),
    Provider.SENDO: ("webhook_token", "SENDO_WEBHOOK_TOKEN"),
}
DATABASE_URL_ENV = "SENDWATCH_DATABASE_URL"
READ_ONLY_ENV = "SENDWATCH_READ_ONLY"
ENV_URLS: dict[Provider, str] = {
    Provider.SENTDM: "SENDWATCH_SENTDM_URL",
    Provider.SENDO: "SENDWATCH_SENDO_URL",
}
DEFAULT_BASE_URLS = {
    Provider.SENTDM: "https://api.sent.dm",
    Provider.SENDO: "https://api.sendo.dev",
}


@dataclass(frozen=True)
class ProviderSettings:
    """`[providers.sentdm]` / `[providers.sendo]`."""

    api_key: Secret = field(default_factory=lambda: Secret(""))
    #: API root; point it at `sendwatch simulate` for a dry run.
    base_url: str = ""
    #: Sent.dm only: act for a child profile (organization keys only).
    profile_id: str = ""
    #: Request budget. Defaults follow the provider's documented limits.
    requests_per_minute: float = 200.0
    burst: int = 50
    concurrency: int = 8
    #: Seconds that the provider's X-RateLimit-Limit header counts over (Sent.dm: 60, Sendo: 1).
    rate_limit_window: float = 60.0
    #: Sent.dm only: the webhook signing secret (`whsec_…`), for `sendwatch listen`.
    webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    #: Sendo only: the static `X-Webhook-Token` value, for `sendwatch listen`.
    webhook_token: Secret = field(default_factory=lambda: Secret(""))
    #: Sendo only: more tokens (one per campaign webhook; `sendwatch webhooks register` writes them).
    webhook_tokens: tuple[Secret, ...] = ()
    #: Where the key came from: "env:NAME", "file" or "" (not configured). Shown by `config check`.
    key_source: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


@dataclass(frozen=True)
class PollingSettings:
    """`[polling]`: how often messages are re-asked for (seconds)."""

    min_interval: float = 5.0
    max_interval: float = 900.0
    selected_interval: float = 2.0
    visible_interval: float = 4.0
    delivered_recheck: float = 600.0
    delivered_max_age: float = 86400.0
    #: A message whose status arrived by webhook is polled only this often while webhooks flow...
    webhook_recheck: float = 900.0
    #: ...and polling takes over again once a provider's webhooks were silent this long.
    webhook_silence: float = 600.0
    notify_delivered: bool = False


@dataclass(frozen=True)
class NetworkSettings:
    """`[network]`: timeouts (seconds) and retries for one request."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    #: Longest Retry-After a single CLI lookup waits before giving up.
    max_retry_after: float = 30.0
    #: Consecutive failures before a provider is left alone (circuit breaker).
    breaker_threshold: int = 5
    breaker_cooldown: float = 15.0
    #: Longest one request may take, headers and body together: a provider that trickles its
    #: answer a byte at a time never trips `read_timeout`, but trips this.
    request_deadline: float = 30.0


@dataclass(frozen=True)
class HistorySettings:
    """`[history]`: the local SQLite file, or a shared PostgreSQL for a team."""

    path: str = ""
    #: A shared history on PostgreSQL for a team ("postgresql://user:password@host/db"); env
    #: SENDWATCH_DATABASE_URL wins. Empty: the local SQLite file above.
    url: Secret = field(default_factory=lambda: Secret(""))
    retention_days: float = 30.0
    max_messages: int = 250_000


@dataclass(frozen=True)
class UiSettings:
    """`[ui]`."""

    theme: str = "textual-dark"
    #: Refuse send, resend, cancel, forget and clear history (a shared production account on a
    #: teammate's screen); also `--read-only` and SENDWATCH_READ_ONLY=1.
    read_only: bool = False


#: Dashboard actions whose keys `[keys]` may remap (binding IDs in the app).
KEY_ACTIONS = (
    "find",
    "refresh",
    "refresh_all",
    "raw",
    "copy_id",
    "copy_json",
    "summary",
    "import",
    "send",
    "sort",
    "forget",
    "theme",
    "help",
    "quit",
)


@dataclass(frozen=True)
class Settings:
    path: Path
    sentdm: ProviderSettings
    sendo: ProviderSettings
    polling: PollingSettings = field(default_factory=PollingSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    ui: UiSettings = field(default_factory=UiSettings)
    #: `[keys]`: action -> key(s), e.g. refresh = "f5,r" (for keys a terminal or tmux swallows)
    keys: dict[str, str] = field(default_factory=dict)
    file_exists: bool = False
    #: `[alerts]`: where alerts go and the rules (tui/alerts/settings.py); defaults when absent
    alerts: AlertSettings = field(default_factory=default_alert_settings)
    #: how read-only mode was switched on ("" when off): said when an action is refused
    read_only_source: str = ""

    def provider(self, provider: Provider) -> ProviderSettings:
        return self.sentdm if provider is Provider.SENTDM else self.sendo

    def configured_providers(self) -> list[Provider]:
        return [p for p in Provider if self.provider(p).configured]

    def history_path(self) -> Path:
        return (
            Path(self.history.path).expanduser()
            if self.history.path
            else paths.default_history_file()
        )

    def with_provider(self, provider: Provider, **changes: Any) -> Settings:
        changed = replace(self.provider(provider), **changes)
        if provider is Provider.SENTDM:
            return replace(self, sentdm=changed)
        return replace(self, sendo=changed)


_PROVIDER_DEFAULTS = {
    Provider.SENTDM: ProviderSettings(base_url=DEFAULT_BASE_URLS[Provider.SENTDM]),
    # Sendo documents 20 requests/second, with X-RateLimit-* headers counted per second.
    Provider.SENDO: ProviderSettings(
        base_url=DEFAULT_BASE_URLS[Provider.SENDO],
        requests_per_minute=1200.0,
        burst=20,
        concurrency=8,
        rate_limit_window=1.0,
    ),
}
_SECTIONS = {
    "polling": PollingSettings,
    "network": NetworkSettings,
    "history": HistorySettings,
    "ui": UiSettings,
}


def check_database_url(url: str, where: str) -> None:
    """Only PostgreSQL URLs; the message never repeats the URL (it may hold a password)."""
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"{where}: history url must start with postgresql:// (leave it empty for the local file)"
        )


def check_base_url(url: str, where: str) -> None:
    """Keys travel only over HTTPS; plain HTTP is allowed for the loopback simulator alone."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise ConfigError(
        f"{where} must be an https:// URL (plain http only for 127.0.0.1), got {url!r:.80}"
    )


def _line_of(text: str, section: str, key: str | None) -> int | None:
    """Find the 1-based line where `key` is set inside `[section]` (for error messages)."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[]").strip()
            if key is None and current == section:
                return number
            continue
        if (
            key is not None
            and current == section
            and stripped.split("=", 1)[0].strip().strip('"') == key
        ):
            return number
    return None


def _where(path: Path, text: str, section: str, key: str | None) -> str:
    line = _line_of(text, section, key)
    name = f"{section}.{key}" if key else f"[{section}]"
    return f"{path}{f', line {line}' if line else ''}: {name}"


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Check `value` has the type of `default`; ints are accepted for floats."""
    expected = type(default)
    if expected is tuple:  # a list of secrets (Sendo's webhook tokens)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings")
        return tuple(Secret(v.strip()) for v in value if v.strip())
    if expected is Secret:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string (got {type(value).__name__})")
        return Secret(value.strip())
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(
            f"{where} must be {_type_name(expected)} (got {type(value).__name__} {value!r:.40})"
        )
    if expected is float and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number (got {value!r})")
    if expected in (int, float) and value < 0:
        raise ConfigError(f"{where} must not be negative")
    return value


#: Values sent in (or compared with) HTTP headers: printable ASCII only.
_HEADER_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F))
_HEADER_VALUES = ("api_key", "webhook_secret", "webhook_token", "profile_id")


def check_header_value(value: str, where: str) -> None:
    """Refuse a key or ID that cannot travel in an HTTP header, naming it but never showing it.

    A zero-width space or a typographic quote pasted along with a key would otherwise fail deep in
    the HTTP client on the first request (a UnicodeEncodeError, with a traceback)."""
    for position, char in enumerate(value, start=1):
        if char not in _HEADER_SAFE:
            name = unicodedata.name(char, "a control character")
            raise ConfigError(
                f"{where} contains U+{ord(char):04X} ({name}) at character {position}: only "
                "printable ASCII is allowed (was an invisible character pasted with it?)"
            )


def _type_name(t: type) -> str:
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(
        t, t.__name__
    )


def _build(cls: type, table: Any, base: Any, path: Path, text: str, section: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(path, text, section, None)} must be a table")
    known = {f.name: f for f in fields(cls) if f.name != "key_source"}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                f"{_where(path, text, section, key)} is not a known setting "
                f"(known: {', '.join(sorted(known))})"
            )
        changes[key] = _coerce(value, getattr(base, key), _where(path, text, section, key))
    return replace(base, **changes)


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the config (a missing file is fine: defaults + env)."""
    env = os.environ if env is None else env
    path = path or paths.config_file()
    data: dict[str, Any] = {}
    text = ""
    exists = path.exists()
    if exists:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path}: cannot read the config file ({exc.__class__.__name__}: {exc.strerror if isinstance(exc, OSError) else 'not UTF-8'})"
            ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"providers", "keys", "alerts", *_SECTIONS}
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(
            f"{_where(path, text, name, None)} is not a known section (known: providers, keys, alerts, {', '.join(_SECTIONS)})"
        )
    providers = data.get("providers", {})
    if not isinstance(providers, dict):
        raise ConfigError(f"{path}: [providers] must be a table")
    for name in providers:
        if name not in ("sentdm", "sendo"):
            raise ConfigError(
                f"{_where(path, text, f'providers.{name}', None)} is not a known provider (sentdm, sendo)"
            )
    built: dict[Provider, ProviderSettings] = {}
    for provider in Provider:
        section = f"providers.{provider.value}"
        settings = _build(
            ProviderSettings,
            providers.get(provider.value, {}),
            _PROVIDER_DEFAULTS[provider],
            path,
            text,
            section,
        )
        source = "file" if settings.api_key else ""
        origin = {name: _where(path, text, section, name) for name in _HEADER_VALUES}
        for var in ENV_KEYS[provider]:
            if env.get(var, "").strip():
                settings, source = replace(settings, api_key=Secret(env[var].strip())), f"env:{var}"
                origin["api_key"] = f"${var} ({provider.label} API key)"
                break
        own, var = ENV_WEBHOOK[provider]
        if env.get(var, "").strip():
            settings = replace(settings, **{own: Secret(env[var].strip())})
            origin[own] = f"${var}"
        for name in _HEADER_VALUES:
            value = getattr(settings, name)
            check_header_value(value.reveal() if isinstance(value, Secret) else value, origin[name])
        for token in settings.webhook_tokens:
            check_header_value(token.reveal(), _where(path, text, section, "webhook_tokens"))
        if own == "webhook_secret" and settings.webhook_tokens:
            raise ConfigError(
                f"{_where(path, text, section, 'webhook_tokens')}: {provider.label} uses {own}, not webhook_tokens"
            )
        other = "webhook_token" if own == "webhook_secret" else "webhook_secret"
        if getattr(settings, other):
            raise ConfigError(
                f"{_where(path, text, section, other)}: {provider.label} uses {own}, not {other}"
            )
        if env.get(ENV_URLS[provider], "").strip():
            settings = replace(settings, base_url=env[ENV_URLS[provider]].strip())
        check_base_url(settings.base_url, _where(path, text, section, "base_url"))
        if (
            settings.requests_per_minute <= 0
            or settings.burst < 1
            or settings.concurrency < 1
            or settings.rate_limit_window <= 0
        ):
            raise ConfigError(
                f"{_where(path, text, section, None)}: requests_per_minute, burst, concurrency and rate_limit_window must be at least 1 (rate_limit_window above 0)"
            )
        built[provider] = replace(
            settings, base_url=settings.base_url.rstrip("/"), key_source=source
        )
    sections = {
        name: _build(cls, data.get(name, {}), cls(), path, text, name)
        for name, cls in _SECTIONS.items()
    }
    if env.get(DATABASE_URL_ENV, "").strip():
        sections["history"] = replace(
            sections["history"], url=Secret(env[DATABASE_URL_ENV].strip())
        )
    check_database_url(sections["history"].url.reveal(), _where(path, text, "history", "url"))
    if sections["network"].request_deadline <= 0:
        raise ConfigError(f"{_where(path, text, 'network', 'request_deadline')} must be above 0")
    keys = _keys(data.get("keys", {}), path, text)
    alerts = parse_alerts(data.get("alerts", {}), str(path), env)
    read_only_source = ""
    if env.get(READ_ONLY_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        sections["ui"] = replace(sections["ui"], read_only=True)
        read_only_source = f"${READ_ONLY_ENV}"
    elif sections["ui"].read_only:
        read_only_source = f"read_only = true in [ui] of {path}"
    return Settings(
        path=path,
        sentdm=built[Provider.SENTDM],
        sendo=built[Provider.SENDO],
        keys=keys,
        file_exists=exists,
        alerts=alerts,
        read_only_source=read_only_source,
        **sections,
    )


def _keys(table: Any, path: Path, text: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(path, text, 'keys', None)} must be a table")
    out = {}
    for action, keys in table.items():
        where = _where(path, text, "keys", action)
        if action not in KEY_ACTIONS:
            raise ConfigError(
                f"{where} is not an action that can be remapped (known: {', '.join(KEY_ACTIONS)})"
            )
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(f'{where} must be a string of keys, e.g. "f5,r"')
        out[action] = keys.strip()
    return out
