"""The simulator speaks both providers' current dialect (docs/providers.md), over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from tui.model import Provider
from tui.simulator import SENDO_KEY, SENTDM_KEY, SimConfig, Simulator, SimWorld
from tui.simulator.catalog import SENDO_STATUSES, SENTDM_STATUSES
from tui.simulator.demo import HOSTILE_BODY, build_world
from tui.simulator.world import campaign_id

EPOCH = 1_767_225_600.0
SD = {"x-api-key": SENTDM_KEY}
SO = {"authorization": f"Bearer {SENDO_KEY}"}


@pytest.fixture
def http(sim: Simulator):
    with httpx.Client(base_url=sim.base_url, timeout=5.0) as client:
        yield client


def failed_sentdm(world: SimWorld, **kw):
    kw.setdefault("created", -20)
    return world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "PROCESSED"), (2, "SENT"), (9, "FAILED")],
        error=("DELIVERY_007", "The carrier reported the handset as unreachable"),
        **kw,
    )


def test_sentdm_message_shape_and_reasons(http, world) -> None:
    m = failed_sentdm(world)
    r = http.get(f"/v3/messages/{m.id}", headers=SD)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"success", "data", "error", "meta"} and body["success"] is True
    data = body["data"]
    assert data["status"] == "FAILED" and data["id"] == m.id
    assert (data["reason_code"], data["reason"]) == m.error
    assert "error_code" not in data and "error_message" not in data
    assert [e["status"] for e in data["events"]] == ["QUEUED", "PROCESSED", "SENT", "FAILED"]
    assert (
        data["events"][-1]["reason_code"] == "DELIVERY_007"
        and "reason_code" not in data["events"][0]
    )
    assert isinstance(data["price"], float) and "scheduled_at" not in data
    assert set(data["message_body"]) == {
        "header",
        "content",
        "footer",
        "buttons",
        "headerMedia",
        "media",
        "subject",
    }


def test_lower_case_steps_are_answered_upper_case(http, world) -> None:
    m = world.add_message(Provider.SENDO, [(0, "created"), (1, "sent"), (2, "opened")], created=-5)
    assert http.get(f"/v1/message/{m.id}", headers=SO).json()["message"]["status"] == "READ"
    e = world.add_message(
        Provider.SENDO, [(0, "created"), (1, "failed-after-too-many-attempts")], created=-5
    )
    assert http.get(f"/v1/message/{e.id}", headers=SO).json()["message"]["status"] == "EXPIRED"


def test_legacy_failure_only_in_the_event_description(http, world) -> None:
    m = failed_sentdm(world, legacy_reason=True)
    data = http.get(f"/v3/messages/{m.id}", headers=SD).json()["data"]
    assert "reason_code" not in data and "reason" not in data
    assert (
        data["events"][-1]["description"].startswith("DELIVERY_007")
        and "reason_code" not in data["events"][-1]
    )


def test_activities_newest_first_with_string_prices_and_paging(http, world) -> None:
    m = failed_sentdm(world)
    data = http.get(f"/v3/messages/{m.id}/activities", headers=SD).json()["data"]
    assert data["message_id"] == m.id
    assert [a["status"] for a in data["activities"]] == ["FAILED", "SENT", "PROCESSED", "QUEUED"]
    first = data["activities"][0]
    assert first["reason_code"] == "DELIVERY_007" and first["reason"] and first["from"]
    assert len(first["price"].split(".")[1]) == 4 and first["active_contact_price"] == "0.0150"
    assert data["pagination"] == {
        "page": 1,
        "page_size": 20,
        "total_count": 4,
        "total_pages": 1,
        "has_more": False,
    }
    page2 = http.get(f"/v3/messages/{m.id}/activities?page=2&page_size=3", headers=SD).json()[
        "data"
    ]
    assert [a["status"] for a in page2["activities"]] == ["QUEUED"] and page2["pagination"][
        "has_more"
    ] is False


def test_cancelled_after_scheduled_carries_scheduled_at(http, world) -> None:
    m = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (0.3, "SCHEDULED"), (50, "CANCELLED")],
        created=-60,
        scheduled_at=3600.0,
    )
    data = http.get(f"/v3/messages/{m.id}", headers=SD).json()["data"]
    assert data["status"] == "CANCELLED" and data["scheduled_at"].startswith("2026-01-01T01:00:00")
    acts = http.get(f"/v3/messages/{m.id}/activities", headers=SD).json()["data"]["activities"]
    assert [("scheduled_at" in a) for a in acts] == [True, True, False]


def test_sendo_message_shape(http, world) -> None:
    m = world.add_message(
        Provider.SENDO,
        [(0, "CREATED"), (1, "QUEUED"), (2, "SENT"), (5, "FAILED")],
        error=(1009, "Unreachable handset"),
        created=-10,
        campaign="spring-sale",
    )
    msg = http.get(f"/v1/message/{m.id}", headers=SO).json()["message"]
    assert (
        msg["status"] == "FAILED"
        and msg["errorCode"] == 1009
        and msg["errorMessage"] == "Unreachable handset"
    )
    assert msg["campaignId"] == campaign_id("spring-sale") and len(msg["campaignId"]) == 8
    assert msg["type"] == "SMS" and msg["direction"] == "OUTBOUND"
    assert (
        "scheduledAt" not in msg and "mediaUrls" not in msg
    )  # optional keys absent in REST answers
    s = world.add_message(
        Provider.SENDO, [(0, "CREATED"), (1, "FAILED")], error=("1360", "Landline"), created=-5
    )
    assert http.get(f"/v1/message/{s.id}", headers=SO).json()["message"]["errorCode"] == "1360"
    mms = world.add_message(
        Provider.SENDO, [(0, "CREATED"), (1, "SENT")], channel="mms", created=-5
    )
    got = http.get(f"/v1/message/{mms.id}", headers=SO).json()["message"]
    assert got["type"] == "MMS" and got["mediaUrls"] and "errorCode" not in got


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({}, 401, "AUTH_001"),
        ({"x-api-key": "wrong"}, 401, "AUTH_002"),
        ({**SD, "x-profile-id": "00000000-0000-4000-8000-000000000009"}, 403, "AUTH_004"),
    ],
)
def test_sentdm_auth(http, world, headers, status, code) -> None:
    m = failed_sentdm(world)
    r = http.get(f"/v3/messages/{m.id}", headers=headers)
    assert (
        r.status_code == status
        and r.json()["error"]["code"] == code
        and r.json()["success"] is False
    )
    assert "x-ratelimit-limit" in r.headers  # "All API responses include" them


@pytest.mark.parametrize("headers, status", [({}, 401), ({"authorization": "Bearer nope"}, 403)])
def test_sendo_auth(http, world, headers, status) -> None:
    m = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1)
    r = http.get(f"/v1/message/{m.id}", headers=headers)
    assert r.status_code == status and isinstance(r.json()["error"], str)
    assert r.headers["x-ratelimit-limit"] == "20"


def test_sentdm_rate_limit_headers_and_429(http, world, sim) -> None:
    m = failed_sentdm(world)
    sim.set_rate_limit(Provider.SENTDM, per_minute=6, burst=2)  # one token per 10 s
    answers = [http.get(f"/v3/messages/{m.id}", headers=SD) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
    assert int(answers[0].headers["x-ratelimit-reset"]) >= int(time.time())
    last = answers[-1]
    assert last.json()["error"]["code"] == "BUSINESS_002" and int(last.headers["retry-after"]) >= 1
    missing = http.get("/v3/messages/00000000-0000-4000-8000-000000000000", headers=SD)
    assert "x-ratelimit-limit" in missing.headers


def test_sentdm_429_problem_json(world) -> None:
    sim = Simulator(
        world, SimConfig(sentdm_per_minute=6, sentdm_burst=1, sentdm_429_style="problem")
    ).start()
    try:
        m = failed_sentdm(world)
        with httpx.Client(base_url=sim.base_url) as http:
            http.get(f"/v3/messages/{m.id}", headers=SD)
            r = http.get(f"/v3/messages/{m.id}", headers=SD)
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 429 and r.json()["title"] and "retry-after" in r.headers
    finally:
        sim.stop()


def burst_in_one_second(http, url: str, n: int) -> list[httpx.Response]:
    """`n` requests inside one wall-clock second (Sendo's window), retried if they straddled two."""
    for _ in range(5):
        time.sleep(1.01 - time.time() % 1)  # the start of a fresh window
        answers = [http.get(url, headers=SO) for _ in range(n)]
        if len({a.headers["x-ratelimit-reset"] for a in answers}) == 1:
            return answers
    raise AssertionError("could not fit the requests in one second")


def test_sendo_limit_is_per_second(world) -> None:
    sim = Simulator(world, SimConfig(sendo_limit=3)).start()
    try:
        m = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1)
        with httpx.Client(base_url=sim.base_url) as http:
            answers = burst_in_one_second(http, f"/v1/message/{m.id}", 4)
            time.sleep(1.01 - time.time() % 1)
            after = http.get(f"/v1/message/{m.id}", headers=SO)
        assert [a.status_code for a in answers] == [200, 200, 200, 429] and after.status_code == 200
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert (
            answers[-1].json() == {"error": "Too many requests"}
            and "retry-after" not in answers[-1].headers
        )
        assert after.headers["x-ratelimit-remaining"] == "2"
    finally:
        sim.stop()


