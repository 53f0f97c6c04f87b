"""The simulator's webhook deliveries (issue 10): signed like the providers, retried, duplicated now and then.

Each test runs a tiny receiver of its own on 127.0.0.1 that checks the signature independently.
"""

from __future__ import annotations

import time

import pytest

from tests.test_simulator import failed_sentdm
from tui.model import Provider

EPOCH = 1_767_225_600.0


class Receiver:
    """A stdlib endpoint that checks each push on its own terms and records what it accepted."""

    def __init__(self, secret: str, token: str, answers: list[int] | None = None) -> None:
        import base64
        import hashlib
        import hmac
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.events: list[tuple[str, dict, dict]] = []  # (path, headers, body)
        self.rejected: list[str] = []
        self.answers = list(answers or [])
        key = base64.b64decode(secret[len("whsec_") :])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["content-length"]))
                h = {k.lower(): v for k, v in self.headers.items()}
                if self.path == "/webhooks/sentdm":
                    signed = (
                        f"{h.get('x-webhook-id')}.{h.get('x-webhook-timestamp')}.".encode() + raw
                    )
                    expected = (
                        "v1,"
                        + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
                    )
                    ok = (
                        hmac.compare_digest(expected, h.get("x-webhook-signature", ""))
                        and abs(time.time() - int(h["x-webhook-timestamp"])) < 300
                    )
                else:
                    ok = hmac.compare_digest(h.get("x-webhook-token", ""), token)
                status = outer.answers.pop(0) if outer.answers else 200
                if not ok:
                    outer.rejected.append(self.path)
                    status = 401
                elif status < 300:
                    outer.events.append((self.path, h, json.loads(raw)))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        import threading

        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    from tui.simulator.webhooks import SIM_WEBHOOK_SECRET, SIM_WEBHOOK_TOKEN

    r = Receiver(SIM_WEBHOOK_SECRET, SIM_WEBHOOK_TOKEN)
    yield r
    r.close()


def sender(world, url, **kw):
    from tui.simulator.webhooks import WebhookConfig, WebhookSender

    options = dict(
        backoff=0.01, interval=0.02, duplicate_rate=0.0, legacy_rate=0.0, other_family_rate=0.0
    )
    return WebhookSender(world, WebhookConfig(url, **{**options, **kw})).start()


def test_webhooks_follow_the_world_clock(world, receiver) -> None:
    s = sender(world, receiver.url)
    try:
        sd = failed_sentdm(world, created=0.0)
        so = world.add_message(
            Provider.SENDO,
            [(0, "CREATED"), (1, "QUEUED"), (2, "SENT"), (4, "DELIVERED")],
            created=0.0,
        )
        assert s.flush()
        first = [(p, b.get("event") or b["message"]["status"]) for p, _, b in receiver.events]
        assert sorted(first) == [
            ("/webhooks/sendo", "CREATED"),
            ("/webhooks/sentdm", "message.queued"),
        ]
        world.advance(10)
        assert s.flush()
    finally:
        s.stop()
    assert not receiver.rejected
    sd_events = [b for p, _, b in receiver.events if p == "/webhooks/sentdm"]
    assert [b["event"] for b in sd_events] == [
        "message.queued",
        "message.sent",
        "message.failed",
    ]  # no PROCESSED subtype
    last = sd_events[-1]
    assert last["field"] == "message" and last["request_id"] and last["timestamp"].endswith("Z")
    p = last["payload"]
    assert (p["message_status"], p["message_id"], p["reason_code"]) == (
        "FAILED",
        sd.id,
        "DELIVERY_007",
    )
    assert p["updated_at"] == "2026-01-01T00:00:09Z" and p["channel"] == "sms" and "reason" in p
    so_events = [b for path, _, b in receiver.events if path == "/webhooks/sendo"]
    assert [b["message"]["status"] for b in so_events] == ["CREATED", "QUEUED", "SENT", "DELIVERED"]
    assert so_events[0]["type"] == "message.status" and so_events[0]["message"]["id"] == so.id
    assert (
        so_events[0]["message"]["sentAt"] is None and so_events[0]["message"]["errorCode"] is None
    )  # null, not absent
    ids = [h["x-webhook-event-id"] for path, h, _ in receiver.events if path == "/webhooks/sentdm"]
    assert len(set(ids)) == len(ids)


