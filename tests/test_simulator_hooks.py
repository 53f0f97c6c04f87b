"""Registered webhooks (issue #17): Sent.dm's management API and delivery log, Sendo's campaign
webhooks, deliveries signed and retried on the world clock, the drop switch. Real HTTP both ways:
each test runs its own receiver on 127.0.0.1 that checks signatures independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tui.model import Provider
from tui.simulator import SENDO_KEY, SENTDM_KEY, SimConfig, Simulator, SimWorld

SD = {"x-api-key": SENTDM_KEY}
SO = {"authorization": f"Bearer {SENDO_KEY}"}


class Receiver:
    """Accepts what verifies (Sent.dm signature with `secret`, Sendo token `token`); `answers`
    are the statuses of the next accepted posts (then 200); `hang` stalls every answer."""

    def __init__(self) -> None:
        self.secret = ""
        self.token = ""
        self.answers: list[int] = []
        self.got: list[tuple[dict[str, str], bytes]] = []  # accepted (headers, body)
        self.rejected = 0
        self.hang = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["content-length"]))
                h = {k.lower(): v for k, v in self.headers.items()}
                if outer.hang.is_set():
                    outer.release.wait(10)
                    return
                if "x-webhook-token" in h:
                    ok = hmac.compare_digest(h["x-webhook-token"], outer.token)
                else:
                    key = base64.b64decode(outer.secret.removeprefix("whsec_"))
                    signed = f"{h['x-webhook-id']}.{h['x-webhook-timestamp']}.".encode() + raw
                    mac = hmac.new(key, signed, hashlib.sha256).digest()
                    ok = hmac.compare_digest(
                        "v1," + base64.b64encode(mac).decode(), h["x-webhook-signature"]
                    )
                status = (outer.answers.pop(0) if outer.answers else 200) if ok else 401
                if ok and status < 300:
                    outer.got.append((h, raw))
                outer.rejected += not ok
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for _, raw in self.got]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hsim(world: SimWorld):
    s = Simulator(world, SimConfig(webhook_timeout_scale=0.01, webhook_interval=0.01)).start()
    yield s
    s.stop()
    assert not s.dispatcher.errors


@pytest.fixture
def http(hsim: Simulator):
    with httpx.Client(base_url=hsim.base_url, timeout=10.0) as client:
        yield client


def create(http, receiver: Receiver, headers: dict[str, str] = SD, **fields: Any) -> dict:
    body = {"display_name": "ops", "endpoint_url": receiver.url, **fields}
    r = http.post("/v3/webhooks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    receiver.secret = data["signing_secret"]
    return data


def log(http, hook_id: str, **params: Any) -> list[dict]:
    r = http.get(f"/v3/webhooks/{hook_id}/events", params=params, headers=SD)
    assert r.status_code == 200, r.text
    return r.json()["data"]["events"]


def delivered(world: SimWorld, steps=((0, "QUEUED"), (1, "SENT"), (3, "DELIVERED")), **kw):
    return world.add_message(Provider.SENTDM, list(steps), created=world.now(), **kw)


def test_create_get_list_update_delete(http, receiver) -> None:
    made = create(http, receiver, event_types=["message"], retry_count=2, timeout_seconds=10)
    assert (
        made["signing_secret"].startswith("whsec_")
        and len(base64.b64decode(made["signing_secret"][6:])) == 32
    )
    assert (made["is_active"], made["retry_count"], made["timeout_seconds"]) == (True, 2, 10)
    assert made["consecutive_failures"] == 0 and made["last_successful_delivery_at"] is None
    got = http.get(f"/v3/webhooks/{made['id']}", headers=SD).json()["data"]
    assert (
        got["signing_secret"] is None and {**got, "signing_secret": made["signing_secret"]} == made
    )
    for name in ("b", "c"):
        create(http, receiver, display_name=name)
    page = http.get("/v3/webhooks?page=1&page_size=2", headers=SD).json()["data"]
    assert len(page["webhooks"]) == 2 and page["pagination"]["has_more"] is True
    assert page["pagination"]["total_count"] == 3 and page["pagination"]["cursors"] is None
    assert all(w["signing_secret"] is None for w in page["webhooks"])
    found = http.get("/v3/webhooks?search=C", headers=SD).json()["data"]["webhooks"]
    assert [w["display_name"] for w in found] == ["c"]
    changed = http.put(
        f"/v3/webhooks/{made['id']}",
        json={"display_name": "renamed", "event_filters": {"message": ["delivered"]}},
        headers=SD,
    ).json()["data"]
    assert changed["display_name"] == "renamed" and changed["event_filters"] == {
        "message": ["delivered"]
    }
    assert changed["signing_secret"] is None and changed["updated_at"]
    gone = http.delete(f"/v3/webhooks/{made['id']}", headers=SD)
    assert gone.status_code == 204 and gone.content == b""
    missing = http.get(f"/v3/webhooks/{made['id']}", headers=SD)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "RESOURCE_008"
    bad = http.get("/v3/webhooks/not-an-id", headers=SD)
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "Invalid webhook ID format."


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"endpoint_url": "ftp://x.example"}, "VALIDATION_001"),
        ({"display_name": ""}, "VALIDATION_001"),
        ({"retry_count": 0}, "VALIDATION_005"),
        ({"retry_count": 6}, "VALIDATION_005"),
        ({"timeout_seconds": 4}, "VALIDATION_005"),
        ({"event_types": "message"}, "VALIDATION_001"),
    ],
)
def test_create_validation(http, fields, code) -> None:
    body = {"display_name": "x", "endpoint_url": "https://hooks.example/a", **fields}
    r = http.post("/v3/webhooks", json=body, headers=SD)
    assert r.status_code == 400 and r.json()["error"]["code"] == code


def test_create_honours_idempotency_and_sandbox(http, hsim, receiver) -> None:
    key = {**SD, "Idempotency-Key": "hook-1"}
    body = {"display_name": "once", "endpoint_url": receiver.url}
    first = http.post("/v3/webhooks", json=body, headers=key)
    again = http.post("/v3/webhooks", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["data"] == first.json()["data"] and len(hsim.hooks.hooks) == 1
    sandbox = http.post("/v3/webhooks", json={**body, "sandbox": True}, headers=SD)
    assert sandbox.status_code == 201 and len(hsim.hooks.hooks) == 1


def test_event_types(http) -> None:
    data = http.get("/v3/webhooks/event-types", headers=SD).json()["data"]
    message = next(t for t in data["event_types"] if t["name"] == "message")
    subs = {s["name"] for s in message["sub_types"]}
    assert {"message.delivered", "message.cancelled", "message.blocked"} <= subs


def test_deliveries_are_signed_and_logged_one_row_per_event(http, hsim, world, receiver) -> None:
    hook = create(http, receiver)
    m = delivered(world)
    world.advance(5)
    assert hsim.dispatcher.flush()
    assert [b["event"] for b in receiver.bodies()] == [
        "message.queued",
        "message.sent",
        "message.delivered",
    ]
    assert receiver.rejected == 0
    assert {h["x-webhook-id"] for h, _ in receiver.got} == {hook["id"]}
    rows = log(http, hook["id"])
    assert [r["event_type"] for r in rows] == [
        "message.delivered",
        "message.sent",
        "message.queued",
    ]
    for row, (headers, raw) in zip(reversed(rows), receiver.got, strict=True):
        assert row["id"] == headers["x-webhook-event-id"] and row["event_data"] == json.loads(raw)
        assert (row["delivery_status"], row["http_status_code"], row["delivery_attempts"]) == (
            "delivered",
            200,
            1,
        )
        assert row["error_message"] is None and row["response_body"] == "ok"
        assert row["created_at"] and row["processing_completed_at"]
    assert rows[0]["event_data"]["payload"]["message_id"] == m.id
    assert log(http, hook["id"], search="sent")[0]["event_type"] == "message.sent"
    state = http.get(f"/v3/webhooks/{hook['id']}", headers=SD).json()["data"]
    assert state["last_successful_delivery_at"] and state["consecutive_failures"] == 0


def test_event_filters_and_what_happened_before_creation(http, hsim, world, receiver) -> None:
    early = delivered(world)
    world.advance(5)
    create(http, receiver, event_filters={"message": ["delivered", "failed"]})
    delivered(world)
    world.advance(5)
    assert hsim.dispatcher.flush()
    assert [b["event"] for b in receiver.bodies()] == ["message.delivered"]
    assert all(b["payload"]["message_id"] != early.id for b in receiver.bodies())


def test_retries_on_the_world_clock_keep_the_event_id(http, hsim, world, receiver) -> None:
    hook = create(http, receiver)
    receiver.answers = [500, 503]
    delivered(world, steps=[(0, "QUEUED")])
    assert hsim.dispatcher.flush()
    (row,) = log(http, hook["id"])
    assert (row["delivery_status"], row["http_status_code"], row["delivery_attempts"]) == (
        "retrying",
        500,
        1,
    )
    assert row["error_message"] == "HTTP 500"
    assert (
        http.get(f"/v3/webhooks/{hook['id']}", headers=SD).json()["data"]["consecutive_failures"]
        == 1
    )
    world.advance(59)
    assert hsim.dispatcher.flush() and log(http, hook["id"])[0]["delivery_attempts"] == 1
    world.advance(1)  # a minute after the failure
    assert hsim.dispatcher.flush() and log(http, hook["id"])[0]["http_status_code"] == 503
    world.advance(120)  # then two
    assert hsim.dispatcher.flush()
    (row,) = log(http, hook["id"])
    assert (row["delivery_status"], row["http_status_code"], row["delivery_attempts"]) == (
        "delivered",
        200,
        3,
    )
    assert len(receiver.got) == 1 and receiver.got[0][0]["x-webhook-event-id"] == row["id"]
    state = http.get(f"/v3/webhooks/{hook['id']}", headers=SD).json()["data"]
    assert state["consecutive_failures"] == 0 and state["last_successful_delivery_at"]


def test_retry_count_and_timeout_are_honoured(http, hsim, world, receiver) -> None:
    hook = create(http, receiver, retry_count=1, timeout_seconds=5)  # 0.05 s here
    receiver.hang.set()
    delivered(world, steps=[(0, "QUEUED")])
    assert hsim.dispatcher.flush()
    world.advance(60)
    assert hsim.dispatcher.flush()
    world.advance(3600)
    assert hsim.dispatcher.flush()
    (row,) = log(http, hook["id"])
    assert (row["delivery_status"], row["http_status_code"], row["delivery_attempts"]) == (
        "failed",
        None,
        2,
    )
    assert row["error_message"] == "timeout" and not receiver.got


def test_ten_failed_attempts_disable_the_webhook_until_toggled(http, hsim, world, receiver) -> None:
    hook = create(http, receiver, retry_count=1)
    receiver.answers = [500] * 10
    for _ in range(5):
        delivered(world, steps=[(0, "QUEUED")])
    assert hsim.dispatcher.flush()
    world.advance(60)
    assert hsim.dispatcher.flush()
    state = http.get(f"/v3/webhooks/{hook['id']}", headers=SD).json()["data"]
    assert (state["is_active"], state["consecutive_failures"]) == (False, 10)
    delivered(world, steps=[(0, "QUEUED")])
    world.advance(1)
    assert hsim.dispatcher.flush() and len(log(http, hook["id"])) == 5  # nothing new while off
    inactive = http.get("/v3/webhooks?is_active=false", headers=SD).json()["data"]["webhooks"]
    assert [w["id"] for w in inactive] == [hook["id"]]
    on = http.patch(
        f"/v3/webhooks/{hook['id']}/toggle-status", json={"is_active": True}, headers=SD
    )
    assert on.status_code == 200 and on.json()["data"]["is_active"] is True
    assert (
        on.json()["data"]["consecutive_failures"] == 0
        and on.json()["data"]["signing_secret"] is None
    )
    delivered(world, steps=[(0, "QUEUED")])
    world.advance(1)
    assert hsim.dispatcher.flush() and len(receiver.got) == 1
    bad = http.patch(f"/v3/webhooks/{hook['id']}/toggle-status", json={}, headers=SD)
    assert bad.status_code == 400


def test_rotate_secret_invalidates_the_old_one_at_once(http, hsim, world, receiver) -> None:
    hook = create(http, receiver)
    old = receiver.secret
    r = http.post(f"/v3/webhooks/{hook['id']}/rotate-secret", json={}, headers=SD)
    new = r.json()["data"]["signing_secret"]
    assert r.status_code == 200 and new.startswith("whsec_") and new != old
    assert (
        http.get(f"/v3/webhooks/{hook['id']}", headers=SD).json()["data"]["signing_secret"] is None
    )
    receiver.answers = []
    delivered(world, steps=[(0, "QUEUED")])
    assert hsim.dispatcher.flush()
    assert receiver.rejected == 1 and not receiver.got  # the receiver still on the old secret
    receiver.secret = new
    world.advance(60)
    assert hsim.dispatcher.flush() and len(receiver.got) == 1


def test_the_test_endpoint_delivers_once_without_retry(http, hsim, world, receiver) -> None:
    hook = create(http, receiver)
    r = http.post(f"/v3/webhooks/{hook['id']}/test", json={}, headers=SD)
    assert r.status_code == 400 and r.json()["error"]["message"] == "Event type is required"
    ok = http.post(
        f"/v3/webhooks/{hook['id']}/test", json={"event_type": "message.sent"}, headers=SD
    )
    assert ok.json()["data"] == {"success": True, "message": "Test event delivered successfully"}
    assert [b["event"] for b in receiver.bodies()] == ["message.sent"]
    receiver.answers = [500]
    failed = http.post(
        f"/v3/webhooks/{hook['id']}/test", json={"event_type": "message.sent"}, headers=SD
    )
    assert failed.json()["data"]["success"] is False
    world.advance(7200)
    assert hsim.dispatcher.flush() and len(receiver.got) == 1  # never retried
    rows = log(http, hook["id"])
    assert [(r["delivery_status"], r["delivery_attempts"]) for r in rows] == [
        ("failed", 1),
        ("delivered", 1),
    ]
    assert (
        http.get(f"/v3/webhooks/{hook['id']}", headers=SD).json()["data"]["consecutive_failures"]
        == 0
    )


def test_dropped_deliveries_are_logged_as_timeouts_never_received(
    http, hsim, world, receiver
) -> None:
    hook = create(http, receiver, retry_count=2)
    hsim.hooks.drop(event_types={"message.delivered"})
    m = delivered(world)
    world.advance(5)
    assert hsim.dispatcher.flush()
    for step in (60, 120):
        world.advance(step)
        assert hsim.dispatcher.flush()
    assert [b["event"] for b in receiver.bodies()] == ["message.queued", "message.sent"]
    row = log(http, hook["id"], search="delivered")[0]
    assert (row["delivery_status"], row["http_status_code"], row["delivery_attempts"]) == (
        "failed",
        None,
        3,
    )
    assert row["error_message"] == "timeout" and row["event_data"]["payload"]["message_id"] == m.id
    assert [r.id for r in hsim.hooks.dropped] == [row["id"]]


def test_a_share_of_deliveries_is_dropped_deterministically(http, hsim, world, receiver) -> None:
    hook = create(http, receiver, retry_count=1)
    hsim.hooks.drop(0.3)
    for _ in range(20):
        delivered(world, steps=[(0, "QUEUED")])
    assert hsim.dispatcher.flush()
    hsim.hooks.drop()  # off again: later events all arrive
    world.advance(60)
    assert hsim.dispatcher.flush()
    rows = log(http, hook["id"], page_size=100)
    lost = {r["id"] for r in rows if r["delivery_status"] == "failed"}
    got = {h["x-webhook-event-id"] for h, _ in receiver.got}
    assert lost == {r.id for r in hsim.hooks.dropped} and 0 < len(lost) < 20
    assert got | lost == {r["id"] for r in rows} and not got & lost


def test_log_ids_can_differ_from_event_ids(world, receiver) -> None:
    sim = Simulator(world, SimConfig(webhook_log_ids_match=False, webhook_interval=0.01)).start()
    try:
        with httpx.Client(base_url=sim.base_url) as http:
            hook = create(http, receiver)
            delivered(world, steps=[(0, "QUEUED")])
            assert sim.dispatcher.flush()
            (row,) = log(http, hook["id"])
    finally:
        sim.stop()
    assert row["id"] != receiver.got[0][0]["x-webhook-event-id"]


# -- Sendo ------------------------------------------------------------------------------------
def sendo_hook(http, receiver: Receiver, campaign: str = "ABCD1234", **fields: Any) -> dict:
    body = {"url": receiver.url, "eventTypes": ["message.status"], **fields}
    r = http.post(f"/v1/campaign/{campaign}/webhooks", json=body, headers=SO)
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    hook = r.json()["webhook"]
    receiver.token = hook["signature"]
    return hook


def test_sendo_campaign_webhooks(http, hsim, world, receiver) -> None:
    hook = sendo_hook(http, receiver, name="events")
    assert len(hook["signature"]) == 16 and hook["campaignId"] == "ABCD1234"
    assert hook["numbers"] == ["+14159436397"] and hook["createdAt"].endswith("Z")
    listed = http.get("/v1/campaign/ABCD1234/webhooks", headers=SO).json()["webhooks"]
    assert listed == [hook] and http.get("/v1/campaign/OTHER123/webhooks", headers=SO).json() == {
        "webhooks": []
    }
    mine = world.add_message(
        Provider.SENDO, [(0, "CREATED"), (1, "SENT")], campaign="ABCD1234", created=0.0
    )
    world.add_message(Provider.SENDO, [(0, "CREATED")], campaign="OTHER123", created=0.0)
    world.advance(2)
    assert hsim.dispatcher.flush()
    bodies = receiver.bodies()
    assert [(b["type"], b["message"]["id"], b["message"]["status"]) for b in bodies] == [
        ("message.status", mine.id, "CREATED"),
        ("message.status", mine.id, "SENT"),
    ]
    assert {h["x-webhook-token"] for h, _ in receiver.got} == {hook["signature"]}
    patched = http.patch(f"/v1/webhook/{hook['id']}", json={"name": "renamed"}, headers=SO).json()
    assert patched["success"] is True and patched["webhook"]["name"] == "renamed"
    for body in ({"url": "nope"}, {"eventTypes": ["message.bogus"]}, {"numbers": ["555"]}):
        assert http.patch(f"/v1/webhook/{hook['id']}", json=body, headers=SO).status_code == 400
    bad = http.post("/v1/campaign/ABCD1234/webhooks", json={"url": receiver.url}, headers=SO)
    assert bad.status_code == 400 and isinstance(bad.json()["error"], str)
    assert http.delete(f"/v1/webhook/{hook['id']}", headers=SO).json() == {"success": True}
    assert http.patch(f"/v1/webhook/{hook['id']}", json={}, headers=SO).status_code == 404


def test_sendo_retries_six_times_doubling_and_never_disables(http, hsim, world, receiver) -> None:
    sendo_hook(http, receiver)
    receiver.answers = [500] * 7
    world.add_message(Provider.SENDO, [(0, "CREATED")], campaign="ABCD1234", created=0.0)
    assert hsim.dispatcher.flush()
    hook = next(iter(hsim.hooks.hooks.values()))
    for tries, wait in enumerate((60, 120, 240, 480, 960, 1920), start=1):
        world.advance(wait - 1)
        assert hsim.dispatcher.flush() and hook.log[0].attempts == tries
        world.advance(1)
        assert hsim.dispatcher.flush() and hook.log[0].attempts == tries + 1
    world.advance(86400)
    assert hsim.dispatcher.flush()
    assert receiver.answers == [] and not receiver.got  # 7 tries: the first and 6 retries
    assert hook.log[0].attempts == 7 and hook.log[0].status == "failed" and hook.is_active
    world.add_message(Provider.SENDO, [(0, "CREATED")], campaign="ABCD1234", created=world.now())
    world.advance(1)
    assert hsim.dispatcher.flush() and len(receiver.got) == 1  # still delivering
