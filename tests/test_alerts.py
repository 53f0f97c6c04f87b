"""Alerts end to end: a real history filled over real HTTP from the simulator, a local webhook
receiver on 127.0.0.1, the engine driven by an injected clock, and the bell written to a stream."""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tui.alerts.engine import AlertEngine
from tui.alerts.notify import Notifier, bell_sequence, clean
from tui.alerts.settings import AlertRule, AlertSettings, RuleKind
from tui.commands import wait
from tui.config import Secret
from tui.model import Provider
from tui.polling.election import lease_for
from tui.simulator import SENDO_KEY, SENTDM_KEY
from tui.store import SQLiteStore

DELIVERED = [(0, "QUEUED"), (0, "SENT"), (0, "DELIVERED")]
BALANCE = [(0, "QUEUED"), (0, "FAILED")]
HOOK_TOKEN = "T000/B000/hook-token-0123456789abcdef"


class Receiver:
    """A Slack-like incoming webhook on 127.0.0.1: records every body; fails the first `fail` with 500."""

    def __init__(self, fail: int = 0) -> None:
        self.bodies: list[dict] = []
        self.raw: list[bytes] = []
        self.attempts = 0
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.attempts += 1
                if not self.path.startswith("/services/"):
                    self.send_response(404)
                    self.end_headers()
                    return
                if receiver.attempts <= receiver.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.raw.append(body)
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/{HOOK_TOKEN}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def live(world) -> None:
    world.epoch = time.time() - world.now()


def alerts_for(
    url: str, *rules: AlertRule, hold_down: float = 60.0, bell: bool = False
) -> AlertSettings:
    return AlertSettings(
        webhook_url=Secret(url),
        bell=bell,
        hold_down=hold_down,
        rules=rules,
        retries=3,
        backoff=0.01,
        timeout=5.0,
    )


CODE_RULE = AlertRule(
    "balance", RuleKind.CODE, 1, window=600.0, campaign="vip +14155550100", code="BUSINESS_003"
)


def fill(settings, world, failed: int, delivered: int = 1) -> None:
    """Messages polled to their final status over real HTTP (by `sendwatch wait`), in one campaign."""
    msgs = [
        world.add_message(
            Provider.SENTDM,
            BALANCE,
            error=("BUSINESS_003", "Insufficient balance"),
            to="+14155550100",
        )
        for _ in range(failed)
    ]
    msgs += [world.add_message(Provider.SENTDM, DELIVERED) for _ in range(delivered)]
    store = SQLiteStore(settings.history_path())
    from tui.ids import MessageRef

    store.track([MessageRef(m.id, m.provider) for m in msgs], campaign=CODE_RULE.campaign)
    store.close()
    parser = argparse.ArgumentParser()
    wait.add_parser(parser.add_subparsers(), [])
    args = parser.parse_args(["wait", "--campaign", CODE_RULE.campaign, "--timeout", "60s"])
    assert wait.run(args, settings, AlertSettings()) in (0, 1)


def engine_for(settings, alerts: AlertSettings, **kw) -> AlertEngine:
    store = SQLiteStore(settings.history_path())
    return AlertEngine.for_settings(store, settings, alerts, **kw)


def test_fires_once_and_resolves_once_after_hold_down(settings, world, sim, receiver) -> None:
    fill(settings, world, failed=2)
    engine = engine_for(settings, alerts_for(receiver.url, CODE_RULE, hold_down=60.0))
    now = time.time()
    assert [t.state for t in engine.tick(now).transitions] == ["firing"]
    assert engine.tick(now + 30).transitions == []  # still holds: nothing new
    assert engine.tick(now + 30).status == "⚠ balance"
    # the failures leave the 10-minute window: clear, but held down for a minute
    assert engine.tick(now + 700).transitions == []
    assert engine.tick(now + 740).status == "⚠ balance"
    assert [t.state for t in engine.tick(now + 761).transitions] == ["resolved"]
    assert engine.tick(now + 800).status is None
    assert engine.notifier.flush()
    assert [b["state"] for b in receiver.bodies] == ["firing", "resolved"]
    first = receiver.bodies[0]
    assert first["rule"] == "balance" and first["value"] == 2 and first["threshold"] == 1
    assert first["campaign"] == "vip +1415•••0100" and "text" in first and first["provider"] is None


