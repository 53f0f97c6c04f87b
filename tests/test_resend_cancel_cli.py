"""`sendwatch resend` and `sendwatch cancel` end to end: the CLI over real HTTP to the simulator,
the history a real SQLite file (issue #16)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import sim_env
from tui import cli, paths
from tui.config import load
from tui.model import EventSource, Provider
from tui.simulator import Simulator, SimWorld
from tui.store import ListFilter
from tui.store.open import open_store
from tui.timeline import by_attempt, merge_events


@pytest.fixture
def run_cli(sim: Simulator, monkeypatch, tmp_path, capsys):
    for key, value in sim_env(sim).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SENDWATCH_CONFIG", str(tmp_path / "none.toml"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def history():
    return open_store(load(paths.config_file()))


def posts(sim: Simulator, status: int) -> int:
    """Answers the simulator gave with this status (202 is only ever a send or a resend)."""
    return sum(1 for r in sim.records if r.status == status)


def delivered(world: SimWorld):
    return world.add_message(
        Provider.SENTDM, [(0, "QUEUED"), (1, "SENT"), (2, "DELIVERED")], created=-10
    )


def test_resend_requeues_the_same_id_polls_it_to_final_and_counts_spend_twice(
    run_cli, world, sim
) -> None:
    m = delivered(world)
    world.plan_resend(m.id, "DELIVERED")
    code, out, err = run_cli("resend", m.id, "--yes", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["sent"] is True and report["eligible"] == 1
    assert report["messages"][0] == {
        "id": m.id,
        "result": "done",
        "status": "queued",
        "detail": "resent: now queued",
    }
    store = history()
    try:
        stored = store.get(m.id)
        assert stored.message.attempt == 2 and stored.message.status.value == "queued"
        assert stored.next_poll is not None  # polling resumed
    finally:
        store.close()
    world.advance(60)
    code, out, err = run_cli("wait", m.id, "--timeout", "60s")  # polls it until final
    assert code == 0, err
    store = history()
    try:
        stored = store.get(m.id)
        assert stored.message.status.value == "delivered" and stored.message.attempt == 2
        attempts = by_attempt(merge_events(stored.message.events))
        assert [n for n, _ in attempts] == [1, 2]
        assert [
            e.provider_status.upper() for e in attempts[1][1] if e.source is EventSource.PROVIDER
        ][-1] == "DELIVERED"
        price = stored.message.price
        assert price and store.spend(ListFilter()) == pytest.approx(2 * price)
        assert len(store.attempts(m.id)) == 2
    finally:
        store.close()
    code, out, err = run_cli("get", m.id)  # the human timeline, grouped by attempt
    assert code == 0, err
    assert out.index("Attempt 1 · sent") < out.index("Attempt 2 · resent")


def test_filtered_is_refused_without_a_resend(run_cli, world, sim) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "FILTERED")], created=-5)
    code, out, err = run_cli("resend", m.id, "--yes")
    assert code == 2
    assert "never resendable" in err and "nothing to resend" in err
    assert posts(sim, 202) == 0 and posts(sim, 409) == 0
    assert world.messages[m.id].attempts == []


def test_no_terminal_and_no_yes_sends_nothing(run_cli, world, sim) -> None:
    m = delivered(world)
    code, out, err = run_cli("resend", m.id)
    assert code == 2
    assert "nothing was resent: no terminal to confirm on" in err and "--yes" in err
    assert posts(sim, 202) == 0 and world.messages[m.id].attempts == []


def test_cancel_a_scheduled_message_then_again(run_cli, world, sim) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "SCHEDULED"), (600, "QUEUED")], created=0)
    code, out, err = run_cli("cancel", m.id, "--yes")
    assert code == 0, err
    assert "cancelled: now cancelled" in out
    code, out, err = run_cli("cancel", m.id, "--yes", "--json")  # a repeated cancel: 200 again
    assert code == 0, err
    assert json.loads(out)["messages"][0]["result"] == "done"
    store = history()
    try:
        assert store.get(m.id).message.status.value == "cancelled"
    finally:
        store.close()


def test_cancel_of_a_released_message_is_explained_then_looked_up_again(
    run_cli, world, sim
) -> None:
    m = world.add_message(
        Provider.SENTDM, [(0, "SCHEDULED"), (30, "QUEUED"), (31, "DELIVERED")], created=0
    )
    code, out, err = run_cli("get", m.id)  # the history knows it as scheduled
    assert code == 0, err
    world.advance(90)  # released and delivered meanwhile
    code, out, err = run_cli("cancel", m.id, "--yes", "--json")
    assert code == 1, err
    outcome = json.loads(out)["messages"][0]
    assert outcome["result"] == "refused" and "409 BUSINESS_006" in outcome["detail"]
    assert "finished" in outcome["detail"] and outcome["status"] == "delivered"
    store = history()
    try:
        assert store.get(m.id).message.status.value == "delivered"  # the fresh GET, recorded
    finally:
        store.close()


def test_sendo_ids_are_refused_with_exit_2_and_no_request(run_cli, world, sim) -> None:
    m = world.add_message(Provider.SENDO, [(0, "QUEUED"), (1, "DELIVERED")], created=-5)
    before = len(sim.records)
    for action in ("resend", "cancel"):
        code, out, err = run_cli(action, f"sendo:{m.id}", "--yes")
        assert code == 2 and f"Sendo has no {action}" in err
    assert len(sim.records) == before


@pytest.mark.parametrize("action", ["resend", "cancel"])
def test_read_only_refuses_with_zero_requests(run_cli, world, sim, action, monkeypatch) -> None:
    m = delivered(world)
    before = len(sim.records)
    code, out, err = run_cli("--read-only", action, m.id, "--yes")
    assert code == 2 and "read-only mode is on (--read-only)" in err
    monkeypatch.setenv("SENDWATCH_READ_ONLY", "1")
    code, out, err = run_cli(action, m.id, "--yes")
    assert code == 2 and "read-only mode is on" in err
    assert len(sim.records) == before


def test_campaign_and_status_select_the_blocked_ones(run_cli, world, sim) -> None:
    blocked = [
        world.add_message(
            Provider.SENTDM,
            [(0, "QUEUED"), (0.4, "BLOCKED")],
            error=("BUSINESS_003", "Insufficient balance"),
            created=-10,
        )
        for _ in range(2)
    ]
    fine = delivered(world)
    ids = "\n".join(m.id for m in [*blocked, fine])
    store = history()
    try:
        from tui.ids import MessageRef

        store.track([MessageRef(i, Provider.SENTDM) for i in ids.split()], campaign="promo")
    finally:
        store.close()
    assert run_cli("wait", "--campaign", "promo", "--timeout", "60s")[0] in (0, 1)
    code, out, err = run_cli(
        "resend", "--campaign", "promo", "--status", "blocked", "--yes", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert sorted(o["id"] for o in report["messages"]) == sorted(m.id for m in blocked)
    assert all(world.messages[m.id].attempts for m in blocked)
    assert world.messages[fine.id].attempts == []


def test_an_id_no_provider_knows_exits_3(run_cli, sim) -> None:
    code, out, err = run_cli("cancel", "00000000-0000-4000-8000-000000000000", "--yes")
    assert code == 3 and "was not found" in err
    assert posts(sim, 200) == 0  # only the lookups, answered 404


def test_a_rejected_key_exits_4_and_stops_the_batch(run_cli, world, sim, monkeypatch) -> None:
    first, second = delivered(world), delivered(world)
    assert run_cli("get", first.id)[0] == 0 and run_cli("get", second.id)[0] == 0
    monkeypatch.setenv("SENT_DM_API_KEY", "11111111-1111-4111-8111-111111111111")
    code, out, err = run_cli("resend", first.id, second.id, "--yes", "--json")
    assert code == 4, err
    results = [o["result"] for o in json.loads(out)["messages"]]
    assert results == ["failed", "skipped"]
    assert posts(sim, 401) == 1 and posts(sim, 202) == 0
    code, out, err = run_cli("resend", "00000000-0000-4000-8000-000000000000", "--yes")
    assert code == 4 and "SENT_DM_API_KEY" in err  # the lookup's rejection, not "nothing to do"
