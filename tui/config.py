"""The TOML config: locate, read strictly, validate, write a starter file.

Reading is strict on purpose: a misspelt key or a string where a number belongs is refused with the
file, line and key named, instead of being silently ignored and surprising the user later.
Environment variables override the file for API keys, so keys can stay out of it entirely.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tui import paths
from tui.alerts.settings import AlertSettings, parse_alerts
from tui.alerts.settings import default_settings as default_alert_settings
from tui.config_accounts import (  # re-exported: callers import these from the config
    DEFAULT_BASE_URLS as DEFAULT_BASE_URLS,
)
from tui.config_accounts import ENV_KEYS as ENV_KEYS
from tui.config_accounts import ENV_URLS as ENV_URLS
from tui.config_accounts import ENV_WEBHOOK as ENV_WEBHOOK
from tui.config_accounts import Account, parse_accounts
from tui.config_accounts import ProviderSettings as ProviderSettings
from tui.config_accounts import check_base_url as check_base_url
from tui.config_accounts import check_header_value as check_header_value  # re-exported
from tui.config_accounts import coerce as _coerce
from tui.config_accounts import where as _where
from tui.errors import ConfigError
from tui.model import Provider
from tui.secret import Secret as Secret  # re-exported: callers import it from the config
from tui.secret import is_loopback as is_loopback

DATABASE_URL_ENV = "SENDWATCH_DATABASE_URL"
READ_ONLY_ENV = "SENDWATCH_READ_ONLY"


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

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1, 2, …): doubling from `backoff_base`, at most
        `backoff_max` (callers may add jitter)."""
        return min(self.backoff_max, self.backoff_base * 2.0 ** (retry - 1))


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

    def accounts(self) -> dict[Account, ProviderSettings]:
        """Every configured account, by provider then as written: what gets a client, a budget,
        a poll loop and a lease of its own."""
        return {
            Account(p, name): account
            for p in Provider
            for name, account in self.provider(p).account_settings().items()
        }

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


_HEADER_VALUES = ("api_key", "webhook_secret", "webhook_token", "profile_id")


def _build(cls: type, table: Any, base: Any, path: Path, text: str, section: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(path, text, section, None)} must be a table")
    known = {f.name: f for f in fields(cls) if f.name not in ("key_source", "accounts")}
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
        table = providers.get(provider.value, {})
        extra = table.pop("accounts", []) if isinstance(table, dict) else []
        settings = _build(
            ProviderSettings,
            table,
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
            settings,
            base_url=settings.base_url.rstrip("/"),
            key_source=source,
            accounts=parse_accounts(extra, provider, path, text, env),
        )
        if any(not a.api_key for a in built[provider].accounts) and not settings.api_key:
            raise ConfigError(
                f"{_where(path, text, section, 'api_key')}: an account without an api_key of its own "
                f"uses this one, and it is empty ({' or '.join(ENV_KEYS[provider])} also sets it)"
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
