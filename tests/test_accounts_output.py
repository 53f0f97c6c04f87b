"""The account shown: `get --json`, `export` (CSV and JSON), metrics, the status line."""

from __future__ import annotations

import csv
import io
import json

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.test_accounts import OPS2, SENDO_DEFAULT, with_accounts
from tests.test_poller import live
from tui.commands import get
from tui.commands.poll import _metrics_for
from tui.config_accounts import Account
from tui.export import write_export
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.election import leases_for
from tui.providers.budget import Health, HealthState
from tui.providers.lookup import Providers
from tui.simulator.accounts import SENDO_ACCOUNT_2
from tui.store import ListFilter, SQLiteStore


def test_get_json_names_the_account_that_answered(settings, world, sim, capsys) -> None:
    live(world)
    settings = with_accounts(settings)
    msg = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1, account=SENDO_ACCOUNT_2)
    assert get.run(settings, msg.id, None, True, False) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["id"] == msg.id and out["account"] == "ops2"
    store = SQLiteStore(settings.history_path())
    try:
        assert store.account_of(msg.id) == "ops2"  # recorded: later refreshes ask ops2 only
    finally:
        store.close()


def test_export_carries_the_account(open_store) -> None:
    store = open_store()
    store.track([MessageRef(i, Provider.SENDO) for i in ("x-1", "x-2")])
    store.set_accounts([("x-1", "ops2")])
    out = io.StringIO()
    assert write_export(store, ListFilter(), "csv", out) == 2
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["x-1"]["account"] == "ops2" and rows["x-2"]["account"] == ""
    out = io.StringIO()
    write_export(store, ListFilter(account="ops2"), "json", out)
    assert [(i["id"], i["account"]) for i in json.loads(out.getvalue())] == [("x-1", "ops2")]


async def test_metrics_label_the_account(settings, world, sim, tmp_path) -> None:
    live(world)
    settings = with_accounts(settings)
    msg = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1, account=SENDO_ACCOUNT_2)
    store = SQLiteStore(tmp_path / "m.sqlite3")
    providers = Providers(settings)
    leases = leases_for(settings, store, providers.accounts)
    try:
        metrics = _metrics_for(store, providers, leases)
        await providers.locate(MessageRef(msg.id, Provider.SENDO))  # default: 404, then ops2
        metrics.provider_request(Provider.SENDO, "ok", account="+14155550123")  # never a label
    finally:
        await providers.aclose()
        store.close()
    samples = [
        s
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        for s in family.samples
    ]

    def value(name: str, **labels: str) -> float | None:
        found = [s.value for s in samples if s.name == name and s.labels == labels]
        return found[0] if found else None

    requests = "sendwatch_account_requests_total"
    assert value(requests, provider="sendo", account="ops2", outcome="ok") == 1
    assert value(requests, provider="sendo", account="default", outcome="not_found") == 1
    assert value(requests, provider="sendo", account="other", outcome="ok") == 1
    assert value("sendwatch_provider_requests_total", provider="sendo", outcome="ok") == 2
    for account in ("default", "ops2"):
        assert (
            value("sendwatch_rate_limit_remaining", provider="sendo", account=account) is not None
        )
        assert value("sendwatch_lease_held", provider="sendo", account=account) == 0
    for account in ("retail", "support"):
        assert value("sendwatch_lease_held", provider="sentdm", account=account) == 0
    assert all("+1415" not in v for s in samples for v in s.labels.values())


def test_the_status_line_shows_each_accounts_health() -> None:
    from tui.app.widgets.status_bar import StatusSnapshot, status_line

    ok, limited = Health(HealthState.OK), Health(HealthState.RATE_LIMITED)
    health = {Provider.SENTDM: ok, Provider.SENDO: limited}
    snap = StatusSnapshot(
        health, {}, accounts={Provider.SENDO: [("default", ok), ("ops2", limited)]}
    )
    line = status_line(snap, 0.0).plain
    assert "Sendo ▲ rate-limited (default ● ops2 ▲ rate-limited)" in line
    assert "Sent.dm ● ok │" in line  # one account: as before
    assert Account(Provider.SENDO) == SENDO_DEFAULT and OPS2.name == "ops2"


def test_the_find_bar_account_token_matches_configured_names() -> None:
    from tui.app.query import parse_query

    assert parse_query("account:OPS2 failed").filter.account == "ops2"
    assert parse_query("account:eu").filter.account == "eu"


def test_send_from_a_named_account_and_export_it(env, world, tmp_path) -> None:
    """`send --account ops2` sends with that account's key and records it; `export --account`
    lists only its messages (real subprocesses against the simulator)."""
    from tests.test_cli import run
    from tui.simulator import SENDO_KEY_2

    config = tmp_path / "config.toml"
    config.write_text('[[providers.sendo.accounts]]\nname = "ops2"\n', encoding="utf-8")
    config.chmod(0o600)
    env = {**env, "SENDWATCH_CONFIG": str(config), "SENDWATCH_SENDO_KEY_OPS2": SENDO_KEY_2}
    common = ["send", "--provider", "sendo", "--sendo-campaign", "SPRNG001", "--text", "hi"]
    common += ["--to", "+14155550100", "--json"]
    sent = run([*common, "--account", "ops2"], env)
    assert sent.returncode == 0, sent.stderr
    first = json.loads(sent.stdout)["messages"][0]["id"]
    assert run(common, env).returncode == 0  # the default account
    out = run(["export", "--account", "ops2", "--format", "json"], env)
    assert out.returncode == 0, out.stderr
    assert [(m["id"], m["account"]) for m in json.loads(out.stdout)] == [(first, "ops2")]
    unknown = run([*common, "--account", "nope"], env)
    assert unknown.returncode == 2 and "no account named 'nope'" in unknown.stderr