def test_no_flapping_inside_the_hold_down(settings, world, sim, receiver) -> None:
    fill(settings, world, failed=1)
    rule = AlertRule("rate", RuleKind.FAILURE_RATE, 40.0, window=600.0, min_messages=2)
    engine = engine_for(settings, alerts_for(receiver.url, rule, hold_down=120.0))
    now = time.time()
    assert [t.state for t in engine.tick(now).transitions] == ["firing"]  # 1 of 2 = 50% > 40%
    assert engine.tick(now + 601).transitions == []  # clear for a moment...
    assert engine.evaluate(now + 300) == []  # ...and holding again: neither resolved nor re-fired
    assert engine.tick(now + 700).transitions == []
    assert [t.state for t in engine.tick(now + 821).transitions] == ["resolved"]
    assert engine.notifier.flush()
    assert len(receiver.bodies) == 2


def test_retried_after_a_500(settings, world, sim) -> None:
    fill(settings, world, failed=1)
    flaky = Receiver(fail=2)
    try:
        engine = engine_for(settings, alerts_for(flaky.url, CODE_RULE))
        engine.tick(time.time())
        assert engine.notifier.flush()
        assert flaky.attempts == 3
        assert [b["state"] for b in flaky.bodies] == ["firing"]
    finally:
        flaky.stop()


def test_a_4xx_is_not_retried_and_nothing_raises(receiver) -> None:
    gone = Notifier(Secret(receiver.url.replace("/services/", "/gone/")), retries=3, backoff=0.01)
    result = gone.post({"text": "x"})
    assert (result.delivered, result.attempts, result.error) == (False, 1, "HTTP 404")
    assert receiver.attempts == 1
    closed = Notifier(Secret(f"http://127.0.0.1:9/services/{HOOK_TOKEN}"), retries=1, backoff=0.01)
    result = closed.post({"text": "x"})
    assert not result.delivered and result.attempts == 2 and HOOK_TOKEN not in result.error
    gone.close()
    closed.close()


def test_two_instances_on_one_history_send_once(settings, world, sim, receiver) -> None:
    fill(settings, world, failed=1)
    alerts = alerts_for(receiver.url, CODE_RULE)
    a_store, b_store = SQLiteStore(settings.history_path()), SQLiteStore(settings.history_path())
    a_lease = lease_for(settings, a_store, Provider.SENTDM)
    b_lease = lease_for(settings, b_store, Provider.SENTDM)
    try:
        assert a_lease.try_acquire() and not b_lease.try_acquire()
        a = AlertEngine.for_settings(
            a_store, settings, alerts, should_evaluate=lambda: a_lease.held
        )
        b = AlertEngine.for_settings(
            b_store, settings, alerts, should_evaluate=lambda: b_lease.held
        )
        now = time.time()
        a.tick(now), b.tick(now)
        assert b.tick(now).status == "⚠ balance"  # the one that does not poll shows it too
        # both evaluating at once (a lease handover) still produces the transition once
        a.interval = b.interval = 0
        b.should_evaluate = lambda: True
        a.tick(now + 1), b.tick(now + 1)
        # a restart (a new engine on the same history) does not send "firing" again
        c = engine_for(settings, alerts)
        assert c.tick(now + 2).transitions == []
        assert a.notifier.flush() and b.notifier.flush()
        assert [body["state"] for body in receiver.bodies] == ["firing"]
    finally:
        a_lease.release()
        b_lease.release()


