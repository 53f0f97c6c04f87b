"""The `[alerts]` config table: where to send, whether to ring, and the rules.

```toml
[alerts]
webhook_url = "https://hooks.slack.com/services/..."   # or env SENDWATCH_ALERT_WEBHOOK_URL
bell = true
hold_down = "5m"          # a rule resolves only after this long without holding (no flapping)

[[alerts.rules]]
name = "failures"
kind = "failure_rate"     # failure_rate | code | stuck | webhooks_silent | provider_down
threshold = 5             # per kind: %, count of the code, seconds stuck / silent / down
window = "15m"
min_messages = 20
campaign = "spring-promo" # optional
code = "BUSINESS_003"     # kind = "code" only
```
Validated as strictly as tui/config.py: unknown keys, wrong types, nan/inf and negative numbers are
refused with the file and key named. The webhook URL is a `Secret` (a Slack URL carries a token).
"""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tui.alerts.units import parse_duration, parse_percent
from tui.errors import ConfigError
from tui.secret import Secret, is_loopback

WEBHOOK_ENV = "SENDWATCH_ALERT_WEBHOOK_URL"


class RuleKind(str, enum.Enum):
    FAILURE_RATE = "failure_rate"  # threshold: % failed among messages settled in the window
    CODE = "code"  # threshold: messages failed with `code` in the window
    STUCK = "stuck"  # threshold: seconds in one pending stage
    WEBHOOKS_SILENT = "webhooks_silent"  # threshold: seconds without a webhook
    PROVIDER_DOWN = "provider_down"  # threshold: seconds offline or rejecting the key


@dataclass(frozen=True)
class AlertRule:
    name: str
    kind: RuleKind
    threshold: float
    window: float = 900.0  # seconds of history the rule looks at (failure_rate, code)
    min_messages: int = 1  # failure_rate: settled messages needed; stuck: stuck messages needed
    campaign: str | None = None
    code: str | None = None

    def describe(self) -> str:
        """One line for `config check`."""
        unit = {
            RuleKind.FAILURE_RATE: f"failed > {self.threshold:g}% over {self.window:g}s (min {self.min_messages})",
            RuleKind.CODE: f"{self.code} ≥ {self.threshold:g} over {self.window:g}s",
            RuleKind.STUCK: f"≥ {self.min_messages} pending in one stage > {self.threshold:g}s",
            RuleKind.WEBHOOKS_SILENT: f"no webhook for {self.threshold:g}s",
            RuleKind.PROVIDER_DOWN: f"provider down for {self.threshold:g}s",
        }[self.kind]
        scope = f" (campaign {self.campaign})" if self.campaign else ""
        return f"{self.name}: {self.kind.value} {unit}{scope}"


@dataclass(frozen=True)
class AlertSettings:
    webhook_url: Secret = field(default_factory=lambda: Secret(""))
    bell: bool = False
    hold_down: float = 300.0
    rules: tuple[AlertRule, ...] = ()
    #: delivery: attempts after the first, the first backoff (doubling), each request's timeout
    retries: int = 4
    backoff: float = 1.0
    timeout: float = 10.0

    def describe(self) -> list[str]:
        """What `config check` shows: the destination (redacted), the bell, every rule."""
        where = self.webhook_url.redacted() if self.webhook_url else "(no webhook)"
        lines = [f"alerts: webhook {where}, bell {'on' if self.bell else 'off'}"]
        return lines + [f"  {rule.describe()}" for rule in self.rules]


def default_rules() -> tuple[AlertRule, ...]:
    """What a team gets without configuring anything."""
    return (
        AlertRule("failure-rate", RuleKind.FAILURE_RATE, 10.0, window=900.0, min_messages=20),
        AlertRule("insufficient-balance", RuleKind.CODE, 1.0, window=900.0, code="BUSINESS_003"),
        AlertRule("stuck", RuleKind.STUCK, 3600.0, min_messages=10),
        AlertRule("webhooks-silent", RuleKind.WEBHOOKS_SILENT, 600.0),
        AlertRule("provider-down", RuleKind.PROVIDER_DOWN, 120.0),
    )


def default_settings(env: Mapping[str, str] | None = None) -> AlertSettings:
    return parse_alerts({}, "(defaults)", env)


_TOP = {"webhook_url", "bell", "hold_down", "rules", "retries", "backoff", "timeout"}
_RULE = {"name", "kind", "threshold", "window", "min_messages", "campaign", "code"}


