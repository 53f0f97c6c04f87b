"""The reads behind `sendwatch report`: a few grouped queries over the report's columns.

A mixin over `Backend` (backend.py), shared SQL for both backends. Nothing here reads a snapshot:
the facts are columns (tui/store/facts.py), so 100,000 messages are one grouped scan, not 100,000
JSON documents and their events. A message is "waiting" (tracked, never answered) until its first
answer is stored (`last_polled`, written with its snapshot) with its provider, as the report has
always counted it; `snapshot IS NULL` would say the same but makes SQLite load every snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tui.store.backend import Backend
from tui.store.rows import ListFilter, _and

_WAITING = "(last_polled IS NULL OR provider IS NULL)"
_ANSWERED = "last_polled IS NOT NULL AND provider IS NOT NULL"
_FAILED = "status = 'failed'"
_FINAL_STATUSES = "'delivered', 'read', 'failed', 'cancelled', 'received'"


def _floor(column: str) -> str:
    """floor(column) in the SQL both databases speak (SQLite's CAST truncates, PostgreSQL's
    rounds); NULL stays NULL."""
    return f"(CAST({column} AS BIGINT) - CASE WHEN CAST({column} AS BIGINT) > {column} THEN 1 ELSE 0 END)"


#: Numbers are grouped by "+" and their first nine digits (the longest calling code, three digits,
#: plus the six national ones `CountryLookup` keys on), so the country is looked up once per group.
#: A number that does not start that way is its own group, looked up as it is.
_NUMBER_KEY = (
    "CASE WHEN length(to_addr) BETWEEN 10 AND 32 AND substr(to_addr, 1, 1) = '+' "
    "AND ltrim(substr(to_addr, 2, 9), '0123456789') = '' THEN substr(to_addr, 1, 10) ELSE to_addr END"
)


@dataclass(frozen=True)
class ReportGroup:
    """Messages alike in everything the report counts them by, with their count and sums."""

    waiting: bool
    provider: str | None
    status: str
    channel: str | None
    number: str | None  # one of the group's numbers (None when a region code was given)
    region_code: str | None
    error_code: str | None  # failed messages only
    error_message: str | None  # failed messages only
    provider_status: str | None  # failed messages without a code only
    count: int
    price_total: float | None
    priced: int
    segments_total: int | None


#: what one message cost: every attempt's price once it was resent (a resend is billed again;
#: store/attempts.py keeps them), else its price
SPEND = (
    "CASE WHEN attempt > 1 THEN coalesce((SELECT sum(a.price) FROM attempts a "
    "WHERE a.message_id = messages.id), price) ELSE price END"
)


class ReportQueries(Backend):
    """What `tui/services/report.build_report` reads."""

    def report_groups(self, flt: ListFilter) -> list[ReportGroup]:
        """Every message of the view, grouped by what the report tells apart."""
        where, params = flt.where(self._text_match)
        numbered = "region_code IS NULL"
        code = f"CASE WHEN {_FAILED} THEN error_code END"
        reason = f"CASE WHEN {_FAILED} THEN error_message END"
        word = f"CASE WHEN {_FAILED} AND error_code IS NULL THEN provider_status END"
        rows = self._read(
            f"SELECT CASE WHEN {_WAITING} THEN 1 ELSE 0 END, provider, status, channel, "
            f"min(CASE WHEN {numbered} THEN to_addr END), region_code, {code}, {reason}, {word}, "
            f"count(*), sum({SPEND}), count(price), "
            f"sum(segments) FROM messages{where} "
            f"GROUP BY 1, provider, status, channel, CASE WHEN {numbered} THEN {_NUMBER_KEY} END, "
            f"region_code, {code}, {reason}, {word}",
            params,
        )
        return [
            ReportGroup(
                bool(r[0]),
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                int(r[9]),
                None if r[10] is None else float(r[10]),
                int(r[11]),
                None if r[12] is None else int(r[12]),
            )
            for r in rows
        ]

    def report_latencies(self, flt: ListFilter) -> list[float]:
        """Provider creation to the provider's DELIVERED time, seconds, of delivered (or read)
        messages that have both times in that order; unordered."""
        where, params = flt.where(self._text_match)
        cond = f"{_ANSWERED} AND status IN ('delivered', 'read') AND delivered_at >= created_at"
        rows = self._read(
            f"SELECT delivered_at - created_at FROM messages{_and(where, cond)}", params
        )
        return [float(r[0]) for r in rows]

    def report_started(self, flt: ListFilter) -> float | None:
        """When the view's first message was created (the provider's time, else when tracked)."""
        where, params = flt.where(self._text_match)
        rows = self._read(
            f"SELECT min(coalesce(created_at, first_seen)) FROM messages{where}", params
        )
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    def report_timeline(
        self, flt: ListFilter, start: float, step: float, buckets: int
    ) -> tuple[list[int], dict[str, list[int]]]:
        """How the view went, in `buckets` slices of `step` seconds from `start`: per slice, how many
        messages were created (the provider's time, else when tracked) and how many ended
        `delivered` (or read), `failed`, or `ended` otherwise (cancelled, received), at the
        provider's time of it. Earlier times count in the first slice, later ones in the last."""
        where, params = flt.where(self._text_match)
        created = [0] * buckets
        ended = {kind: [0] * buckets for kind in ("delivered", "failed", "ended")}
        kind = (
            f"CASE WHEN NOT ({_ANSWERED}) OR status NOT IN ({_FINAL_STATUSES}) THEN 'pending' "
            "WHEN status IN ('delivered', 'read') THEN 'delivered' "
            "WHEN status = 'failed' THEN 'failed' ELSE 'ended' END"
        )
        when = (
            "CASE WHEN status IN ('delivered', 'read') THEN coalesce(delivered_at, stage_since) "
            "ELSE stage_since END"
        )
        # One scan: each message's creation slice and (when it ended) its end slice.
        rows = self._read(
            f"SELECT kind, {_floor('c')} AS c_slice, {_floor('e')} AS e_slice, count(*) FROM "
            f"(SELECT {kind} AS kind, (coalesce(created_at, first_seen) - ?) / ? AS c, "
            f"({when} - ?) / ? AS e FROM messages{where}) t GROUP BY kind, c_slice, e_slice",
            [start, step, start, step, *params],
        )
        last = buckets - 1
        for name, c_slice, e_slice, count in rows:
            created[min(max(int(c_slice), 0), last)] += int(count)
            if name != "pending" and e_slice is not None:
                ended[name][min(max(int(e_slice), 0), last)] += int(count)
        return created, ended

    def report_stalled(
        self, flt: ListFilter, now: float, limits: Mapping[str, float]
    ) -> dict[str, tuple[int, float]]:
        """stage -> (how many, oldest wait in seconds) of the messages in that stage for longer
        than its limit, by their `stage_since`."""
        if not limits:
            return {}
        where, params = flt.where(self._text_match)
        stages = list(limits)
        limit_of = " ".join("WHEN ? THEN ?" for _ in stages)
        cond = (
            f"{_ANSWERED} AND status IN ({','.join('?' * len(stages))}) "
            f"AND ? - stage_since > CASE status {limit_of} END"
        )
        extra: list[object] = [*stages, now]
        for stage in stages:
            extra += [stage, limits[stage]]
        rows = self._read(
            f"SELECT status, count(*), min(stage_since) FROM messages{_and(where, cond)} "
            "GROUP BY status",
            [*params, *extra],
        )
        return {status: (int(count), now - oldest) for status, count, oldest in rows}
