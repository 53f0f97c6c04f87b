"""`sendwatch report`: every number of a seeded campaign whose answer is known, over real HTTP.

The simulator's world is frozen six hours after the campaign; each message is fetched once from
it into a real SQLite history (as the poller would), then the report runs on that history.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tui.commands import report as report_cmd
from tui.config import Settings
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.polling.record import record_lookup
from tui.providers.lookup import Providers
from tui.services.report import CountryLookup, ReportBuilder, build_report, percentile
from tui.simulator import SimWorld
from tui.store import ListFilter, SQLiteStore

HOURS_AGO = 6 * 3600.0
SENTDM, SENDO = Provider.SENTDM, Provider.SENDO
US = ["+12125550101", "+12125550102", "+12125550103", "+12125550104", "+12125550105"]
CA = ["+14165550121", "+14165550122", "+14165550123"]


def _seed(world: SimWorld) -> list:
    """The campaign: Sent.dm (region_code US) and Sendo (country from the number), created at 0."""
    delivered = [(0, "QUEUED"), (1, "ROUTED"), (3, "SENT")]
    msgs = []
    for i, latency in enumerate((10, 20, 30, 40)):
        msgs.append(
            world.add_message(
                SENTDM, [*delivered, (latency, "DELIVERED")], to=US[i], price=0.0075, created=0
            )
        )
    msgs.append(
        world.add_message(
            SENTDM,
            [*delivered, (60, "DELIVERED"), (120, "READ")],
            channel="whatsapp",
            to=US[4],
            price=0.045,
            created=0,
        )
    )
    msgs.append(
        world.add_message(
            SENTDM,
            [*delivered, (50, "FAILED")],
            error=("DELIVERY_003", "The recipient is not registered on this channel"),
            to=US[0],
            price=0.0075,
            created=0,
        )
    )
    msgs.append(
        world.add_message(
            SENTDM,
            [(0, "QUEUED"), (1, "BLOCKED")],
            error=("BUSINESS_003", "Insufficient balance"),
            to=US[1],
            price=0.0,
            created=0,
        )
    )
    msgs.append(world.add_message(SENTDM, delivered, to=US[2], price=0.0075, created=0))  # stalls
    sendo_sent = [(0, "CREATED"), (2, "QUEUED"), (5, "SENT")]
    for i, latency in enumerate((15, 25, 35)):
        msgs.append(
            world.add_message(
                SENDO, [*sendo_sent, (latency, "DELIVERED")], to=CA[i], body="hi", created=0
            )
        )
    for i in range(5):
        msgs.append(
            world.add_message(
                SENDO,
                [*sendo_sent, (30, "FAILED")],
                error=("1350", "Rejected by the carrier"),
                to=US[i],
                body="hi",
                created=0,
            )
        )
    msgs.append(world.add_message(SENDO, [*sendo_sent, (400, "EXPIRED")], to=US[0], body="hi"))
    msgs.append(
        world.add_message(SENDO, [(0, "CREATED"), (2, "QUEUED")], to=US[1], body="hi", created=0)
    )
    return msgs


async def _fetch_all(settings: Settings, store: SQLiteStore, msgs: list, now: float) -> None:
    providers = Providers(settings)
    policy = PollPolicy.from_settings(settings.polling)
    try:
        for msg in msgs:
            found = await providers.client(msg.provider).fetch(msg.id)
            record_lookup(store, policy, found, now)
    finally:
        await providers.aclose()


@pytest.fixture
def seeded(world: SimWorld, sim, settings: Settings):
    """(store, now): the campaign `spring` fetched six hours after it was sent, plus one message
    tracked but never answered, and one message outside the campaign."""
    msgs = _seed(world)
    world.advance(HOURS_AGO)
    now = world.wall(world.now())
    store = SQLiteStore(settings.history_path())
    refs = [MessageRef(m.id, m.provider) for m in msgs]
    waiting = MessageRef("6c0e2f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6", SENDO)
    store.track([*refs, waiting], campaign="spring", now=now - 60)
    other = world.add_message(SENDO, [(0, "CREATED")], to=US[0], created=world.now() - 5)
    store.track([MessageRef(other.id, SENDO)], now=now - 60)
    asyncio.run(_fetch_all(settings, store, [*msgs, other], now))
    yield store, now
    store.close()


def test_every_number_of_report_json(seeded) -> None:
    store, now = seeded
    report = build_report(store, ListFilter(campaign="spring"), now)
    assert report["campaign"] == "spring"
    assert report["total"] == 19
    assert report["by_status"] == {
        "waiting": 1,
        "created": 0,
        "scheduled": 0,
        "queued": 1,
        "sent": 1,
        "delivered": 7,
        "read": 1,
        "failed": 8,
        "cancelled": 0,
        "received": 0,
        "unknown": 0,
    }
    assert report["final"] == 16
    assert report["delivery_rate"] == 0.5
    assert report["failure_rate"] == 0.5
    # Provider times only: 10, 20, 30, 40 (Sent.dm sms), 60 (WhatsApp, later read), 15, 25, 35 (Sendo).
    assert report["latency_seconds"] == {"p50": 25.0, "p90": 60.0, "p99": 60.0, "count": 8}
    assert report["by_cohort"] == [
        {
            "provider": "sendo",
            "channel": "sms",
            "country": "US",
            "total": 7,
            "delivered": 0,
            "failed": 6,
            "delivery_rate": 0.0,
        },
        {
            "provider": "sentdm",
            "channel": "sms",
            "country": "US",
            "total": 7,
            "delivered": 4,
            "failed": 2,
            "delivery_rate": pytest.approx(4 / 6),
        },
        {
            "provider": "sendo",
            "channel": "sms",
            "country": "CA",
            "total": 3,
            "delivered": 3,
            "failed": 0,
            "delivery_rate": 1.0,
        },
        {
            "provider": "sentdm",
            "channel": "whatsapp",
            "country": "US",
            "total": 1,
            "delivered": 1,
            "failed": 0,
            "delivery_rate": 1.0,
        },
    ]
    assert report["spend"] == {
        "total": pytest.approx(0.09),
        "currency": None,
        "failed": pytest.approx(0.0075),
        "priced_messages": 8,
        "segments": 10,
    }
    codes = [(f["provider"], f["code"], f["count"]) for f in report["failures_by_code"]]
    assert codes == [
        ("sendo", "1350", 5),
        ("sendo", None, 1),
        ("sentdm", "BUSINESS_003", 1),
        ("sentdm", "DELIVERY_003", 1),
    ]
    first = report["failures_by_code"][0]
    assert first["share"] == 5 / 8
    assert first["reason"] == "Rejected by the carrier"
    assert first["advice"].startswith("Rejected by the carrier. Check the sender")
    expired = report["failures_by_code"][1]
    assert expired["reason"] == "expired" and expired["advice"].startswith("Sendo gave up")
    assert [(s["stage"], s["count"]) for s in report["stalled"]] == [("queued", 1), ("sent", 1)]
    assert report["cause"]["country"] == "US" and report["cause"]["code"] == "1350"


def test_all_tracked_messages_without_a_campaign(seeded) -> None:
    store, now = seeded
    report = build_report(store, ListFilter(), now)
    assert report["campaign"] is None
    assert report["total"] == 20
    assert report["by_status"]["created"] == 1
    assert report["stalled"][0]["stage"] == "queued"  # the new message is only 5 s old


def test_cause_line_names_the_code_country_and_advice(seeded) -> None:
    store, now = seeded
    report = build_report(store, ListFilter(campaign="spring"), now)
    line = report_cmd.cause_line(report)
    assert line is not None
    assert line.startswith("Sendo · US · 1350 Rejected by the carrier: 62 % of failures (5). ")
    assert "contact Sendo with the message ID" in line
    text = report_cmd.render_text(report)
    assert text.splitlines()[1].startswith("Cause      Sendo · US · 1350")


def test_no_cause_when_no_failure_explains_half() -> None:
    builder = ReportBuilder(None, now=0.0)
    for provider, code, to in (
        ("sentdm", "DELIVERY_003", "+12125550101"),
        ("sendo", "1002", "+14165550121"),
        ("sendo", "1005", "+33612345678"),
    ):
        builder.add(
            {
                "provider": provider,
                "status": "failed",
                "provider_status": "FAILED",
                "channel": "sms",
                "to": to,
                "error": {"code": code, "message": "x"},
                "fetched_at": "2026-01-01T00:00:00Z",
                "events": [],
            }
        )
    assert builder.cause() is None
    assert report_cmd.cause_line(builder.to_json()) is None


def test_a_cohort_is_the_cause_when_no_code_is() -> None:
    builder = ReportBuilder(None, now=0.0)
    for code, to in (("1002", "+33612345678"), ("1005", "+33612345679"), ("1009", "+12125550101")):
        builder.add(
            {
                "provider": "sendo",
                "status": "failed",
                "channel": "sms",
                "to": to,
                "error": {"code": code},
                "fetched_at": "2026-01-01T00:00:00Z",
            }
        )
    cause = builder.cause()
    assert cause is not None and (cause.country, cause.channel, cause.code) == ("FR", "sms", None)
    assert report_cmd.cause_line(builder.to_json()) == "Sendo · FR · sms: 67 % of failures (2)"


def test_markdown_is_pasteable_and_escapes_provider_text(world: SimWorld, sim, settings) -> None:
    hostile = "[click](https://evil.example) *now* | \x1b[2J<b>x</b>"
    msgs = [
        world.add_message(
            SENDO,
            [(0, "CREATED"), (5, "SENT"), (30, "FAILED")],
            error=("1350", hostile),
            to=US[0],
            created=0,
        )
        for _ in range(2)
    ]
    world.advance(3600)
    now = world.wall(world.now())
    store = SQLiteStore(settings.history_path())
    try:
        store.track([MessageRef(m.id, m.provider) for m in msgs], campaign="x|y", now=now)
        asyncio.run(_fetch_all(settings, store, msgs, now))
        report = build_report(store, ListFilter(campaign="x|y"), now)
    finally:
        store.close()
    md = report_cmd.render_markdown(report)
    assert md.startswith("## sendwatch report: campaign x\\|y\n")
    assert "\x1b" not in md
    assert "[click](" not in md and "<b>" not in md
    assert r"\[click\](https://evil.example) \*now\* \| \\x1b\[2J\<b\>x\</b\>" in md
    assert "**Cause:** Sendo · US · 1350 " in md
    failure_rows = [line for line in md.splitlines() if line.startswith("| 2 | 100.0 %")]
    assert len(failure_rows) == 1 and failure_rows[0].count(" | ") == 5  # no extra columns
    text = report_cmd.render_text(report)
    assert "\x1b" not in text and "\\x1b[2J" in text


def test_command_json_text_and_md(seeded, settings: Settings, tmp_path: Path, capsys) -> None:
    config = tmp_path / "report.toml"
    config.write_text(f'[history]\npath = "{settings.history_path()}"\n')
    assert report_cmd.main(["--config", str(config), "--campaign", "spring", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == 19 and out["cause"]["code"] == "1350"
    assert report_cmd.main(["--config", str(config), "--campaign", "spring"]) == 0
    text = capsys.readouterr().out
    assert "Cause      Sendo · US · 1350" in text and "delivered 50.0 % of final" in text
    assert report_cmd.main(["--config", str(config), "--format", "md"]) == 0
    assert capsys.readouterr().out.startswith("## sendwatch report: all tracked messages")
    assert report_cmd.main(["--config", str(config), "--campaign", "nope"]) == 3
    assert "no campaign named 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        report_cmd.main(["--json", "--format", "md"])


def test_empty_history_reports_nulls(settings: Settings) -> None:
    store = SQLiteStore(settings.history_path())
    try:
        report = build_report(store, ListFilter(), 0.0)
    finally:
        store.close()
    assert report["total"] == 0 and report["final"] == 0
    assert report["delivery_rate"] is None and report["failure_rate"] is None
    assert report["latency_seconds"] == {"p50": None, "p90": None, "p99": None, "count": 0}
    assert report["spend"]["total"] is None and report["spend"]["failed"] is None
    assert report["cause"] is None and report["by_cohort"] == [] and report["stalled"] == []


def test_country_lookup_tells_regions_sharing_a_calling_code_apart() -> None:
    countries = CountryLookup()
    assert countries.country("+12125550101") == "US"
    assert countries.country("+14165550121") == "CA"  # same +1, another area code
    assert countries.country("+12125550199") == "US"  # from the prefix cache
    assert countries.country("+447911123456") == "GG"  # +44 7911: Guernsey, not GB
    assert countries.country("+33612345678") == "FR"
    assert countries.country("not a number") is None
    assert countries.country("+999") is None
    assert countries.country(None) is None


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0], 99) == 1.0
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (
        50.0,
        90.0,
        99.0,
    )


def test_add_parser_plugs_into_the_cli() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="sendwatch")
    report_cmd.add_parser(parser.add_subparsers(dest="command"), [])
    args = parser.parse_args(["report", "--campaign", "spring", "--json"])
    assert (args.command, args.campaign, args.json, args.format) == (
        "report",
        "spring",
        True,
        "text",
    )


def test_country_cache_is_per_calling_code_and_six_digits() -> None:
    countries = CountryLookup()
    for last in range(50):
        assert countries.country(f"+1212555{last:04d}") == "US"
        assert countries.country(f"+44207946{last:04d}") == "GB"
    assert sorted(countries._cache) == ["1212555", "44207946"]  # one parse per prefix


def _snap(**fields):
    base = {"provider": "sentdm", "fetched_at": "2026-01-01T06:00:00Z", "channel": "sms"}
    return {**base, **fields}


def test_latency_uses_the_provider_s_time_never_when_sendwatch_saw_it() -> None:
    builder = ReportBuilder(None, now=0.0)
    created = "2026-01-01T00:00:00Z"
    delivered = {"status": "delivered", "timestamp": "2026-01-01T00:00:12Z"}
    builder.add(
        _snap(status="delivered", created_at=created, events=[{**delivered, "source": "provider"}])
    )
    builder.add(
        _snap(status="delivered", created_at=created, events=[{**delivered, "source": "webhook"}])
    )
    # Only observed by sendwatch (an hour later): no provider time, not a latency.
    seen = {"status": "delivered", "timestamp": "2026-01-01T01:00:00Z", "source": "observed"}
    builder.add(_snap(status="delivered", created_at=created, events=[seen]))
    assert builder.to_json()["latency_seconds"] == {
        "p50": 12.0,
        "p90": 12.0,
        "p99": 12.0,
        "count": 2,
    }


def test_prices_that_are_not_amounts_are_left_out() -> None:
    builder = ReportBuilder(None, now=0.0)
    for price in (0.0075, float("inf"), float("nan"), -1.0, True, "0.0075"):
        builder.add(_snap(status="sent", price=price))
    assert builder.to_json()["spend"]["total"] == 0.015  # the number and the 4-decimal string
    assert builder.to_json()["spend"]["priced_messages"] == 2


def test_a_scheduled_message_stalls_from_its_release_time() -> None:
    now = 1_767_225_600.0 + 3600  # 2026-01-01T01:00:00Z
    builder = ReportBuilder(None, now=now)
    builder.add(_snap(status="scheduled", scheduled_at="2026-01-01T00:55:00Z"))  # 5 min late
    builder.add(_snap(status="scheduled", scheduled_at="2026-01-01T00:30:00Z"))  # 30 min late
    builder.add(_snap(status="scheduled", scheduled_at="2026-01-02T00:00:00Z"))  # tomorrow
    assert builder.to_json()["stalled"] == [
        {"stage": "scheduled", "count": 1, "threshold_seconds": 600.0, "oldest_seconds": 1800.0}
    ]


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "provider",
                "status",
                "fetched_at",
                "to",
                "channel",
                "price",
                "segments",
                "error",
                "events",
                "metadata",
                "created_at",
                "updated_at",
                "scheduled_at",
                "provider_status",
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=12), inner, max_size=3)
            ),
            max_leaves=8,
        ),
    )
)
def test_any_stored_snapshot_is_counted_never_raises(snapshot) -> None:
    builder = ReportBuilder(None, now=0.0)
    builder.add(snapshot)
    report = builder.to_json()
    assert report["total"] == 1 and sum(report["by_status"].values()) == 1
    json.dumps(report, allow_nan=False)
    report_cmd.render_markdown(report)
    report_cmd.render_text(report)


def test_the_same_report_on_sqlite_and_postgresql(
    world: SimWorld, sim, settings, open_store
) -> None:
    msgs = _seed(world)
    world.advance(HOURS_AGO)
    now = world.wall(world.now())
    store = open_store()
    store.track([MessageRef(m.id, m.provider) for m in msgs], campaign="spring", now=now - 60)
    asyncio.run(_fetch_all(settings, store, msgs, now))
    report = build_report(store, ListFilter(campaign="spring"), now)
    assert (report["total"], report["final"], report["delivery_rate"]) == (18, 16, 0.5)
    assert report["latency_seconds"] == {"p50": 25.0, "p90": 60.0, "p99": 60.0, "count": 8}
    assert report["cause"]["code"] == "1350" and report["cause"]["country"] == "US"
    assert [(s["stage"], s["count"]) for s in report["stalled"]] == [("queued", 1), ("sent", 1)]
