"""`sendwatch webhooks register|status` (issue #17) over real HTTP against the simulator: the
webhooks are created at both providers, the secrets land in the config file (0600, the rest of
the file kept), a second register reuses them, a disabled webhook fails `status`, and a receiver
with the registered secrets accepts the simulator's signed deliveries."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import fast
from tui.commands import webhooks_cmd
from tui.config import Secret, Settings, load
from tui.model import Provider, Status
from tui.providers.lookup import Providers
from tui.services.demo import demo_settings
from tui.services.webhook_setup import register
from tui.simulator import SimConfig, Simulator, SimWorld
from tui.store import SQLiteStore
from tui.webhooks import WebhookCredentials, WebhookReceiver

CAMPAIGN = "ABCD1234"
ORIGINAL = """# my own notes: keep me
[polling]
min_interval = 7.0  # tuned

[ui]
theme = "textual-light"
"""


@pytest.fixture
def hsim(world: SimWorld):
    s = Simulator(world, SimConfig(webhook_timeout_scale=0.01, webhook_interval=0.01)).start()
    yield s
    s.stop()


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(ORIGINAL, encoding="utf-8")
    return path


def settings_for(sim: Simulator, path: Path, tmp_path: Path) -> Settings:
    """The config file as a user has it, with both providers pointed at the simulator."""
    base = load(path, env={}) if path.exists() else load(tmp_path / "absent.toml", env={})
    return replace(fast(demo_settings(sim, tmp_path / "history.sqlite3", base)), path=path)


def cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    webhooks_cmd.add_parser(sub, [])
    return parser.parse_args(["webhooks", *argv])


def hooks_of(sim: Simulator, provider: Provider) -> list:
    return [h for h in sim.hooks.hooks.values() if h.provider is provider]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_register_creates_both_and_writes_secrets_0600_keeping_the_file(
    hsim, config_path, tmp_path, capsys
) -> None:
    settings = settings_for(hsim, config_path, tmp_path)
    args = cli("register", "https://hooks.example.com/", "--sendo-campaign", CAMPAIGN, "--json")
    assert webhooks_cmd.run(args, settings) == 0
    out = json.loads(capsys.readouterr().out)
    (sd,) = hooks_of(hsim, Provider.SENTDM)
    (so,) = hooks_of(hsim, Provider.SENDO)
    assert sd.url == "https://hooks.example.com/webhooks/sentdm" and sd.event_types == ["message"]
    assert sd.name == "sendwatch"
    assert (so.url, so.campaign_id, so.event_types) == (
        "https://hooks.example.com/webhooks/sendo",
        CAMPAIGN,
        ["message.status"],
    )
    assert {(h["provider"], h["id"], h["action"]) for h in out["webhooks"]} == {
        ("sentdm", sd.id, "created"),
        ("sendo", so.id, "created"),
    }
    assert out["config"] == str(config_path)
    text = config_path.read_text(encoding="utf-8")
    assert sd.secret not in json.dumps(out) and so.secret not in json.dumps(out)
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert text.startswith(ORIGINAL.split("\n[ui]")[0]) and "min_interval = 7.0  # tuned" in text
    reloaded = load(config_path, env={})
    assert reloaded.sentdm.webhook_secret.reveal() == sd.secret
    assert [t.reveal() for t in reloaded.sendo.webhook_tokens] == [so.secret]
    assert reloaded.polling.min_interval == 7.0 and reloaded.ui.theme == "textual-light"


def test_register_creates_a_missing_config_file_0600(hsim, tmp_path, capsys) -> None:
    path = tmp_path / "new" / "config.toml"
    settings = settings_for(hsim, path, tmp_path)
    assert (
        webhooks_cmd.run(
            cli("register", "https://h.example", "--sendo-campaign", CAMPAIGN), settings
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"Webhook credentials written to {path} (mode 0600)" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets = [h.secret for h in hsim.hooks.hooks.values()]
    assert len(secrets) == 2 and not any(s in out for s in secrets)


def test_register_twice_reuses_and_rotate_gives_a_new_secret(
    hsim, config_path, tmp_path, capsys
) -> None:
    args = cli("register", "https://hooks.example.com", "--sendo-campaign", CAMPAIGN, "--json")
    assert webhooks_cmd.run(args, settings_for(hsim, config_path, tmp_path)) == 0
    capsys.readouterr()
    first = config_path.read_text(encoding="utf-8")
    assert webhooks_cmd.run(args, settings_for(hsim, config_path, tmp_path)) == 0
    again = json.loads(capsys.readouterr().out)
    assert [h["action"] for h in again["webhooks"]] == ["reused", "reused"]
    assert again["config"] is None and again["notes"] == []
    assert len(hsim.hooks.hooks) == 2 and config_path.read_text(encoding="utf-8") == first

    config_path.write_text(ORIGINAL, encoding="utf-8")  # the secret was lost
    assert webhooks_cmd.run(args, settings_for(hsim, config_path, tmp_path)) == 0
    lost = json.loads(capsys.readouterr().out)
    assert "--rotate" in lost["notes"][0] and len(hsim.hooks.hooks) == 2
    assert load(config_path, env={}).sentdm.webhook_secret.reveal() == ""
    rotate = cli("register", "https://hooks.example.com", "--sendo-campaign", CAMPAIGN, "--rotate")
    assert webhooks_cmd.run(rotate, settings_for(hsim, config_path, tmp_path)) == 0
    assert "rotated" in capsys.readouterr().out
    (sd,) = hooks_of(hsim, Provider.SENTDM)
    assert load(config_path, env={}).sentdm.webhook_secret.reveal() == sd.secret
    assert sd.secret not in first


def test_read_only_refuses_register_and_sends_nothing(hsim, config_path, tmp_path, capsys) -> None:
    settings = settings_for(hsim, config_path, tmp_path)
    settings = replace(
        settings, ui=replace(settings.ui, read_only=True), read_only_source="--read-only"
    )
    assert webhooks_cmd.run(cli("register", "https://hooks.example.com"), settings) == 2
    assert "read-only" in capsys.readouterr().err
    assert not hsim.hooks.hooks and config_path.read_text(encoding="utf-8") == ORIGINAL
    assert not [r for r in hsim.records if "webhook" in r.message_id]


def test_register_refuses_a_plain_http_public_url(hsim, config_path, tmp_path, capsys) -> None:
    settings = settings_for(hsim, config_path, tmp_path)
    assert webhooks_cmd.run(cli("register", "http://hooks.example.com"), settings) == 2
    assert "https://" in capsys.readouterr().err and not hsim.hooks.hooks


def test_status_healthy_then_disabled_after_ten_failures(
    hsim, world, config_path, tmp_path, capsys
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"  # nobody answers there: every attempt fails
    settings = settings_for(hsim, config_path, tmp_path)
    assert webhooks_cmd.run(cli("register", url, "--sendo-campaign", CAMPAIGN), settings) == 0
    capsys.readouterr()
    assert webhooks_cmd.run(cli("status", "--sendo-campaign", CAMPAIGN), settings) == 0
    healthy = capsys.readouterr().out
    assert "active" in healthy and "last success never" in healthy and "UNHEALTHY" not in healthy
    for _ in range(3):
        world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=world.now())
    assert hsim.dispatcher.flush()
    for _ in range(8):  # retries: a minute after the failure, then doubling
        world.advance(3600)
        assert hsim.dispatcher.flush()
    (sd,) = hooks_of(hsim, Provider.SENTDM)
    assert not sd.is_active
    assert webhooks_cmd.run(cli("status", "--sendo-campaign", CAMPAIGN, "--json"), settings) == 5
    rows = {h["provider"]: h for h in json.loads(capsys.readouterr().out)["webhooks"]}
    assert rows["sentdm"]["active"] is False and rows["sentdm"]["problem"] == "disabled"
    assert rows["sentdm"]["consecutive_failures"] >= 10 and rows["sentdm"]["failed_log_rows"] == 3
    assert rows["sendo"]["healthy"] is True and rows["sendo"]["campaign"] == CAMPAIGN
    assert webhooks_cmd.run(cli("status", "--sendo-campaign", CAMPAIGN), settings) == 5
    assert "DISABLED" in capsys.readouterr().out


async def test_a_receiver_with_the_registered_secrets_accepts_signed_deliveries(
    hsim, world, config_path, tmp_path
) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    settings = settings_for(hsim, config_path, tmp_path)
    placeholder = WebhookReceiver(store, WebhookCredentials.from_values("", "x"), port=0)
    await placeholder.start()  # bind a port to register, then serve it with the real secrets
    port = placeholder.port
    await placeholder.stop()
    providers = Providers(settings)
    try:
        result = await register(
            settings, providers.clients, f"http://127.0.0.1:{port}", campaigns=[CAMPAIGN]
        )
    finally:
        await providers.aclose()
    assert result.written_to == config_path
    credentials = WebhookCredentials.from_settings(load(config_path, env={}))
    receiver = WebhookReceiver(store, credentials, port=port)
    await receiver.start()
    try:
        sd = world.add_message(
            Provider.SENTDM, [(0, "QUEUED"), (1, "DELIVERED")], created=world.now()
        )
        so = world.add_message(
            Provider.SENDO, [(0, "CREATED"), (1, "DELIVERED")], campaign=CAMPAIGN, created=0.0
        )
        world.advance(2)
        assert await asyncio.to_thread(hsim.dispatcher.flush)
        for _ in range(1500):  # the writes land in a thread: wait for them, up to 30 s
            rows = [store.row(sd.id), store.row(so.id)]
            if all(r is not None and r.status == Status.DELIVERED.value for r in rows):
                break
            await asyncio.sleep(0.02)
        assert [r.status if r else None for r in rows] == [Status.DELIVERED.value] * 2
    finally:
        await receiver.stop()
        store.close()
    for hook in hsim.hooks.hooks.values():
        assert all(row.http_status_code == 200 for row in hook.log), hook.provider


def test_one_provider_failing_keeps_what_the_other_gave(
    hsim, config_path, tmp_path, capsys
) -> None:
    settings = settings_for(hsim, config_path, tmp_path)
    settings = settings.with_provider(Provider.SENDO, api_key=Secret("not-the-key-at-all"))
    args = cli("register", "https://hooks.example.com", "--sendo-campaign", CAMPAIGN)
    assert webhooks_cmd.run(args, settings) == 4  # Sendo refused the key
    captured = capsys.readouterr()
    assert "Sendo rejected the API key" in captured.err and "not-the-key" not in captured.err
    (sd,) = hooks_of(hsim, Provider.SENTDM)
    assert load(config_path, env={}).sentdm.webhook_secret.reveal() == sd.secret  # not lost
    assert "Sent.dm: created" in captured.out and not hooks_of(hsim, Provider.SENDO)
    assert webhooks_cmd.run(cli("status", "--sendo-campaign", CAMPAIGN), settings) == 4
    captured = capsys.readouterr()
    assert sd.id in captured.out and "Sendo rejected the API key" in captured.err