def test_payload_carries_no_secret_and_no_full_number(settings, world, sim, receiver) -> None:
    fill(settings, world, failed=1)
    engine = engine_for(settings, alerts_for(receiver.url, CODE_RULE))
    engine.tick(time.time())
    assert engine.notifier.flush()
    assert receiver.raw
    raw = b"".join(receiver.raw).decode()
    for secret in (SENTDM_KEY, SENDO_KEY, HOOK_TOKEN, "+14155550100", "14155550100"):
        assert secret not in raw
    assert "+1415•••0100" in json.loads(receiver.raw[0])["campaign"]


def test_secrets_quoted_in_text_are_redacted() -> None:
    key = Secret("sk-live-0123456789abcdef")
    assert clean(f"key {key.reveal()} to +1 (415) 555-0100 on 2026-01-01", [key]) == (
        "key [redacted] to +1415•••0100 on 2026-01-01"
    )


def test_bell_written_to_the_terminal(settings, world, sim, monkeypatch) -> None:
    fill(settings, world, failed=1)
    terminal = io.StringIO()
    monkeypatch.delenv("TMUX", raising=False)
    engine = engine_for(settings, alerts_for("", CODE_RULE, bell=True), bell_stream=terminal)
    engine.tick(time.time())
    text = "sendwatch alert firing: balance — 1 failed with BUSINESS_003 in the last 10m00s"
    assert terminal.getvalue() == f"\a\x1b]9;{text}\a"


def test_bell_wrapped_for_tmux_and_stripped_of_controls() -> None:
    seq = bell_sequence("bad\x1b]52;c;evil\x07 alert", tmux=True)
    assert seq == "\a\x1bPtmux;\x1b\x1b]9;bad ]52;c;evil  alert\a\x1b\\"


def test_alerts_evaluated_in_wait(settings, world, sim, receiver) -> None:
    """`wait` holds the lease while it polls, so it evaluates and delivers (once) before exiting."""
    msg = world.add_message(
        Provider.SENTDM, BALANCE, error=("BUSINESS_003", "Insufficient balance")
    )
    rule = AlertRule("balance", RuleKind.CODE, 1, window=600.0, code="BUSINESS_003")
    parser = argparse.ArgumentParser()
    wait.add_parser(parser.add_subparsers(), [])
    args = parser.parse_args(["wait", f"sentdm:{msg.id}", "--timeout", "60s"])
    assert wait.run(args, settings, alerts_for(receiver.url, rule)) == 0
    assert [b["rule"] for b in receiver.bodies] == ["balance"]
    store = SQLiteStore(settings.history_path())  # the state is in the history, for every instance
    try:
        assert json.loads(store.alert_states()["balance"])["firing"] is True
    finally:
        store.close()


def test_provider_down_and_webhooks_silent_from_the_callers_hooks(settings, sim, receiver) -> None:
    down = AlertRule("down", RuleKind.PROVIDER_DOWN, 60.0)
    silent = AlertRule("quiet", RuleKind.WEBHOOKS_SILENT, 600.0)
    engine = engine_for(settings, alerts_for(receiver.url, down, silent, hold_down=0))
    now = time.time()
    engine.provider_health = lambda: {"sendo": ("offline", now - 90), "sentdm": ("ok", None)}
    engine.webhooks_last = lambda: {"sentdm": now - 30}
    assert [(t.rule.name, t.provider) for t in engine.tick(now).transitions] == [("down", "sendo")]
    engine.webhooks_last = lambda: {"sentdm": now - 700}
    engine.provider_health = lambda: {"sendo": ("ok", None)}
    engine.interval = 0
    assert [(t.rule.name, t.state) for t in engine.tick(now).transitions] == [
        ("down", "resolved"),
        ("quiet", "firing"),
    ]
    assert engine.notifier.flush()
    assert "Sent.dm" in receiver.bodies[-1]["text"]


