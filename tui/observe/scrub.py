"""Secret values removed from any text before it is written (log lines, crash reports, errors).

The values come from the settings (every `Secret`) and from the environment variables that hold
keys, webhook secrets or the database URL; a database URL's password is also removed on its own.
Header-looking credentials (`Authorization: Bearer …`, `x-api-key=…`) are removed whatever their
value, because an error text may quote a request we did not build from the settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from tui.config import DATABASE_URL_ENV, ENV_KEYS, ENV_WEBHOOK, Secret
from tui.model import Provider

REDACTED = "[redacted]"
#: environment variables whose values are secrets wherever they appear
SECRET_ENV = frozenset(
    (
        *(var for names in ENV_KEYS.values() for var in names),
        *(var for _, var in ENV_WEBHOOK.values()),
        DATABASE_URL_ENV,
    )
)
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words; no real key is that short
_HEADER = re.compile(
    r"(?i)(x-api-key|authorization|api[_-]?key|token|secret|password)"
    r"(['\"]?\s*[:=]\s*['\"]?)(bearer\s+|basic\s+)?[^\s'\",;&]+"
)


def secret_values(
    settings: object | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Every secret value known: from the settings and the environment, longest first (so a key
    that contains another is removed whole)."""
    environ = os.environ if environ is None else environ
    values = [v for k, v in environ.items() if k in SECRET_ENV or "_WEBHOOK_" in k.upper()]
    if settings is not None:
        values += list(_settings_secrets(settings))
    values += [p for url in list(values) if (p := _url_password(url))]
    return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def _url_password(value: str) -> str | None:
    if "://" not in value:
        return None
    try:
        return urlsplit(value).password
    except ValueError:
        return None


def _settings_secrets(settings: object) -> Iterator[str]:
    """`Secret` values of a `Settings` (read by attribute: a half-built object must not fail)."""
    url = getattr(getattr(settings, "history", None), "url", None)
    if isinstance(url, Secret) and url:
        yield url.reveal()
    provider = getattr(settings, "provider", None)
    if not callable(provider):
        return
    for p in Provider:
        try:
            cfg = provider(p)
        except Exception:  # noqa: BLE001 - a partial settings object still yields what it has
            continue
        for name in ("api_key", "webhook_secret", "webhook_token"):
            value = getattr(cfg, name, None)
            if isinstance(value, Secret) and value:
                yield value.reveal()


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every known secret value and every header-looking credential replaced."""
    for value in secrets:
        if value:
            text = text.replace(value, REDACTED)
    return _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
