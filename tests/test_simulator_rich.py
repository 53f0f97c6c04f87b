"""The richer demo world (issue #18), an option that is off by default: read over real HTTP."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import httpx
import phonenumbers
import pytest

from tui.model import Provider
from tui.simulator import SENDO_KEY, SENTDM_KEY, SimConfig, Simulator
from tui.simulator.demo import build_world

EPOCH = 1_767_225_600.0
SD = {"x-api-key": SENTDM_KEY}
SO = {"authorization": f"Bearer {SENDO_KEY}"}
FAILED = {"FAILED", "BLOCKED", "FILTERED", "EXPIRED"}


def fetch_campaign(advance: float = 0.0) -> list[tuple[Provider, dict]]:
    world, tracked = build_world(seed=7, campaign_size=240, epoch=EPOCH, rich=True)
    world.advance(advance)
    config = SimConfig(sentdm_per_minute=600_000, sentdm_burst=10_000, sendo_limit=10_000)
    sim = Simulator(world, config).start()
    try:
        with httpx.Client(base_url=sim.base_url) as http:
            return [
                (
                    m.provider,
                    http.get(f"/v3/messages/{m.id}", headers=SD).json()["data"]
                    if m.provider is Provider.SENTDM
                    else http.get(f"/v1/message/{m.id}", headers=SO).json()["message"],
                )
                for m in tracked
                if m.campaign == "spring-sale"
            ]
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def now_answers() -> list[tuple[Provider, dict]]:
    return fetch_campaign()


def test_on_by_default_and_the_rest_of_the_world_unchanged() -> None:
    plain, plain_tracked = build_world(seed=7, campaign_size=30, epoch=EPOCH, rich=False)
    default = build_world(seed=7, campaign_size=30, epoch=EPOCH)[1]
    rich = build_world(seed=7, campaign_size=30, epoch=EPOCH, rich=True)[1]
    key = [(m.id, m.steps, m.error, m.to, m.price) for m in rich]
    assert key == [(m.id, m.steps, m.error, m.to, m.price) for m in default]
    before_campaign = [m for m in plain_tracked if m.campaign != "spring-sale"]
    assert [(m.id, m.steps) for m in rich[: len(before_campaign)]] == [
        (m.id, m.steps) for m in before_campaign
    ]
    again = build_world(seed=7, campaign_size=30, epoch=EPOCH, rich=True)[1]
    assert [(m.id, m.steps, m.to) for m in again] == [(m.id, m.steps, m.to) for m in rich]


def test_recipients_in_seven_countries_with_region_codes(now_answers) -> None:
    regions = Counter()
    for provider, data in now_answers:
        number = data["phone"] if provider is Provider.SENTDM else data["to"]
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        region = phonenumbers.region_code_for_number(parsed)
        regions[region] += 1
        if provider is Provider.SENTDM:
            assert data["region_code"] == region
            assert data["phone_international"] == phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
    assert {"US", "GB", "DE", "FR", "BR", "IN", "MX"} <= set(regions)
    assert regions.most_common(1)[0][0] == "US"


def test_channels_prices_and_segments(now_answers) -> None:
    sentdm = [d for p, d in now_answers if p is Provider.SENTDM]
    sendo = [d for p, d in now_answers if p is Provider.SENDO]
    assert {d["channel"] for d in sentdm} == {"sms", "whatsapp", "rcs"}
    assert {d["type"] for d in sendo} == {"SMS", "MMS"}
    priced = [d["price"] for d in sentdm if d["status"] not in ("BLOCKED", "FILTERED")]
    assert all(isinstance(p, float) and p > 0 for p in priced) and len(set(priced)) >= 7
    by_region = {d["region_code"]: d["price"] for d in sentdm if d["channel"] == "sms"}
    assert by_region["DE"] > by_region["US"] > by_region["IN"]
    assert all("price" not in d for d in sendo)
    assert {d["numSegments"] for d in sendo} == {1, 2}


def test_timestamps_spread_over_hours_in_the_past(now_answers) -> None:
    now = EPOCH
    ages = []
    for provider, data in now_answers:
        created = data["created_at"] if provider is Provider.SENTDM else data["createdAt"]
        ages.append(now - datetime.fromisoformat(created).timestamp())
    assert all(age >= 0 for age in ages)
    assert sum(age > 3600 for age in ages) > len(ages) / 3  # settled hours ago
    assert sum(age < 120 for age in ages) > len(ages) / 5  # still in flight
    assert max(ages) > 4 * 3600
    in_flight = [
        d for p, d in now_answers if d["status"] in ("QUEUED", "PROCESSED", "ROUTED", "CREATED")
    ]
    assert in_flight


def test_one_dominant_failure_cause() -> None:
    settled = fetch_campaign(advance=3 * 3600)
    causes = Counter()
    for provider, data in settled:
        if data["status"] not in FAILED:
            continue
        if provider is Provider.SENDO:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(data["to"]))
            causes[("sendo", region, str(data.get("errorCode")))] += 1
        else:
            causes[("sentdm", data["region_code"], data.get("reason_code"))] += 1
    total = sum(causes.values())
    (top, count), (_, second) = causes.most_common(2)
    assert top == ("sendo", "US", "1350")
    assert 0.7 <= count / total <= 0.9 and count >= 5 * second
