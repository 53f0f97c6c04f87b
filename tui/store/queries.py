"""The store's reads: list pages at 100,000 rows, counts, one message with its events, export.

A mixin over `Backend` (backend.py); the SQL is shared by both backends, free text is matched
by the backend's own index (`_text_match`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tui.model import Event, EventSource, Provider, Status
from tui.serialize import events_to_dicts, message_from_dict
from tui.store.backend import Backend
from tui.store.rows import ROW_COLUMNS, SORTS, ListFilter, Row, Stored, _and


class Queries(Backend):
    """Reads for the list, the detail pane, the summary, export and other instances."""

    def count(self, flt: ListFilter = ListFilter()) -> int:
        where, params = flt.where(self._text_match)
        return self._count(f"SELECT count(*) FROM messages{where}", params)

    def count_upto(self, flt: ListFilter, cap: int) -> int:
        """The view's size, counting no further than `cap`: a keystroke never waits for a full
        scan (the list shows "10,000+" and counts further only when scrolled there)."""
        where, params = flt.where(self._text_match)
        return self._count(
            f"SELECT count(*) FROM (SELECT 1 FROM messages{where} LIMIT ?) AS capped",
            [*params, cap],
        )

    def page(self, flt: ListFilter, offset: int, limit: int, sort: str = "newest") -> list[Row]:
        where, params = flt.where(self._text_match)
        order = SORTS.get(sort, SORTS["newest"])[0]
        rows = self._read(
            f"SELECT {ROW_COLUMNS} FROM messages{where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [Row(*r) for r in rows]

    def page_after(
        self, flt: ListFilter, after: Row, limit: int, sort: str = "newest"
    ) -> list[Row]:
        """The `limit` rows that follow `after` in the view: keyset paging, no OFFSET rescan."""
        where, params = flt.where(self._text_match)
        if sort == "changed":
            key = after.last_changed if after.last_changed is not None else after.first_seen
            cond = "(coalesce(last_changed, first_seen) < ? OR (coalesce(last_changed, first_seen) = ? AND seq < ?))"
            extra: list[Any] = [key, key, after.seq]
        else:
            cond, extra = "seq < ?", [after.seq]
        order = SORTS.get(sort, SORTS["newest"])[0]
        rows = self._read(
            f"SELECT {ROW_COLUMNS} FROM messages{_and(where, cond)} ORDER BY {order} LIMIT ?",
            [*params, *extra, limit],
        )
        return [Row(*r) for r in rows]

    def position(self, message_id: str, flt: ListFilter, sort: str = "newest") -> int | None:
        """Index of a message in the filtered, sorted list (None if the filter hides it)."""
        where, params = flt.where(self._text_match)
        found = self._read(
            f"SELECT seq, coalesce(last_changed, first_seen) FROM messages{_and(where, 'id = ?')}",
            [*params, message_id],
        )
        if not found:
            return None
        seq, changed = found[0]
        if sort == "changed":
            cond, extra = (
                "(coalesce(last_changed, first_seen) > ? OR (coalesce(last_changed, first_seen) = ? AND seq > ?))",
                [changed, changed, seq],
            )
        else:
            cond, extra = "seq > ?", [seq]
        return self._count(f"SELECT count(*) FROM messages{_and(where, cond)}", [*params, *extra])

    def row(self, message_id: str) -> Row | None:
        rows = self._read(f"SELECT {ROW_COLUMNS} FROM messages WHERE id = ?", (message_id,))
        return Row(*rows[0]) if rows else None

    def status_counts(self, flt: ListFilter = ListFilter()) -> dict[str, int]:
        """Counts per status; messages never answered yet count as `waiting`."""
        where, params = flt.where(self._text_match)
        return dict(
            self._read(
                f"SELECT CASE WHEN last_polled IS NULL THEN 'waiting' ELSE status END AS s, count(*) FROM messages{where} GROUP BY s",
                params,
            )
        )

    def failure_kinds(self, flt: ListFilter = ListFilter()) -> dict[str, int]:
        """Failed messages by the provider's own word (blocked, filtered, expired, failed)."""
        where, params = flt.where(self._text_match)
        cond = _and(where, "status = 'failed'")
        return dict(
            self._read(
                f"SELECT lower(provider_status), count(*) FROM messages{cond} "
                "GROUP BY lower(provider_status) ORDER BY count(*) DESC",
                params,
            )
        )

    def provider_of(self, message_id: str) -> Provider | None:
        rows = self._read("SELECT provider FROM messages WHERE id = ?", (message_id,))
        return Provider(rows[0][0]) if rows and rows[0][0] in ("sentdm", "sendo") else None

    def _events_for(self, ids: list[str]) -> dict[str, list[Event]]:
        """Every event of these messages (provider and observed), oldest first, in one query."""
        out: dict[str, list[Event]] = {}
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            rows = self._read(
                f"SELECT message_id, source, status, provider_status, ts, description, reason_code, reason, attempt FROM events "
                f"WHERE message_id IN ({','.join('?' * len(part))}) ORDER BY ts, {self.dialect.event_order}",
                part,
            )
            for mid, src, st, ps, ts, desc, code, reason, attempt in rows:
                out.setdefault(mid, []).append(
                    Event(
                        Status(st) if st in Status._value2member_map_ else Status.UNKNOWN,
                        ps,
                        datetime.fromtimestamp(ts, tz=UTC),
                        desc,
                        EventSource(src)
                        if src in EventSource._value2member_map_
                        else EventSource.PROVIDER,
                        reason_code=code,
                        reason=reason,
                        attempt=attempt or 1,
                    )
                )
        return out

    def get(self, message_id: str) -> Stored | None:
        """The full cached message with every event (provider and observed), oldest first."""
        rows = self._read(
            "SELECT snapshot, raw, first_seen, last_polled, next_poll, poll_errors, last_error, "
            "attempt, account FROM messages WHERE id = ?",
            (message_id,),
        )
        if not rows or rows[0][0] is None:
            return None
        snapshot, raw, first_seen, last_polled, next_poll, poll_errors, last_error = rows[0][:7]
        attempt, account = rows[0][7:]
        try:
            data = json.loads(snapshot)
            data["raw"] = json.loads(raw) if raw else {}
            msg = message_from_dict(data)
        except (ValueError, TypeError):
            return None  # an unreadable cached row is shown as not fetched yet, never a crash
        events = self._events_for([message_id]).get(message_id, [])
        campaigns = [
            r[0]
            for r in self._read(
                "SELECT campaign FROM campaign_messages WHERE message_id = ?", (message_id,)
            )
        ]
        fetched = datetime.fromtimestamp(last_polled, tz=UTC) if last_polled else None
        return Stored(
            replace(msg, events=tuple(events), attempt=attempt or 1),
            fetched,
            first_seen,
            last_polled,
            next_poll,
            poll_errors,
            last_error,
            campaigns,
            account,
        )

    def iter_snapshots(
        self, flt: ListFilter = ListFilter(), batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every message in the view as `get --json` objects (for export), oldest first, in batches."""
        where, params = flt.where(self._text_match)
        last = 0
        while True:
            rows = self._read(
                f"SELECT seq, id, provider, status, snapshot, last_polled, last_error, "
                f"(SELECT {self.dialect.concat('campaign', ';')} FROM campaign_messages c "
                f"WHERE c.message_id = messages.id) "
                f"FROM messages{_and(where, 'seq > ?')} ORDER BY seq LIMIT ?",
                [*params, last, batch],
            )
            if not rows:
                return
            events = self._events_for([r[1] for r in rows])
            for seq, mid, provider, status, snapshot, _last_polled, last_error, campaigns in rows:
                last = seq
                data: dict[str, Any] | None = None
                if snapshot:
                    try:
                        data = json.loads(snapshot)
                    except ValueError:
                        data = None
                if data is None:
                    data = {
                        "id": mid,
                        "provider": provider,
                        "status": status,
                        "provider_status": None,
                        "to": None,
                        "from": None,
                        "body": None,
                        "channel": None,
                        "created_at": None,
                        "updated_at": None,
                        "error": None,
                        "fetched_at": None,
                    }
                data["events"] = events_to_dicts(events.get(mid, []))
                data["campaigns"] = campaigns.split(";") if campaigns else []
                data["last_poll_error"] = last_error
                yield data

    def first_seen(self) -> float | None:
        return self._number("SELECT min(first_seen) FROM messages")

    def campaigns(self) -> list[tuple[str, int]]:
        return [
            tuple(r)
            for r in self._read(
                "SELECT c.name, count(m.message_id) FROM campaigns c LEFT JOIN campaign_messages m ON m.campaign = c.name "
                "GROUP BY c.name ORDER BY c.created_at DESC"
            )
        ]

    def campaign_started(self, name: str) -> float | None:
        rows = self._read("SELECT created_at FROM campaigns WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def sends(self, limit: int = 20) -> list[tuple[str | None, str, float, str | None, list[str]]]:
        """The latest sends, newest first: (idempotency key, provider, time, campaign, message IDs)."""
        return [
            (k, p, t, c, ids.split(",") if ids else [])
            for k, p, t, c, ids in self._read(
                "SELECT idempotency_key, provider, created_at, campaign, message_ids FROM sends ORDER BY created_at DESC LIMIT ?",
                (limit,),
            )
        ]
