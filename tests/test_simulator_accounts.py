"""Accounts (issue #17): GET /v3/me, messages and webhooks owned by one account, one rate-limit
bucket per account, x-profile-id only for the organization's own profiles. Real HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.test_simulator import burst_in_one_second
from tui.model import Provider
from tui.simulator import (
    ALLOWED_PROFILE,
    SECOND_PROFILE,
    SENDO_KEY,
    SENDO_KEY_2,
    SENTDM_KEY,
    SENTDM_PROFILE_KEY,
    SENTDM_USER_KEY,
    SimConfig,
    Simulator,
)
from tui.simulator.accounts import SENTDM_ORG_ID, SENTDM_USER_ID

ORG = {"x-api-key": SENTDM_KEY}
PROFILE = {"x-api-key": SENTDM_PROFILE_KEY}
ORG_AS_SECOND = {**ORG, "x-profile-id": SECOND_PROFILE}
USER = {"x-api-key": SENTDM_USER_KEY}
SO1 = {"authorization": f"Bearer {SENDO_KEY}"}
SO2 = {"authorization": f"Bearer {SENDO_KEY_2}"}
STRANGER = "0badc0de-0000-4000-8000-000000000099"


@pytest.fixture
def http(sim: Simulator):
    with httpx.Client(base_url=sim.base_url, timeout=5.0) as client:
        yield client


def me(http, headers) -> dict:
    r = http.get("/v3/me", headers=headers)
    assert r.status_code == 200, r.text
    assert "x-ratelimit-remaining" in r.headers
    return r.json()["data"]


def test_me_for_each_kind_of_key(http) -> None:
    org = me(http, ORG)
    assert (org["type"], org["id"]) == ("organization", SENTDM_ORG_ID)
    assert [p["id"] for p in org["profiles"]] == [ALLOWED_PROFILE, SECOND_PROFILE]
    assert all(p["role"] and p["status"] == "approved" and p["settings"] for p in org["profiles"])
    assert set(org["channels"]) == {"sms", "whatsapp", "rcs"} and org["sending_phone_number"]
    profile = me(http, PROFILE)
    assert (profile["type"], profile["id"]) == ("profile", ALLOWED_PROFILE)
    assert profile["organization_id"] == SENTDM_ORG_ID and profile["profiles"] == []
    assert profile["settings"]["billing_model"] and profile["short_name"]
    acting = me(http, {**ORG, "x-profile-id": ALLOWED_PROFILE})
    assert acting == profile  # the organization acting for its profile is that profile
    assert me(http, ORG_AS_SECOND)["id"] == SECOND_PROFILE
    user = me(http, USER)
    assert (user["type"], user["id"], user["profiles"]) == ("user", SENTDM_USER_ID, [])
    assert "organization_id" not in user and user["channels"]["rcs"] == {"configured": False}


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({}, 401, "AUTH_001"),
        ({"x-api-key": "nope"}, 401, "AUTH_002"),
        ({**ORG, "x-profile-id": STRANGER}, 403, "AUTH_004"),
        ({**PROFILE, "x-profile-id": ALLOWED_PROFILE}, 403, "AUTH_004"),
        ({**USER, "x-profile-id": ALLOWED_PROFILE}, 403, "AUTH_004"),
    ],
)
def test_me_refusals(http, headers, status, code) -> None:
    r = http.get("/v3/me", headers=headers)
    assert r.status_code == status and r.json()["error"]["code"] == code


def send(http, headers) -> str:
    r = http.post("/v3/messages", json={"to": ["+14155550123"], "text": "hi"}, headers=headers)
    assert r.status_code == 202
    return str(r.json()["data"]["recipients"][0]["message_id"])


def test_messages_belong_to_one_account(http, world) -> None:
    legacy = world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=-1)
    for headers in (ORG, PROFILE, {**ORG, "x-profile-id": ALLOWED_PROFILE}):
        assert http.get(f"/v3/messages/{legacy.id}", headers=headers).status_code == 200
    for headers in (USER, ORG_AS_SECOND):
        r = http.get(f"/v3/messages/{legacy.id}", headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "RESOURCE_003"
    mine = send(http, ORG_AS_SECOND)
    data = http.get(f"/v3/messages/{mine}", headers=ORG_AS_SECOND).json()["data"]
    assert data["customer_id"] == SECOND_PROFILE
    for headers in (ORG, PROFILE, USER):
        assert http.get(f"/v3/messages/{mine}", headers=headers).status_code == 404
        assert http.get(f"/v3/messages/{mine}/activities", headers=headers).status_code == 404
        assert http.post(f"/v3/messages/{mine}/cancel", headers=headers).status_code == 404
    users = send(http, USER)
    assert (
        http.get(f"/v3/messages/{users}", headers=USER).json()["data"]["customer_id"]
        == SENTDM_USER_ID
    )
    assert http.get(f"/v3/messages/{users}", headers=ORG).status_code == 404


def test_sendo_keys_are_two_accounts(http, world) -> None:
    body = {"campaign": "ABCD1234", "body": "Hi", "to": "+14155550123"}
    first = http.post("/v1/message/send", json=body, headers=SO1).json()["id"]
    second = http.post("/v1/message/send", json=body, headers=SO2).json()["id"]
    assert http.get(f"/v1/message/{first}", headers=SO1).status_code == 200
    assert http.get(f"/v1/message/{first}", headers=SO2).status_code == 404
    assert http.get(f"/v1/message/{second}", headers=SO1).status_code == 404
    listed = {
        key: [
            m["id"]
            for m in http.get("/v1/message/list?campaign=ABCD1234", headers=h).json()["messages"]
        ]
        for key, h in (("one", SO1), ("two", SO2))
    }
    assert listed == {"one": [first], "two": [second]}
    legacy = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1)
    assert http.get(f"/v1/message/{legacy.id}", headers=SO1).status_code == 200
    assert http.get(f"/v1/message/{legacy.id}", headers=SO2).status_code == 404


def test_each_sentdm_account_has_its_own_bucket(http, sim) -> None:
    sim.set_rate_limit(Provider.SENTDM, per_minute=6, burst=2)
    for headers in (ORG, USER, ORG_AS_SECOND):
        codes = [http.get("/v3/me", headers=headers).status_code for _ in range(3)]
        assert codes == [200, 200, 429], headers
    # the organization's profile through either credential is one account: one bucket
    assert [http.get("/v3/me", headers=PROFILE).status_code for _ in range(2)] == [200, 200]
    acting = http.get("/v3/me", headers={**ORG, "x-profile-id": ALLOWED_PROFILE})
    assert acting.status_code == 429


def test_two_accounts_can_each_spend_200_a_minute(http) -> None:
    for headers in (ORG, USER):
        codes = [http.get("/v3/me", headers=headers).status_code for _ in range(50)]
        assert codes == [200] * 50  # the documented burst, each


def test_each_sendo_key_has_its_own_window(world) -> None:
    sim = Simulator(world, SimConfig(sendo_limit=3)).start()
    try:
        m = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1)
        with httpx.Client(base_url=sim.base_url) as http:
            for _ in range(5):  # both bursts inside one wall-clock second
                first = burst_in_one_second(http, f"/v1/message/{m.id}", 4)
                second = [http.get("/v1/message/list", headers=SO2) for _ in range(4)]
                if len({a.headers["x-ratelimit-reset"] for a in first + second}) == 1:
                    break
            else:
                raise AssertionError("could not fit both bursts in one second")
        assert [a.status_code for a in first] == [200, 200, 200, 429]
        assert [a.status_code for a in second] == [200, 200, 200, 429]
    finally:
        sim.stop()


def test_webhooks_are_the_account_s(http, world) -> None:
    made = http.post(
        "/v3/webhooks",
        json={"display_name": "org", "endpoint_url": "http://127.0.0.1:9/org"},
        headers=ORG,
    ).json()["data"]
    assert made["customer_id"] == SENTDM_ORG_ID
    assert http.get(f"/v3/webhooks/{made['id']}", headers=USER).status_code == 404
    assert http.get("/v3/webhooks", headers=ORG_AS_SECOND).json()["data"]["webhooks"] == []
    assert [w["id"] for w in http.get("/v3/webhooks", headers=ORG).json()["data"]["webhooks"]] == [
        made["id"]
    ]
