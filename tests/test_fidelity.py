"""Both providers as they answer today (docs/providers.md), over real HTTP to the simulator.

Every documented status: its normalized value, whether it is final, the word shown; every path a
failure reason can take; each auth and rate-limit answer; and an answer that must not move a status
backwards.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tui.config import Secret
from tui.errors import AuthError
from tui.ids import MessageRef
from tui.model import Event, EventSource, Provider, Status, normalize_status, status_word
from tui.polling.policy import PollPolicy
from tui.polling.record import record_lookup
from tui.providers.budget import RequestBudget, reset_in
from tui.providers.lookup import Providers
from tui.reasons import explain
from tui.serialize import message_to_dict
from tui.store import ListFilter, SQLiteStore
from tui.timeline import merge_events

SENTDM = [  # (provider word, normalized, final, shown word)
    ("ACCEPTED", Status.CREATED, False, "created"),
    ("QUEUED", Status.QUEUED, False, "queued"),
    ("PROCESSED", Status.QUEUED, False, "processed"),
    ("ROUTED", Status.QUEUED, False, "routed"),
    ("SCHEDULED", Status.SCHEDULED, False, "scheduled"),
    ("SENT", Status.SENT, False, "sent"),
    ("DELIVERED", Status.DELIVERED, False, "delivered"),
    ("READ", Status.READ, True, "read"),
    ("FAILED", Status.FAILED, True, "failed"),
    ("BLOCKED", Status.FAILED, True, "blocked"),
    ("FILTERED", Status.FAILED, True, "filtered"),
    ("CANCELLED", Status.CANCELLED, True, "cancelled"),
    ("RECEIVED", Status.RECEIVED, True, "received"),
]
SENDO = [
    ("CREATED", Status.CREATED, False, "created"),
    ("QUEUED", Status.QUEUED, False, "queued"),
    ("SCHEDULED", Status.SCHEDULED, False, "scheduled"),
    ("SENT", Status.SENT, False, "sent"),
    ("DELIVERED", Status.DELIVERED, False, "delivered"),
    ("READ", Status.READ, True, "read"),
    ("FAILED", Status.FAILED, True, "failed"),
    ("EXPIRED", Status.FAILED, True, "expired"),
]


async def _fetch(settings, provider: Provider, message_id: str):
    providers = Providers(settings)
    try:
        return await providers.fetch(MessageRef(message_id, provider))
    finally:
        await providers.aclose()


@pytest.mark.parametrize(
    ("provider", "table"), [(Provider.SENTDM, SENTDM), (Provider.SENDO, SENDO)]
)
async def test_every_documented_status(settings, world, provider, table, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    policy = PollPolicy()
    try:
        for raw, normalized, final, shown in table:
            m = world.add_message(provider, [(0, raw)], created=-10)
            msg = await _fetch(settings, provider, m.id)
            assert (msg.status, msg.provider_status) == (normalized, raw), raw
            assert msg.status.is_final is final, raw
            assert status_word(msg.status, msg.provider_status) == shown, raw
            outcome = record_lookup(store, policy, msg, msg.created_at.timestamp() + 20)
            # final: never polled again; a delivered SMS neither (no read receipt can follow)
            assert (outcome.next_poll is None) is (final or raw == "DELIVERED"), raw
            assert message_to_dict(msg, None)["status"] == normalized.value
        # the lower-case older render and the seed's descriptions still map; anything else is `unknown`
        for raw, expected in (
            ("delivered", Status.DELIVERED),
            ("Blocked", Status.FAILED),
            ("opened", Status.READ),
            ("failed-after-too-many-attempts", Status.FAILED),
            ("WEIRD_NEW", Status.UNKNOWN),
        ):
            assert normalize_status(raw) is expected, raw
        assert status_word(Status.UNKNOWN, "WEIRD_NEW") == "weird_new"
        # `status:blocked` / `status:expired` filter on the provider's word, `status:failed` on all four
        word = "blocked" if provider is Provider.SENTDM else "expired"
        assert store.count(ListFilter(statuses=frozenset({word}))) == 1
        assert store.count(ListFilter(statuses=frozenset({"failed"}))) == (
            3 if provider is Provider.SENTDM else 2
        )
    finally:
        store.close()


async def test_sentdm_reason_on_message_and_event(settings, world) -> None:
    m = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "BLOCKED")],
        error=("BUSINESS_003", "Insufficient balance"),
        created=-10,
    )
    msg = await _fetch(settings, Provider.SENTDM, m.id)
    assert (msg.error.code, msg.error.message) == ("BUSINESS_003", "Insufficient balance")
    blocked = [e for e in msg.events if e.provider_status == "BLOCKED"]
    assert (
        blocked
        and blocked[0].reason_code == "BUSINESS_003"
        and blocked[0].reason == "Insufficient balance"
    )
    assert "top up" in explain(Provider.SENTDM, msg.error.code)
    assert explain(Provider.SENTDM, "DELIVERY_007") and explain(Provider.SENTDM, "NOPE_1") is None


async def test_sentdm_reason_only_in_failed_event_description(settings, world) -> None:
    m = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "FAILED")],
        error=("DELIVERY_003", "Unreachable handset"),
        created=-10,
        legacy_reason=True,
    )
    msg = await _fetch(settings, Provider.SENTDM, m.id)
    assert msg.error is not None and (msg.error.code, msg.error.message) == (
        "DELIVERY_003",
        "Unreachable handset",
    )
    assert msg.raw["data"].get("reason_code") is None  # really the fallback path


@pytest.mark.parametrize("numeric", [True, False])
async def test_sendo_error_code_number_or_string(settings, world, numeric) -> None:
    m = world.add_message(
        Provider.SENDO,
        [(0, "CREATED"), (1, "FAILED")],
        error=(1360, "Landline"),
        created=-10,
        numeric_code=numeric,
    )
    msg = await _fetch(settings, Provider.SENDO, m.id)
    assert isinstance(msg.raw["message"]["errorCode"], int) is numeric
    assert (msg.error.code, msg.error.message) == ("1360", "Landline")
    assert "Landline" in explain(Provider.SENDO, msg.error.code)
    failed = [e for e in msg.events if e.status is Status.FAILED]
    assert failed and failed[-1].reason_code == "1360"


async def test_sendo_optional_fields_and_mms(settings, world) -> None:
    m = world.add_message(
        Provider.SENDO,
        [(0, "CREATED"), (1, "SENT")],
        channel="mms",
        created=-10,
        media=[{"url": "https://cdn.example/a.png"}],
        scheduled_at=-5.0,
    )
    msg = await _fetch(settings, Provider.SENDO, m.id)
    assert msg.channel == "mms" and msg.media == ("https://cdn.example/a.png",)
    assert msg.direction == "OUTBOUND" and msg.status is Status.SENT and msg.error is None


async def test_sentdm_more_of_the_message(settings, world) -> None:
    m = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "DELIVERED")],
        channel="whatsapp",
        created=-10,
        subject="Hello",
        header_media={"type": "image", "url": "https://cdn.example/h.png"},
        buttons=[{"type": "QUICK_REPLY", "text": "Yes", "value": "y", "postbackData": "y"}],
    )
    msg = await _fetch(settings, Provider.SENTDM, m.id)
    assert msg.subject == "Hello" and msg.header_media == "https://cdn.example/h.png"
    assert msg.buttons and msg.buttons[0]["text"] == "Yes" and msg.direction.upper() == "OUTBOUND"
    # delivered WhatsApp can still be read: not final, rechecked; SMS delivered is final
    assert (
        PollPolicy().next_poll(
            msg.status,
            now=0,
            last_changed=0,
            first_seen=0,
            provider=msg.provider,
            channel=msg.channel,
            created=0,
        )
        is not None
    )
    assert (
        PollPolicy().next_poll(
            msg.status,
            now=0,
            last_changed=0,
            first_seen=0,
            provider=msg.provider,
            channel="sms",
            created=0,
        )
        is None
    )


@pytest.mark.parametrize(
    ("provider", "key", "code", "needle"),
    [
        (Provider.SENTDM, "", "AUTH_001", "received no API key"),
        (Provider.SENTDM, "wrong-key-0000000000", "AUTH_002", "invalid, expired or revoked"),
        (Provider.SENDO, "", "401", "received no API key"),
        (Provider.SENDO, "wrong-key-0000000000", "403", "rejected the API key as invalid"),
    ],
)
async def test_auth_errors_say_which_key_and_what_to_do(
    settings, world, provider, key, code, needle
) -> None:
    m = world.add_message(provider, [(0, "QUEUED")], created=-10)
    bad = settings.with_provider(
        provider,
        api_key=Secret(key),
        key_source="env:SENDO_API_KEY" if provider is Provider.SENDO else "env:SENT_DM_API_KEY",
    )
    providers = Providers(replace(bad, network=replace(bad.network, max_retries=0)))
    providers.clients.setdefault(provider, _client_for(bad, provider))  # an empty key is still sent
    try:
        with pytest.raises(AuthError) as info:
            await providers.client(provider).fetch(m.id)
    finally:
        await providers.aclose()
    text = str(info.value)
    assert needle in text and info.value.exit_code == 4
    assert ("SENT_DM_API_KEY" if provider is Provider.SENTDM else "SENDO_API_KEY") in text
    if key:
        assert key not in text  # the key itself never appears
    if provider is Provider.SENTDM:
        assert code in text


def _client_for(settings, provider):
    from tui.providers.sendo import SendoClient
    from tui.providers.sentdm import SentDmClient

    cls = SentDmClient if provider is Provider.SENTDM else SendoClient
    return cls(settings.provider(provider), settings.network, config_path=str(settings.path))


async def test_sendo_is_paced_per_second_from_its_headers(sim) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        from tui.simulator import SENDO_KEY

        answer = await http.get(
            "/v1/message/list?campaign=X&limit=1", headers={"authorization": f"Bearer {SENDO_KEY}"}
        )
    assert answer.headers["x-ratelimit-limit"] == "20"
    budget = RequestBudget(20.0, 20, 8, limit_window=1.0)
    budget.observe_headers(answer.headers)
    assert 19 <= budget.rate <= 20  # 20 per second, not 20 per minute
    minute = RequestBudget(200 / 60, 50, 8, limit_window=60.0)
    minute.observe_headers({"x-ratelimit-limit": "200"})
    assert minute.rate == pytest.approx(200 / 60 * 0.97, rel=0.01)


def test_rate_limit_reset_in_any_unit() -> None:
    now = 1_800_000_000.0
    assert reset_in(str(int(now + 7)), now) == pytest.approx(7)  # epoch seconds
    assert reset_in(str(int((now + 7) * 1000)), now) == pytest.approx(7)  # epoch milliseconds
    assert reset_in("7", now) == 7  # seconds from now
    assert reset_in(str(int(now - 50)), now) == 0  # in the past: no wait
    assert reset_in("soon", now) is None and reset_in(None, now) is None
    budget = RequestBudget(20.0, 20, 8, limit_window=1.0, wall=lambda: now)
    budget.observe_headers(
        {
            "x-ratelimit-limit": "20",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int((now + 1) * 1000)),
        }
    )
    assert 0.5 < budget.wait_time() <= 2.0  # waits for the reset, bounded by the window


async def test_sentdm_429_in_either_body_is_rate_limited(settings, world, sim) -> None:
    from tui.errors import RateLimitedError

    m = world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=-10)
    for problem in (False, True):
        sim.set_rate_limit(Provider.SENTDM, 60.0, 1)
        sim.config.sentdm_429_style = "problem" if problem else "envelope"
        async with httpx.AsyncClient(
            base_url=sim.base_url
        ) as http:  # another client of the account takes the token
            from tui.simulator import SENTDM_KEY

            assert (
                await http.get(f"/v3/messages/{m.id}", headers={"x-api-key": SENTDM_KEY})
            ).status_code == 200
            refused = await http.get(f"/v3/messages/{m.id}", headers={"x-api-key": SENTDM_KEY})
        assert refused.status_code == 429
        assert ("problem+json" in refused.headers["content-type"]) is problem
        sim.set_rate_limit(Provider.SENTDM, 60.0, 1)
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            await http.get(f"/v3/messages/{m.id}", headers={"x-api-key": SENTDM_KEY})
        providers = Providers(
            replace(settings, network=replace(settings.network, max_retry_after=0.0))
        )
        try:
            with pytest.raises(RateLimitedError) as info:
                await providers.client(Provider.SENTDM).fetch(m.id, retries=0)
            assert info.value.retry_after >= 1 and "rate limit" in str(info.value)
        finally:
            await providers.aclose()


def test_status_never_moves_backwards(tmp_path: Path) -> None:
    from tui.model import Message

    store = SQLiteStore(tmp_path / "h.sqlite3")
    policy = PollPolicy()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    delivered = Message(
        "11111111-1111-4111-8111-111111111111",
        Provider.SENDO,
        Status.DELIVERED,
        "DELIVERED",
        events=(Event(Status.DELIVERED, "DELIVERED", t0 + timedelta(seconds=9)),),
    )
    late_sent = replace(
        delivered,
        status=Status.SENT,
        provider_status="SENT",
        events=(Event(Status.SENT, "SENT", t0 + timedelta(seconds=3)),),
    )
    try:
        record_lookup(store, policy, delivered, t0.timestamp() + 10)
        outcome = record_lookup(store, policy, late_sent, t0.timestamp() + 11)
        stored = store.get(delivered.id)
        assert outcome.current is Status.DELIVERED and stored.message.status is Status.DELIVERED
        assert store.row(delivered.id).provider_status == "DELIVERED"
        assert {e.provider_status.lower() for e in stored.message.events} >= {
            "sent",
            "delivered",
        }  # the event is kept
        failed = replace(delivered, status=Status.FAILED, provider_status="EXPIRED", events=())
        assert (
            record_lookup(store, policy, failed, t0.timestamp() + 12).current is Status.FAILED
        )  # forward is fine
    finally:
        store.close()


def test_timeline_folds_confirmations_into_one_row() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    events = [
        Event(Status.QUEUED, "QUEUED", at(0)),
        Event(Status.QUEUED, "queued", at(0.8), "first seen", EventSource.OBSERVED),
        Event(Status.SENT, "SENT", at(4)),
        Event(Status.DELIVERED, "DELIVERED", at(9)),
        Event(Status.DELIVERED, "delivered", at(10.2), "seen", EventSource.OBSERVED),
        Event(Status.READ, "READ", at(20), source=EventSource.WEBHOOK),
        Event(
            Status.FAILED, "FAILED", at(30), "x", EventSource.OBSERVED
        ),  # only sendwatch saw it: own row
    ]
    rows = merge_events(events)
    assert [r.provider_status.lower() for r in rows] == [
        "queued",
        "sent",
        "delivered",
        "read",
        "failed",
    ]
    assert rows[0].seen_after == pytest.approx(0.8) and rows[2].seen_after == pytest.approx(1.2)
    assert rows[1].observed_at is None and rows[3].source is EventSource.WEBHOOK
    assert rows[4].source is EventSource.OBSERVED and rows[4].seen_after is None


async def test_sendo_at_its_real_limit_is_not_throttled(settings, world, sim) -> None:
    """Sendo's defaults (20/s, per-second headers) against a server that allows exactly 20/s."""
    import asyncio

    sendo = settings.sendo
    assert (sendo.requests_per_minute, sendo.rate_limit_window) == (1200.0, 1.0)
    msgs = [world.add_message(Provider.SENDO, [(0, "SENT")], created=-5) for _ in range(70)]
    providers = Providers(settings)
    try:
        client = providers.client(Provider.SENDO)
        started = time.monotonic()
        answers = await asyncio.gather(*(client.fetch(m.id) for m in msgs))
        elapsed = time.monotonic() - started
    finally:
        await providers.aclose()
    assert len(answers) == 70
    assert sim.counts[(Provider.SENDO, 429)] <= 1
    assert elapsed < 6.0  # ~3.5 s of 20/s windows: paced by the headers, not a per-minute guess


