"""Every stored message has its country: Sent.dm's `region_code`, else the E.164 number's, so the
`country:` filter and the report's cohorts count the same messages (real HTTP to the simulator)."""

from __future__ import annotations

import json

from tests.test_report import seeded  # noqa: F401 (a fixture: the report's seeded campaign)
from tui.services.report import build_report
from tui.store import ListFilter
from tui.store.facts import snapshot_facts, snapshot_updates


def test_the_country_filter_counts_what_each_cohort_counts(seeded) -> None:  # noqa: F811
    store, now = seeded
    report = build_report(store, ListFilter(campaign="spring"), now)
    # Sendo answers carry no region: Canada is known only from the numbers.
    assert store.count(ListFilter(campaign="spring", country="CA")) == 3
    for cohort in report["by_cohort"]:
        flt = ListFilter(
            campaign="spring",
            provider=cohort["provider"],
            channel=cohort["channel"],
            country=cohort["country"],
        )
        assert store.count(flt) == cohort["total"], cohort


def test_a_number_without_region_code_gets_its_country() -> None:
    snap = {"status": "sent", "to": "+442079460123", "metadata": {}}
    assert snapshot_facts(snap)[2] == "GB"
    given = {"status": "sent", "to": "+442079460123", "metadata": {"region_code": "us"}}
    assert snapshot_facts(given)[2] == "US"  # the provider's word wins
    for odd in ("not a number", "+999", None, 12, "+" + "9" * 40):
        assert snapshot_facts({"status": "sent", "to": odd})[2] is None


def test_the_back_fill_fills_countries_from_numbers() -> None:
    rows = [(1, json.dumps({"status": "delivered", "to": "+33612345678"})), (2, "{not json")]
    assert [u[2] for u in snapshot_updates(rows)] == ["FR"]