def test_sendo_default_limit_is_20_per_second(http, world) -> None:
    assert (SimConfig().sendo_limit, SimConfig().sendo_window) == (20, 1.0)
    m = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1)
    codes = [a.status_code for a in burst_in_one_second(http, f"/v1/message/{m.id}", 21)]
    assert codes.count(200) == 20 and codes[-1] == 429


@pytest.mark.parametrize("unit", ["epoch", "epoch_ms", "delta"])
def test_sendo_reset_units(world, unit) -> None:
    sim = Simulator(world, SimConfig(sendo_reset_unit=unit)).start()
    try:
        with httpx.Client(base_url=sim.base_url) as http:
            now = time.time()
            r = http.get("/v1/message/00000000-0000-4000-8000-000000000000", headers=SO)
        assert r.status_code == 404 and r.headers["x-ratelimit-limit"] == "20"
        reset = int(r.headers["x-ratelimit-reset"])
        low, high = {
            "epoch": (now, now + 2),
            "epoch_ms": (now * 1000, now * 1000 + 2000),
            "delta": (0, 1),
        }[unit]
        assert low - 1 <= reset <= high
    finally:
        sim.stop()


def test_sendo_list_pages_a_campaign(http, world) -> None:
    msgs = world.add_campaign(25, name="ABCD1234", spread=0.0, providers=(Provider.SENDO,))
    world.add_campaign(3, name="OTHER123", spread=0.0, providers=(Provider.SENDO,))
    seen: list[str] = []
    for skip in (0, 10, 20, 30):
        r = http.get(f"/v1/message/list?campaign=ABCD1234&limit=10&skip={skip}", headers=SO)
        assert r.status_code == 200 and "x-ratelimit-remaining" in r.headers
        seen += [m["id"] for m in r.json()["messages"]]
    assert sorted(seen) == sorted(m.id for m in msgs) and len(seen) == 25
    assert all(
        m["campaignId"] == "ABCD1234"
        for m in http.get("/v1/message/list?campaign=ABCD1234", headers=SO).json()["messages"]
    )
    assert (
        len(http.get("/v1/message/list?campaign=ABCD1234&limit=500", headers=SO).json()["messages"])
        == 25
    )
    assert http.get("/v1/message/list?campaign=ABCD1234", headers={}).status_code == 401
    assert http.get("/v1/message/list?campaign=ABCD1234&limit=x", headers=SO).status_code == 400