def test_find_bar_status_takes_provider_words() -> None:
    from tui.app.query import parse_query

    query = parse_query("status:blocked,Expired,failed provider:sendo")
    assert query.problem is None and query.filter.statuses == {"blocked", "expired", "failed"}
    assert "unknown status" in parse_query("status:bogus").problem


async def test_a_final_word_without_a_code_still_says_what_it_means(settings, world) -> None:
    from tui.commands.output import describe

    m = world.add_message(
        Provider.SENDO, [(0, "CREATED"), (1, "SENT"), (9, "EXPIRED")], created=-20
    )
    msg = await _fetch(settings, Provider.SENDO, m.id)
    assert msg.error is None and status_word(msg.status, msg.provider_status) == "expired"
    assert "too many attempts" in describe(msg)


def test_a_429_without_retry_after_waits_for_the_window_not_a_minute() -> None:
    """Sendo documents no Retry-After: its 429 is waited out until X-RateLimit-Reset (< 1 s), not 60 s."""
    import httpx

    from tui.providers.base import retry_after_seconds

    now = time.time()
    assert (
        retry_after_seconds(httpx.Headers({"x-ratelimit-reset": str(int(now) + 1)}), default=1.0)
        <= 1.0
    )
    assert (
        retry_after_seconds(httpx.Headers({"x-ratelimit-reset": str(int((now + 0.4) * 1000))}))
        <= 0.5
    )
    assert retry_after_seconds(httpx.Headers({"retry-after": "7"})) == 7.0
    assert (
        retry_after_seconds(httpx.Headers({"retry-after": "soon"}), default=1.0) == 1.0
    )  # never a crash
    assert retry_after_seconds(httpx.Headers({})) == 60.0