def test_webhook_retries_keep_the_event_id(world) -> None:
    from tui.simulator.webhooks import SIM_WEBHOOK_SECRET, SIM_WEBHOOK_TOKEN

    r = Receiver(SIM_WEBHOOK_SECRET, SIM_WEBHOOK_TOKEN, answers=[500, 503])
    s = sender(world, r.url, providers=(Provider.SENTDM,))
    try:
        world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=0.0)
        assert s.flush()
    finally:
        s.stop()
        r.close()
    assert [a.status for a in s.attempts] == [500, 503, 200]
    assert len({a.event_id for a in s.attempts}) == 1 and len(r.events) == 1
    assert r.events[0][1]["x-webhook-event-id"] == s.attempts[0].event_id


def test_webhook_gives_up_after_retries_and_survives_a_dead_endpoint(world) -> None:
    s = sender(world, "http://127.0.0.1:9", retries=2, timeout=0.5)
    try:
        world.add_message(Provider.SENDO, [(0, "CREATED")], created=0.0)
        assert s.flush()
    finally:
        s.stop()
    assert [a.status for a in s.attempts] == [None, None, None] and len(s.given_up) == 1


def test_webhook_duplicates_legacy_and_other_families(world, receiver) -> None:
    s = sender(
        world,
        receiver.url,
        duplicate_rate=1.0,
        legacy_rate=1.0,
        other_family_rate=1.0,
        providers=(Provider.SENTDM,),
    )
    try:
        world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=0.0)
        assert s.flush()
    finally:
        s.stop()
    bodies = [b for _, _, b in receiver.events]
    message_events = [b for b in bodies if b["field"] == "message"]
    assert (
        len(message_events) == 2 and message_events[0] == message_events[1]
    )  # the same event, twice
    assert message_events[0]["sub_type"] == "message.queued" and "event" not in message_events[0]
    assert [b["field"] for b in bodies].count("templates") == 1
    ids = [h["x-webhook-event-id"] for _, h, b in receiver.events if b["field"] == "message"]
    assert ids[0] == ids[1]


def test_wrong_secret_is_detectable(world) -> None:
    import base64

    from tui.simulator.webhooks import SIM_WEBHOOK_TOKEN

    other = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
    r = Receiver(other, SIM_WEBHOOK_TOKEN)
    s = sender(world, r.url, retries=0)
    try:
        world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=0.0)
        world.add_message(Provider.SENDO, [(0, "CREATED")], created=0.0)
        assert s.flush()
    finally:
        s.stop()
        r.close()
    assert r.rejected == ["/webhooks/sentdm"] and [p for p, _, _ in r.events] == ["/webhooks/sendo"]


def test_simulate_command_posts_signed_webhooks_and_never_prints_the_secret(tmp_path) -> None:
    import base64
    import os
    import signal
    import subprocess
    import sys

    secret = "whsec_" + base64.b64encode(b"a-user-secret-nobody-may-see-123").decode()
    token = "user-token-that-stays-private"
    r = Receiver(secret, token)
    code = (
        "import sys; from tui.commands import simulate; "
        f"sys.exit(simulate.run(0, 7, 20, None, 200.0, webhook_url={r.url!r}, webhook_secret={secret!r}, webhook_token={token!r}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_PROXY": "127.0.0.1"},
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not {p for p, _, _ in r.events} >= {
            "/webhooks/sentdm",
            "/webhooks/sendo",
        }:
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        r.close()
    assert {p for p, _, _ in r.events} == {"/webhooks/sentdm", "/webhooks/sendo"} and not r.rejected
    assert proc.returncode == 0 and "Posting every status change" in out and "Webhooks:" in out
    assert secret not in out and secret[6:] not in out and token not in out


def test_simulate_command_refuses_a_bad_secret_without_echoing_it(capsys) -> None:
    from tui.commands import simulate

    assert (
        simulate.run(
            0, 7, 1, None, webhook_url="http://127.0.0.1:9", webhook_secret="whsec_c2hvcnQ="
        )
        == 2
    )
    assert "c2hvcnQ" not in capsys.readouterr().out
    assert simulate.run(0, 7, 1, None, webhook_url="ftp://example.com") == 2
