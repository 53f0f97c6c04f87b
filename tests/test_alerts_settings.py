"""`[alerts]` parsing: strict like tui/config.py, with the file and key named in every error."""

from __future__ import annotations

import tomllib

import pytest

from tui.alerts.settings import (
    WEBHOOK_ENV,
    AlertRule,
    RuleKind,
    default_rules,
    default_settings,
    parse_alerts,
)
from tui.alerts.units import format_duration, parse_duration, parse_percent
from tui.errors import ConfigError

WHERE = "/home/me/.config/sendwatch/config.toml"
CONFIG = """
[alerts]
webhook_url = "https://hooks.slack.com/services/T0/B0/secret-token-abc"
bell = true
hold_down = "2m"

[[alerts.rules]]
name = "failures"
kind = "failure_rate"
threshold = "5%"
window = "15m"
min_messages = 20
campaign = "spring"

[[alerts.rules]]
name = "balance"
kind = "code"
threshold = 1
code = "BUSINESS_003"

[[alerts.rules]]
name = "stuck"
kind = "stuck"
threshold = "1h"
min_messages = 3
"""


def table(text: str = CONFIG) -> dict:
    return tomllib.loads(text)["alerts"]


def test_a_full_table() -> None:
    settings = parse_alerts(table(), WHERE, env={})
    assert settings.bell is True and settings.hold_down == 120.0
    assert settings.webhook_url.reveal().endswith("secret-token-abc")
    assert settings.rules == (
        AlertRule("failures", RuleKind.FAILURE_RATE, 5.0, 900.0, 20, "spring"),
        AlertRule("balance", RuleKind.CODE, 1.0, code="BUSINESS_003"),
        AlertRule("stuck", RuleKind.STUCK, 3600.0, min_messages=3),
    )
    shown = "\n".join(settings.describe())
    assert "secret-token" not in shown and "secret-token" not in repr(settings)
    assert "failures: failure_rate" in shown and "BUSINESS_003" in shown


def test_defaults_when_nothing_is_configured() -> None:
    settings = default_settings(env={})
    assert settings.rules == default_rules() and not settings.webhook_url
    assert {r.kind for r in settings.rules} == set(RuleKind)


def test_env_overrides_the_webhook_url() -> None:
    url = "https://hooks.example.com/other"
    assert parse_alerts(table(), WHERE, env={WEBHOOK_ENV: url}).webhook_url.reveal() == url


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("colour", 1, "alerts.colour is not a known setting"),
        ("webhook_url", "http://hooks.example.com/x", "alerts.webhook_url must be an https://"),
        ("webhook_url", 42, "alerts.webhook_url must be a string"),
        ("bell", "yes", "alerts.bell must be true or false"),
        ("hold_down", float("nan"), "alerts.hold_down"),
        ("timeout", float("inf"), "alerts.timeout"),
        ("retries", float("inf"), "alerts.retries must be a whole number"),
        ("retries", -1, "alerts.retries must be a finite number, not negative"),
        ("rules", {"name": "x"}, "alerts.rules must be [[alerts.rules]] tables"),
    ],
)
def test_top_level_errors(key: str, value: object, expected: str) -> None:
    changed = table() | {key: value}
    with pytest.raises(ConfigError) as error:
        parse_alerts(changed, WHERE, env={})
    assert str(error.value).startswith(WHERE) and expected in str(error.value)
    assert "secret-token" not in str(error.value)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('name = "x"\nkind = "loud"\nthreshold = 1', "alerts.rules[1].kind must be one of"),
        ('name = "x"\nkind = "code"\nthreshold = 1', "alerts.rules[1].code is required"),
        ('name = "x"\nkind = "failure_rate"', "alerts.rules[1].threshold is required"),
        ('name = "x"\nkind = "failure_rate"\nthreshold = nan', "threshold"),
        ('name = "x"\nkind = "failure_rate"\nthreshold = 120', "between 0 and 100"),
        ('name = "x"\nkind = "stuck"\nthreshold = inf', "threshold"),
        ('name = "x"\nkind = "code"\ncode = "C"\nthreshold = -2', "must be a finite number"),
        ('name = "x"\nkind = "stuck"\nthreshold = "1h"\nwindow = "soon"', "rules[1].window"),
        ('name = "x"\nkind = "stuck"\nthreshold = "1h"\nmin_messages = 2.5', "whole number"),
        ('name = "x"\nkind = "stuck"\nthreshold = "1h"\nsize = 1', "rules[1].size is not a known"),
        ('kind = "stuck"\nthreshold = "1h"', "rules[1].name is required"),
    ],
)
def test_rule_errors(rule: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_alerts(table(f"[alerts]\n[[alerts.rules]]\n{rule}\n"), WHERE, env={})
    assert str(error.value).startswith(WHERE) and expected in str(error.value)


def test_duplicate_rule_names_are_refused() -> None:
    rule = '[[alerts.rules]]\nname = "x"\nkind = "stuck"\nthreshold = "1h"\n'
    with pytest.raises(ConfigError, match="its own name"):
        parse_alerts(table(f"[alerts]\n{rule}{rule}"), WHERE, env={})


def test_units() -> None:
    assert [parse_duration(t) for t in ("90s", "30m", "1h", "2d", "500ms", "45", 7)] == [
        90.0,
        1800.0,
        3600.0,
        172800.0,
        0.5,
        45.0,
        7.0,
    ]
    assert [parse_percent(t) for t in ("98", "98%", " 99.5 % ", 2)] == [98.0, 98.0, 99.5, 2.0]
    for bad in ("nan", "inf", "-1s", "0", "1 week", True, float("nan")):
        with pytest.raises(ValueError):
            parse_duration(bad)
    for bad in ("nan%", "inf", "101", "-1", "x", True):
        with pytest.raises(ValueError):
            parse_percent(bad)
    assert [format_duration(s) for s in (5, 72.4, 3725)] == ["5s", "1m12s", "1h02m"]