def parse_alerts(table: Any, where: str, env: Mapping[str, str] | None = None) -> AlertSettings:
    """Validate `[alerts]` from the config file `where`; raise ConfigError naming file and key."""
    env = os.environ if env is None else env
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [alerts] must be a table")
    for key in table:
        if key not in _TOP:
            raise ConfigError(
                f"{where}: alerts.{key} is not a known setting (known: {', '.join(sorted(_TOP))})"
            )
    url = env.get(WEBHOOK_ENV) or _string(table, "webhook_url", where, "alerts") or ""
    url = url.strip()
    if url:
        _check_url(url, f"{where}: alerts.webhook_url" if not env.get(WEBHOOK_ENV) else WEBHOOK_ENV)
    bell = table.get("bell", False)
    if not isinstance(bell, bool):
        raise ConfigError(f"{where}: alerts.bell must be true or false")
    rules_table = table.get("rules")
    if rules_table is None:
        rules = default_rules()
    elif not isinstance(rules_table, list):
        raise ConfigError(f"{where}: alerts.rules must be [[alerts.rules]] tables")
    else:
        rules = tuple(_rule(r, where, i) for i, r in enumerate(rules_table, start=1))
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}: alerts.rules: every rule needs its own name")
    return AlertSettings(
        webhook_url=Secret(url),
        bell=bell,
        hold_down=_duration(table, "hold_down", 300.0, where, "alerts", zero_ok=True),
        rules=rules,
        retries=int(_number(table, "retries", 4, where, "alerts", whole=True)),
        backoff=_duration(table, "backoff", 1.0, where, "alerts"),
        timeout=_duration(table, "timeout", 10.0, where, "alerts"),
    )


def _check_url(url: str, where: str) -> None:
    """HTTPS only (plain http for a loopback receiver); the URL itself is never repeated."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise ConfigError(f"{where} must be an https:// URL (plain http only for 127.0.0.1)")


def _rule(table: Any, where: str, index: int) -> AlertRule:
    at = f"alerts.rules[{index}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {at} must be a table")
    for key in table:
        if key not in _RULE:
            raise ConfigError(
                f"{where}: {at}.{key} is not a known setting (known: {', '.join(sorted(_RULE))})"
            )
    name = _string(table, "name", where, at)
    if not name:
        raise ConfigError(f"{where}: {at}.name is required")
    kind_text = _string(table, "kind", where, at)
    try:
        kind = RuleKind(kind_text)
    except ValueError:
        known = ", ".join(k.value for k in RuleKind)
        raise ConfigError(f"{where}: {at}.kind must be one of {known}") from None
    code = _string(table, "code", where, at)
    if kind is RuleKind.CODE and not code:
        raise ConfigError(f'{where}: {at}.code is required for kind = "code"')
    if "threshold" not in table:
        raise ConfigError(f"{where}: {at}.threshold is required")
    threshold = _threshold(kind, table["threshold"], f"{where}: {at}.threshold")
    return AlertRule(
        name=name,
        kind=kind,
        threshold=threshold,
        window=_duration(table, "window", 900.0, where, at),
        min_messages=int(_number(table, "min_messages", 1, where, at, whole=True)),
        campaign=_string(table, "campaign", where, at),
        code=code,
    )


def _threshold(kind: RuleKind, value: Any, where: str) -> float:
    try:
        if kind is RuleKind.FAILURE_RATE:
            return parse_percent(value)
        if kind in (RuleKind.STUCK, RuleKind.WEBHOOKS_SILENT, RuleKind.PROVIDER_DOWN):
            return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return _check_number(value, where, whole=False)


def _string(table: dict[str, Any], key: str, where: str, at: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {at}.{key} must be a string (got {type(value).__name__})")
    return value.strip() or None


def _check_number(value: Any, where: str, *, whole: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number (got {type(value).__name__})")
    if whole and not isinstance(value, int):
        raise ConfigError(f"{where} must be a whole number")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where} must be a finite number, not negative")
    return float(value)


def _number(
    table: dict[str, Any], key: str, default: float, where: str, at: str, *, whole: bool
) -> float:
    if key not in table:
        return default
    return _check_number(table[key], f"{where}: {at}.{key}", whole=whole)


def _duration(
    table: dict[str, Any], key: str, default: float, where: str, at: str, *, zero_ok: bool = False
) -> float:
    if key not in table:
        return default
    value = table[key]
    if zero_ok and value in (0, "0") and not isinstance(value, bool):
        return 0.0
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {at}.{key}: {exc}") from None