def test_stuck_messages(settings, world, sim, receiver) -> None:
    stuck = [world.add_message(Provider.SENDO, [(0, "QUEUED"), (0, "SENT")]) for _ in range(2)]
    from tui.ids import MessageRef

    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, m.provider) for m in stuck])
    parser = argparse.ArgumentParser()
    wait.add_parser(parser.add_subparsers(), [])
    wait.run(
        parser.parse_args(["wait", *(f"sendo:{m.id}" for m in stuck), "--timeout", "2s"]),
        settings,
        AlertSettings(),
    )
    rule = AlertRule("stuck", RuleKind.STUCK, 1800.0, min_messages=2)
    engine = AlertEngine.for_settings(store, settings, alerts_for(receiver.url, rule))
    now = time.time()
    assert engine.tick(now).transitions == []
    engine.interval = 0
    fired = engine.tick(now + 1801).transitions
    assert [t.state for t in fired] == ["firing"] and "sent 2" in fired[0].text


async def test_hooks_follow_the_pollers_election_and_health(settings, sim) -> None:
    import asyncio

    from tui.alerts.hooks import polls_here, provider_health
    from tui.polling.policy import PollPolicy
    from tui.polling.poller import Poller
    from tui.providers.lookup import Providers

    store = SQLiteStore(settings.history_path())
    providers = Providers(settings)
    leases = {owner: lease_for(settings, store, owner) for owner in (*providers.clients, None)}
    poller = Poller(store, providers, PollPolicy(), leases=leases)
    evaluates = polls_here(poller)
    assert not evaluates()  # not elected yet
    assert provider_health(providers)() == {"sentdm": ("ready", None), "sendo": ("ready", None)}
    task = asyncio.ensure_future(poller.run())
    try:
        deadline = time.monotonic() + 30
        while not evaluates():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
    finally:
        poller.stop()
        await task
        await providers.aclose()
    assert polls_here(Poller(store, providers, PollPolicy()))()  # no leases: a single user polls


def test_a_slow_webhook_never_holds_up_the_tick(settings, world, sim) -> None:
    fill(settings, world, failed=1)
    failing = Receiver(fail=100)
    try:
        slow = replace(alerts_for(failing.url, CODE_RULE), retries=3, backoff=5.0)
        engine = engine_for(settings, slow)
        fired = engine.tick(time.time())
        assert [t.state for t in fired.transitions] == ["firing"]
        assert not engine.notifier.flush(timeout=0)  # the tick returned; delivery is still retrying
        assert fired.status == "⚠ balance"
    finally:
        engine.notifier.close(timeout=0)
        failing.stop()


def test_the_state_follows_the_lease_across_machines(open_store, settings, tmp_path) -> None:
    """Two instances on one history with nothing local in common (on PostgreSQL: two machines):
    the one that polls first sends "firing"; after the lease moves, the other neither sends it
    again nor forgets to send "resolved"."""
    from tui.model import Message, MessageError, Status

    receiver = Receiver()
    a_store, b_store = open_store(), open_store()
    try:
        now = time.time()
        failed = Message(
            id="00000000-0000-4000-8000-000000000001",
            provider=Provider.SENTDM,
            status=Status.FAILED,
            provider_status="FAILED",
            error=MessageError("BUSINESS_003", "Insufficient balance"),
        )
        a_store.record_fetch(failed, next_poll=None, fetched_at=now)
        rule = AlertRule("balance", RuleKind.CODE, 1, window=600.0, code="BUSINESS_003")
        alerts = alerts_for(receiver.url, rule, hold_down=0.0)
        machine_b = replace(settings, path=tmp_path / "b" / "config.toml")
        a = AlertEngine.for_settings(a_store, settings, alerts)
        assert [t.state for t in a.tick(now).transitions] == ["firing"]
        b = AlertEngine.for_settings(b_store, machine_b, alerts)
        assert b.tick(now + 1).transitions == []  # already firing: not sent again
        assert b.tick(now + 1).status == "⚠ balance"
        # the failure leaves the window: the instance polling now resolves it
        assert [t.state for t in b.tick(now + 700).transitions] == ["resolved"]
        assert a.notifier.flush() and b.notifier.flush()
        assert [body["state"] for body in receiver.bodies] == ["firing", "resolved"]
    finally:
        receiver.stop()
        a_store.close()
        b_store.close()