def test_random_progressions_use_only_documented_statuses() -> None:
    world = SimWorld(seed=3, epoch=EPOCH)
    world.freeze(at=0.0)
    msgs = world.add_campaign(400, spread=0.0)
    for m in msgs:
        allowed = SENTDM_STATUSES if m.provider is Provider.SENTDM else SENDO_STATUSES
        assert all(st in allowed for _, st in m.steps), m.steps
        if m.steps[-1][1] in ("FAILED", "BLOCKED", "FILTERED"):
            assert m.error and m.error[0]
        if "READ" in [st for _, st in m.steps] and m.provider is Provider.SENTDM:
            assert m.channel in ("whatsapp", "rcs")
    finals = {(m.provider, m.steps[-1][1]) for m in msgs}
    assert {
        (Provider.SENTDM, s) for s in ("DELIVERED", "FAILED", "BLOCKED", "FILTERED", "READ")
    } <= finals
    assert {(Provider.SENDO, s) for s in ("DELIVERED", "FAILED", "EXPIRED")} <= finals


def test_demo_shows_every_telling_case() -> None:
    world, tracked = build_world(seed=7, campaign_size=60, epoch=EPOCH, rich=False)
    world.advance(45)
    sim = Simulator(
        world, SimConfig(sentdm_per_minute=60_000, sentdm_burst=1000, sendo_limit=1000)
    ).start()
    try:
        with httpx.Client(base_url=sim.base_url) as http:
            got = [
                (
                    m,
                    http.get(f"/v3/messages/{m.id}", headers=SD).json()["data"]
                    if m.provider is Provider.SENTDM
                    else http.get(f"/v1/message/{m.id}", headers=SO).json()["message"],
                )
                for m in tracked
            ]
    finally:
        sim.stop()
    sd = [(m, d) for m, d in got if m.provider is Provider.SENTDM]
    so = [(m, d) for m, d in got if m.provider is Provider.SENDO]
    assert any(d["status"] == "DELIVERED" and d["channel"] == "sms" for _, d in sd)
    assert any(
        d["status"] == "READ" and d["channel"] == "whatsapp" and d["message_body"]["buttons"]
        for _, d in sd
    )
    for status in ("BLOCKED", "FILTERED", "FAILED"):
        assert any(d["status"] == status and d.get("reason_code") for _, d in sd), status
    assert any(
        d["status"] == "CANCELLED"
        and d.get("scheduled_at")
        and "SCHEDULED" in [e["status"] for e in d["events"]]
        for _, d in sd
    )
    assert any(d["status"] in ("PROCESSED", "ROUTED") for _, d in sd)
    assert any(d["status"] == "FAILED" and "reason_code" not in d for _, d in sd)  # legacy
    assert any(d["channel"] == "mms" and d["message_body"]["media"] for _, d in sd)
    assert {"DELIVERED", "READ", "EXPIRED"} <= {d["status"] for _, d in so}
    assert any(isinstance(d.get("errorCode"), int) for _, d in so) and any(
        isinstance(d.get("errorCode"), str) for _, d in so
    )
    assert any(d["type"] == "MMS" and d["status"] == "SENT" for _, d in so)
    assert any(d["body"] == HOSTILE_BODY for _, d in so)
    assert any(d.get("scheduledAt") and d["status"] == "DELIVERED" for _, d in so)
    again, tracked2 = build_world(seed=7, campaign_size=60, epoch=EPOCH, rich=False)
    assert [(m.id, m.steps, m.error) for m in tracked] == [
        (m.id, m.steps, m.error) for m in tracked2
    ]


