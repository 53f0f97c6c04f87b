"""Config: strict reading, clear errors, env override, a 0600 starter file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tui.cli import main
from tui.config import load
from tui.config_write import write_starter
from tui.errors import ConfigError
from tui.model import Provider


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path / "none.toml", env={})
    assert (
        settings.sentdm.base_url == "https://api.sent.dm"
        and settings.sendo.base_url == "https://api.sendo.dev"
    )
    assert settings.configured_providers() == [] and not settings.file_exists


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.sentdm]\napi_key = "abc\n')
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    assert str(path) in str(info.value) and "line 2" in str(info.value)


def test_wrong_type_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[providers.sentdm]\napi_key = "k"\n\n[polling]\nmin_interval = "fast"\n'
    )
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    text = str(info.value)
    assert (
        str(path) in text
        and "line 5" in text
        and "polling.min_interval" in text
        and "a number" in text
    )


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[providers.sentdm]\napi_kee = "x"\n', "providers.sentdm.api_kee"),
        ('[providers.twilio]\napi_key = "x"\n', "providers.twilio"),
        ("[pollin]\nx = 1\n", "[pollin]"),
        ('[providers.sendo]\nbase_url = "http://api.sendo.dev"\n', "https://"),
        ("[providers.sendo]\nconcurrency = 0\n", "at least 1"),
        ("[network]\nmax_retries = true\n", "network.max_retries"),
        ("providers = 3\n", "[providers]"),
        ('[keys]\nexplode = "e"\n', "keys.explode"),
        ("[keys]\nrefresh = 5\n", "keys.refresh"),
    ],
)
def test_invalid_settings_are_refused(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load(write(tmp_path, text), env={})
    assert needle in str(info.value)


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[providers.sentdm]\napi_key = "from-file"\n[providers.sendo]\napi_key = "sendo-file"\n',
    )
    settings = load(path, env={"SENT_DM_API_KEY": "from-env"})
    assert (
        settings.sentdm.api_key.reveal() == "from-env"
        and settings.sentdm.key_source == "env:SENT_DM_API_KEY"
    )
    assert settings.sendo.api_key.reveal() == "sendo-file" and settings.sendo.key_source == "file"
    legacy = load(tmp_path / "none.toml", env={"SENT_API_KEY": "old-alias"})
    assert legacy.configured_providers() == [Provider.SENTDM]


def test_loopback_http_allowed_only_for_loopback(tmp_path: Path) -> None:
    ok = load(write(tmp_path, '[providers.sendo]\nbase_url = "http://127.0.0.1:8765/"\n'), env={})
    assert ok.sendo.base_url == "http://127.0.0.1:8765"


def test_init_writes_0600_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    write_starter(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(path, env={}).file_exists  # the starter file is itself valid
    with pytest.raises(ConfigError, match="--force"):
        write_starter(path)
    write_starter(path, force=True)


def test_config_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    path = tmp_path / "c.toml"
    assert main(["--config", str(path), "config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(path)
    assert main(["--config", str(path), "config", "init"]) == 0
    assert main(["--config", str(path), "config", "init"]) == 2
    monkeypatch.setenv("SENDO_API_KEY", "sendo-secret-value-123456789")
    capsys.readouterr()
    assert main(["--config", str(path), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert (
        "sendo-secret-value-123456789" not in out and "…6789" in out and "env:SENDO_API_KEY" in out
    )
    assert "Sent.dm" in out and "not configured" in out
    path.write_text("[ui]\ntheme = 3\n")
    assert main(["--config", str(path), "config", "check"]) == 2
    assert "ui.theme" in capsys.readouterr().err


def test_key_remapping_reaches_the_app(tmp_path: Path) -> None:
    from tui.app.app import SendwatchApp
    from tui.store import SQLiteStore

    path = write(
        tmp_path, '[keys]\nrefresh = "f5,r"\n[history]\npath = "%s"\n' % (tmp_path / "h.sqlite3")
    )
    settings = load(path, env={})
    assert settings.keys == {"refresh": "f5,r"}
    app = SendwatchApp(settings, SQLiteStore(settings.history_path()), start_poller=False)
    assert app._keymap == {"refresh": "f5,r"}


def test_the_example_config_is_valid_and_documents_every_setting(tmp_path: Path) -> None:
    """config.toml.example loads strictly (every key known, every type right) and names every setting."""
    import dataclasses
    import tomllib

    from tui.config import (
        HistorySettings,
        NetworkSettings,
        PollingSettings,
        ProviderSettings,
        UiSettings,
    )

    example = Path(__file__).resolve().parent.parent / "config.toml.example"
    settings = load(example, env={})
    assert settings.sendo.rate_limit_window == 1.0 and settings.sentdm.rate_limit_window == 60.0
    data = tomllib.loads(example.read_text())
    documented = {f"providers.{p}.{k}" for p in ("sentdm", "sendo") for k in data["providers"][p]}
    documented |= {
        f"{section}.{k}"
        for section in ("polling", "network", "history", "ui")
        for k in data[section]
    }
    for section, cls in (
        ("polling", PollingSettings),
        ("network", NetworkSettings),
        ("history", HistorySettings),
        ("ui", UiSettings),
    ):
        for f in dataclasses.fields(cls):
            assert f"{section}.{f.name}" in documented, (
                f"{section}.{f.name} is not in config.toml.example"
            )
    shared = {f.name for f in dataclasses.fields(ProviderSettings)} - {
        "key_source",
        "webhook_secret",
        "webhook_token",
        "webhook_tokens",
        "profile_id",
    }
    for name in shared:
        assert (
            f"providers.sentdm.{name}" in documented and f"providers.sendo.{name}" in documented
        ), name
