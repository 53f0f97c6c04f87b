"""The provider sections: their settings, several named accounts each, and the strict field
checks every config section shares.

An account is a name and the credentials that open it: for Sent.dm an API key and optionally a
child profile (`x-profile-id`), for Sendo a key. The provider's own `api_key` (or its env var) is
the account named `default`, so a single-key configuration is one account, exactly as before.
More come from `[[providers.sentdm.accounts]]` / `[[providers.sendo.accounts]]` tables; an account
without a key of its own uses the provider's key (an organization key acting for child profiles).
A key may also come from `SENDWATCH_<PROVIDER>_KEY_<NAME>` (e.g. SENDWATCH_SENDO_KEY_OPS2), which
wins over the file, as the provider-wide env vars do.

Kept apart from config.py so that file stays small; config.py re-exports what callers import.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tui.errors import ConfigError
from tui.model import Provider
from tui.secret import Secret, is_loopback

#: The name of the account the provider's own `api_key` opens (and of messages of unknown account).
DEFAULT_ACCOUNT = "default"
#: Names: short, lower-case, safe in a lease name, a metric label, a CSV cell and an env var.
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
ACCOUNT_KEYS = ("name", "api_key", "profile_id")


@dataclass(frozen=True)
class Account:
    """Which account of which provider: what a poll loop, a lease, a budget and a message belong to."""

    provider: Provider
    name: str = DEFAULT_ACCOUNT

    def __str__(self) -> str:
        return f"{self.provider.value}:{self.name}"


@dataclass(frozen=True)
class AccountEntry:
    """One `[[providers.X.accounts]]` table, checked (its key may still be the provider's)."""

    name: str
    api_key: Secret
    profile_id: str = ""
    #: "env:NAME", "file" or "" (the provider's key is used)
    key_source: str = ""


ENV_KEYS: dict[Provider, tuple[str, ...]] = {
    Provider.SENTDM: ("SENT_DM_API_KEY", "SENT_API_KEY"),
    Provider.SENDO: ("SENDO_API_KEY",),
}
#: Webhook credentials: Sent.dm signs with a `whsec_` secret, Sendo sends a static token.
ENV_WEBHOOK: dict[Provider, tuple[str, str]] = {
    Provider.SENTDM: ("webhook_secret", "SENT_DM_WEBHOOK_SECRET"),
    Provider.SENDO: ("webhook_token", "SENDO_WEBHOOK_TOKEN"),
}
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
    #: `[[providers.X.accounts]]`: more named accounts (config_accounts.py); the key above is `default`
    accounts: tuple[AccountEntry, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.api_key) or any(a.api_key for a in self.accounts)

    def account_settings(self) -> dict[str, ProviderSettings]:
        """Each usable account's own settings by name, `default` (the key above) first; an account
        without a key of its own uses the provider's (an organization key acting for a profile)."""
        out = {DEFAULT_ACCOUNT: self} if self.api_key else {}
        for entry in self.accounts:
            own = bool(entry.api_key)
            key = entry.api_key if own else self.api_key
            source = entry.key_source if own else self.key_source
            if not key:  # refused at load; settings built in code may still lack one
                continue
            out[entry.name] = replace(
                self, api_key=key, profile_id=entry.profile_id, key_source=source, accounts=()
            )
        return out


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


def account_env(provider: Provider, name: str) -> str:
    """The environment variable that holds an account's key (wins over the file)."""
    return f"SENDWATCH_{provider.name}_KEY_{name.upper().replace('-', '_')}"


def parse_accounts(
    value: Any, provider: Provider, path: Path, text: str, env: Mapping[str, str]
) -> tuple[AccountEntry, ...]:
    """`[[providers.X.accounts]]`: named, unique, never `default`, keys printable ASCII."""
    section = f"providers.{provider.value}.accounts"
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where(path, text, section, None)} must be [[{section}]] tables")
    entries: list[AccountEntry] = []
    for number, table in enumerate(value, start=1):
        at = f"{path}: [[{section}]] number {number}"
        for key in table:
            if key not in ACCOUNT_KEYS or (key == "profile_id" and provider is Provider.SENDO):
                known = [
                    k for k in ACCOUNT_KEYS if provider is Provider.SENTDM or k != "profile_id"
                ]
                raise ConfigError(f"{at}: {key} is not a known setting (known: {', '.join(known)})")
            if not isinstance(table[key], str):
                raise ConfigError(f"{at}: {key} must be a string")
        name = table.get("name", "").strip()
        if not ACCOUNT_NAME.fullmatch(name) or name == DEFAULT_ACCOUNT:
            raise ConfigError(
                f"{at}: name must be 1-32 of a-z 0-9 _ - (starting with a letter or digit), "
                f"other than {DEFAULT_ACCOUNT!r} (the provider's own api_key)"
            )
        if any(e.name == name for e in entries):
            raise ConfigError(f"{at}: the name {name!r} is used twice")
        key, source, origin = table.get("api_key", "").strip(), "file", f"{at}: api_key"
        var = account_env(provider, name)
        if env.get(var, "").strip():
            key, source, origin = env[var].strip(), f"env:{var}", f"${var}"
        check_header_value(key, origin)
        profile = table.get("profile_id", "").strip()
        check_header_value(profile, f"{at}: profile_id")
        entries.append(AccountEntry(name, Secret(key), profile, source if key else ""))
    return tuple(entries)


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


def where(path: Path, text: str, section: str, key: str | None) -> str:
    """`file, line N: section.key` for an error message."""
    line = _line_of(text, section, key)
    name = f"{section}.{key}" if key else f"[{section}]"
    return f"{path}{f', line {line}' if line else ''}: {name}"


def coerce(value: Any, default: Any, at: str) -> Any:
    """Check `value` has the type of `default`; ints are accepted for floats."""
    expected = type(default)
    if expected is tuple:  # a list of secrets (Sendo's webhook tokens)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{at} must be a list of strings")
        return tuple(Secret(v.strip()) for v in value if v.strip())
    if expected is Secret:
        if not isinstance(value, str):
            raise ConfigError(f"{at} must be a string (got {type(value).__name__})")
        return Secret(value.strip())
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(
            f"{at} must be {_type_name(expected)} (got {type(value).__name__} {value!r:.40})"
        )
    if expected is float and not math.isfinite(value):
        raise ConfigError(f"{at} must be a finite number (got {value!r})")
    if expected in (int, float) and value < 0:
        raise ConfigError(f"{at} must not be negative")
    return value


def _type_name(t: type) -> str:
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(
        t, t.__name__
    )


#: Values sent in (or compared with) HTTP headers: printable ASCII only.
_HEADER_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F))


def check_header_value(value: str, at: str) -> None:
    """Refuse a key or ID that cannot travel in an HTTP header, naming it but never showing it.

    A zero-width space or a typographic quote pasted along with a key would otherwise fail deep in
    the HTTP client on the first request (a UnicodeEncodeError, with a traceback)."""
    for position, char in enumerate(value, start=1):
        if char not in _HEADER_SAFE:
            name = unicodedata.name(char, "a control character")
            raise ConfigError(
                f"{at} contains U+{ord(char):04X} ({name}) at character {position}: only "
                "printable ASCII is allowed (was an invisible character pasted with it?)"
            )