def test_faults_still_work(http, world, sim) -> None:
    m = failed_sentdm(world)
    sim.config.fail_next[Provider.SENTDM] = 1
    assert http.get(f"/v3/messages/{m.id}", headers=SD).status_code == 500
    sim.set_fault(Provider.SENTDM, "wrong_shape")
    assert http.get(f"/v3/messages/{m.id}", headers=SD).json()["data"] == ["unexpected"]
    sim.set_fault(Provider.SENTDM, "malformed")
    assert http.get(f"/v3/messages/{m.id}", headers=SD).text.startswith("<html>")
    sim.set_fault(Provider.SENTDM, "down")
    assert http.get(f"/v3/messages/{m.id}", headers=SD).status_code == 503
    sim.set_fault(Provider.SENTDM, "close")
    with pytest.raises(httpx.TransportError):
        http.get(f"/v3/messages/{m.id}", headers=SD)


# -- sending (issue 10) --------------------------------------------------------------------------
def send_sd(http, body, key: str | None = None):
    headers = {**SD, **({"Idempotency-Key": key} if key else {})}
    return http.post("/v3/messages", json=body, headers=headers)


def test_sentdm_send_fans_out_and_progresses(http, world) -> None:
    r = send_sd(
        http,
        {"to": ["+14155550123", "+14155550000"], "channel": ["sms", "whatsapp"], "text": "Hello"},
    )
    assert r.status_code == 202 and "x-ratelimit-remaining" in r.headers
    data = r.json()["data"]
    assert data["status"] == "QUEUED" and data["template_id"] is None
    assert [(x["to"], x["channel"]) for x in data["recipients"]] == [
        ("+14155550123", "sms"),
        ("+14155550123", "whatsapp"),
        ("+14155550000", "sms"),
        ("+14155550000", "whatsapp"),
    ]
    ids = [x["message_id"] for x in data["recipients"]]
    assert len(set(ids)) == 4
    world.advance(1)
    got = {i: http.get(f"/v3/messages/{i}", headers=SD).json()["data"] for i in ids}
    blocked = got[ids[2]]
    assert (
        blocked["status"] == "BLOCKED"
        and blocked["reason_code"] == "BUSINESS_003"
        and blocked["reason"] == "Insufficient balance"
    )
    assert (
        got[ids[0]]["message_body"]["content"] == "Hello"
        and got[ids[0]]["events"][0]["status"] == "QUEUED"
    )
    auto = send_sd(
        http,
        {
            "to": ["+14155550124"],
            "template": {
                "id": "7ba7b822-9dad-11d1-80b4-00c04fd430c8",
                "parameters": {"n": "123456"},
            },
        },
    ).json()["data"]
    assert (
        auto["recipients"][0]["channel"] == "sms" and auto["template_name"] == "Verification Code"
    )
    assert (
        auto["recipients"][0]["body"]
        == "Your verification code is 123456. It expires in 10 minutes."
    )


