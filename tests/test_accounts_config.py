"""Several accounts per provider in the config: parsed strictly, keys from env, never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.config import load
from tui.config_accounts import Account
from tui.errors import ConfigError
from tui.model import Provider

CONFIG = """
[providers.sentdm]
api_key = "org-key-0001"
[[providers.sentdm.accounts]]
name = "eu"
profile_id = "c0ffee00-0000-4000-8000-000000000001"
[[providers.sentdm.accounts]]
name = "us"
api_key = "us-key-0002"
[[providers.sendo.accounts]]
name = "ops2"
api_key = "sendo-key-0003"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_named_accounts_per_provider(tmp_path: Path) -> None:
    settings = load(_write(tmp_path, CONFIG), env={})
    accounts = settings.accounts()
    assert list(accounts) == [
        Account(Provider.SENTDM, "default"),
        Account(Provider.SENTDM, "eu"),
        Account(Provider.SENTDM, "us"),
        Account(Provider.SENDO, "ops2"),
    ]
    eu = accounts[Account(Provider.SENTDM, "eu")]
    assert eu.api_key.reveal() == "org-key-0001"  # the organization's key, acting for a profile
    assert eu.profile_id == "c0ffee00-0000-4000-8000-000000000001"
    assert accounts[Account(Provider.SENTDM, "us")].api_key.reveal() == "us-key-0002"
    assert accounts[Account(Provider.SENTDM, "us")].profile_id == ""
    assert settings.configured_providers() == [Provider.SENTDM, Provider.SENDO]


def test_an_account_key_from_the_environment_wins(tmp_path: Path) -> None:
    settings = load(_write(tmp_path, CONFIG), env={"SENDWATCH_SENDO_KEY_OPS2": "from-env"})
    ops2 = settings.accounts()[Account(Provider.SENDO, "ops2")]
    assert ops2.api_key.reveal() == "from-env" and ops2.key_source == "env:SENDWATCH_SENDO_KEY_OPS2"


def test_the_single_key_configuration_is_one_default_account(tmp_path: Path) -> None:
    settings = load(_write(tmp_path, ""), env={"SENDO_API_KEY": "k"})
    assert list(settings.accounts()) == [Account(Provider.SENDO, "default")]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[providers.sendo.accounts]]\nname = "Bad Name"\napi_key = "k"\n', "name must be"),
        ('[[providers.sendo.accounts]]\nname = "default"\napi_key = "k"\n', "name must be"),
        (
            '[[providers.sendo.accounts]]\nname = "a"\napi_key = "k"\n'
            '[[providers.sendo.accounts]]\nname = "a"\napi_key = "j"\n',
            "used twice",
        ),
        ('[[providers.sendo.accounts]]\nname = "a"\nprofile_id = "p"\n', "not a known setting"),
        ('[[providers.sendo.accounts]]\nname = "a"\n', "uses this one, and it is empty"),
        ('[[providers.sendo.accounts]]\nname = "a"\napi_key = "k\u200b"\n', "U+200B"),
        ("[providers.sendo]\naccounts = 3\n", "must be [[providers.sendo.accounts]] tables"),
    ],
)
def test_bad_accounts_are_refused_in_one_line(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(_write(tmp_path, text), env={})
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert "k\u200b" not in str(caught.value)


def test_config_check_lists_account_names_never_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG + '\n[history]\npath = "' + str(tmp_path / "h.sqlite3") + '"\n')
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    text = out.stdout + out.stderr
    for name in ("eu:", "us:", "ops2:", "default:"):
        assert f"account      {name}" in text, text
    for key in ("org-key-0001", "us-key-0002", "sendo-key-0003"):
        assert key not in text


def test_config_check_with_named_accounts_only(tmp_path: Path) -> None:
    text = '[[providers.sendo.accounts]]\nname = "ops2"\napi_key = "sendo-key-0003"\n'
    path = _write(tmp_path, text + '[history]\npath = "' + str(tmp_path / "h.sqlite3") + '"\n')
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert "Sendo    configured   1 named account(s)" in out.stdout, out.stdout + out.stderr
    assert "account      ops2: key from file" in out.stdout
    assert "sendo-key-0003" not in out.stdout + out.stderr