@pytest.mark.parametrize(
    "body",
    [
        {"to": [], "text": "x"},
        {"to": ["555"], "text": "x"},
        {"to": ["+14155550123"]},
        {"to": ["+14155550123"], "text": "x", "template": {"name": "Spring Sale"}},
        {"to": ["+14155550123"], "template": {"name": "No such"}},
        {"to": ["+14155550123"], "text": "x", "channel": ["fax"]},
        {"to": ["+14155550123"], "text": "x", "channel": ["mms"]},
        {"to": ["+14155550123"], "text": "x", "scheduled_at": "2026-01-01T05:00:00"},
        {"to": ["+14155550123"], "text": "x", "scheduled_at": "2026-01-01T00:00:30Z"},
        "not an object",
    ],
)
def test_sentdm_send_validation(http, body) -> None:
    r = send_sd(http, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_001"
    details = r.json()["error"]["details"]
    assert details is None or all(isinstance(v, list) and v for v in details.values())


def test_sentdm_send_idempotent_replay_and_bad_key(http, world) -> None:
    body = {"to": ["+14155550123"], "text": "once"}
    first = send_sd(http, body, "order-42_a")
    count = len(world.messages)
    again = send_sd(http, body, "order-42_a")
    assert again.status_code == 202 and again.json()["data"] == first.json()["data"]
    assert again.headers["idempotent-replayed"] == "true" and len(world.messages) == count
    assert send_sd(http, body, "other-key").json()["data"] != first.json()["data"]
    assert send_sd(http, body, "no spaces allowed").status_code == 400
    refused = send_sd(http, {"to": []}, "retry-me")
    assert (
        refused.status_code == 400 and send_sd(http, body, "retry-me").status_code == 202
    )  # a refusal is not cached


def test_sentdm_send_concurrent_duplicate_is_409(world) -> None:
    import threading

    sim = Simulator(world, SimConfig(send_seconds=0.3)).start()
    try:
        results: list[int] = []
        with httpx.Client(base_url=sim.base_url) as http:
            t = threading.Thread(
                target=lambda: results.append(
                    send_sd(http, {"to": ["+14155550123"], "text": "x"}, "dup").status_code
                )
            )
            t.start()
            while "dup" not in sim.idempotency.entries:  # the first is in flight
                time.sleep(0.01)
            second = send_sd(http, {"to": ["+14155550123"], "text": "x"}, "dup")
            t.join()
        assert (
            results == [202]
            and second.status_code == 409
            and second.json()["error"]["code"] == "CONFLICT_001"
        )
    finally:
        sim.stop()


def test_sentdm_sandbox_and_scheduled(http, world) -> None:
    count = len(world.messages)
    sandbox = send_sd(http, {"to": ["+14155550123"], "text": "test", "sandbox": True}).json()[
        "data"
    ]
    assert len(world.messages) == count  # simulated without side effects
    assert (
        http.get(f"/v3/messages/{sandbox['recipients'][0]['message_id']}", headers=SD).status_code
        == 404
    )
    held = send_sd(
        http, {"to": ["+14155550123"], "text": "later", "scheduled_at": "2026-01-01T02:00:00+01:00"}
    ).json()["data"]
    assert held["scheduled_at"] == "2026-01-01T02:00:00+01:00"
    mid = held["recipients"][0]["message_id"]
    world.advance(10)
    data = http.get(f"/v3/messages/{mid}", headers=SD).json()["data"]
    assert data["status"] == "SCHEDULED" and data["scheduled_at"].startswith("2026-01-01T01:00:00")
    world.advance(3600)
    assert http.get(f"/v3/messages/{mid}", headers=SD).json()["data"]["status"] != "SCHEDULED"


def test_sendo_send(http, world) -> None:
    ok = http.post(
        "/v1/message/send",
        headers=SO,
        json={"campaign": "ABCD1234", "body": "Hi", "to": "+14155550123", "metadata": {"ref": "7"}},
    )
    assert (
        ok.status_code == 200 and ok.json()["success"] is True and "x-ratelimit-limit" in ok.headers
    )
    msg = http.get(f"/v1/message/{ok.json()['id']}", headers=SO).json()["message"]
    assert (
        msg["status"] == "CREATED"
        and msg["campaignId"] == "ABCD1234"
        and msg["metadata"] == {"ref": "7"}
    )
    bad = http.post(
        "/v1/message/send",
        headers=SO,
        json={"campaign": "ABCD1234", "body": "Hi", "to": "+14155550000"},
    )
    world.advance(5)
    failed = http.get(f"/v1/message/{bad.json()['id']}", headers=SO).json()["message"]
    assert failed["status"] == "FAILED" and failed["errorCode"] == 1002
    mms = http.post(
        "/v1/message/send",
        headers=SO,
        json={
            "campaign": "ABCD1234",
            "body": "Look",
            "to": "+14155550124",
            "mediaUrls": ["https://cdn.example.com/a.jpg"],
        },
    ).json()
    assert http.get(f"/v1/message/{mms['id']}", headers=SO).json()["message"]["type"] == "MMS"
    for body in (
        {"campaign": "spring-sale", "body": "x", "to": "+14155550123"},
        {"campaign": "ABCD1234", "to": "+1415"},
    ):
        r = http.post("/v1/message/send", headers=SO, json=body)
        assert r.status_code == 400 and isinstance(r.json()["error"], str)
    assert http.post("/v1/message/send", json={}).status_code == 401
