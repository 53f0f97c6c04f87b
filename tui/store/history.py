"""The local history: every message looked up or watched, its events, and what this app observed.

SQLite in WAL mode. One writer connection behind a lock, so workers that finish at once queue up
instead of interleaving half-written rows; one reader connection per thread, so the list, the
poller's queries and a filter scan read concurrently (WAL readers never block each other or the
writer). A file that is not a readable database is moved aside (never
deleted) and a fresh one created, with a warning for the UI.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tui.ids import MessageRef
from tui.model import Event, EventSource, Message, MessageError, Provider, Status
from tui.serialize import events_to_dicts, message_from_dict, message_to_dict
from tui.store.schema import SEARCHABLE, fts_ready, migrate

ROW_COLUMNS = (
    "seq, id, provider, status, provider_status, to_addr, channel, error_code, error_message, updated_at, "
    "last_polled, last_changed, next_poll, first_seen, poll_errors, last_error, substr(body, 1, 200)"
)


@dataclass(frozen=True)
class Row:
    """What one line of the message list needs; cheap to read a page of."""

    seq: int
    id: str
    provider: str | None
    status: str
    provider_status: str
    to: str | None
    channel: str | None
    error_code: str | None
    error_message: str | None
    updated_at: float | None
    last_polled: float | None
    last_changed: float | None
    next_poll: float | None
    first_seen: float
    poll_errors: int
    last_error: str | None
    body: str | None


@dataclass(frozen=True)
class ListFilter:
    """The list's current view: free text plus optional status/provider/campaign/error filters."""

    text: str = ""
    statuses: frozenset[str] = frozenset()
    provider: str | None = None
    campaign: str | None = None
    error_code: str | None = None

    def where(self, fts: bool = False) -> tuple[str, list[Any]]:
        """SQL for this view. With `fts`, text of 3+ characters goes through the trigram index."""
        clauses: list[str] = []
        params: list[Any] = []
        text = self.text.strip()
        if text and fts and len(text) >= 3:
            clauses.append("seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)")
            params.append('"' + text.replace('"', '""') + '"')  # one quoted phrase: a plain substring
        elif text:
            # LIKE is case-insensitive for ASCII in SQLite: no lower() calls per row.
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            columns = [c.strip() for c in SEARCHABLE.split(",")]
            clauses.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
            params += [like] * len(columns)
        if self.statuses:
            # A normalized status (`failed`) or the provider's own word (`blocked`, `expired`).
            normalized = sorted(s for s in self.statuses if s in Status._value2member_map_ or s == "waiting")
            words = sorted(s.lower() for s in self.statuses if s not in normalized)
            either = []
            if normalized:
                either.append(f"status IN ({','.join('?' * len(normalized))})")
                params += normalized
            if words:
                either.append(f"lower(provider_status) IN ({','.join('?' * len(words))})")
                params += words
            clauses.append("(" + " OR ".join(either) + ")")
        if self.provider:
            clauses.append("provider = ?")
            params.append(self.provider)
        if self.campaign:
            clauses.append("id IN (SELECT message_id FROM campaign_messages WHERE campaign = ?)")
            params.append(self.campaign)
        if self.error_code:
            clauses.append("error_code = ?")
            params.append(self.error_code)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


NextPoll = Callable[[float, float], "float | None"]

SORTS = {
    "newest": ("seq DESC", "seq > ?"),
    "changed": ("coalesce(last_changed, first_seen) DESC, seq DESC", None),
}


@dataclass
class FetchOutcome:
    """What `record_fetch` found: whether anything shown changed, and the status transition."""

    changed: bool
    previous: Status | None
    current: Status
    next_poll: float | None = None


@dataclass(frozen=True)
class Changes:
    """What `changes_since` found: re-read these rows (or everything, when the generation moved)."""

    rev: int
    ids: list[str]
    generation: int
    truncated: bool = False


@dataclass
class Stored:
    message: Message
    fetched_at: datetime | None
    first_seen: float
    last_polled: float | None
    next_poll: float | None
    poll_errors: int
    last_error: str | None
    campaigns: list[str] = field(default_factory=list)


def _and(where: str, condition: str) -> str:
    """Add a condition to a `where` from `ListFilter.where` (which may be empty)."""
    return f"{where} AND {condition}" if where else f" WHERE {condition}"


def _owner_condition(provider: Provider | None, unresolved: bool) -> tuple[str, list[Any]]:
    """SQL selecting one provider's messages, or those whose provider is not known yet."""
    if unresolved:
        return "provider IS NULL", []
    if provider is not None:
        return "provider = ?", [provider.value]
    return "1", []


def _loads(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _moves_backwards(stored: Status, answer: Status) -> bool:
    """True when `answer` would undo progress already stored (an `unknown` never undoes delivery)."""
    if answer is Status.UNKNOWN:
        return not stored.is_pending
    return stored is not Status.UNKNOWN and answer.rank < stored.rank


def _error_of(snapshot: dict[str, Any] | None) -> MessageError | None:
    error = (snapshot or {}).get("error")
    if not isinstance(error, dict):
        return None
    return MessageError(error.get("code"), error.get("message"))


def _now() -> float:
    return time.time()


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


class HistoryStore:
    """Thread-safe access to the history file. Never imports Textual."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = self._open()
        self.schema_version: int = self._writer.execute("PRAGMA user_version").fetchone()[0]
        self.fts = fts_ready(self._writer)  # False on a SQLite without FTS5: LIKE scans instead

    # -- opening, corruption ------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=OFF")
        return db

    def _open(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            writer = self._connect()
            writer.execute("SELECT count(*) FROM sqlite_master").fetchone()
            migrate(writer)
            writer.execute("SELECT seq, id, status FROM messages LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - closing a broken handle may fail too
                pass
            aside = self._move_aside()
            self.warnings.append(
                f"The history file {self.path} could not be read ({exc}); it was moved to {aside} and a new one started."
            )
            writer = self._connect()
            migrate(writer)
        return writer

    def _move_aside(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.replace(Path(str(aside) + suffix))
        return aside

    def close(self) -> None:
        with self._readers_lock:
            connections, self._readers = [*self._readers, self._writer], []
        for db in connections:
            try:
                db.close()
            except sqlite3.Error:
                pass

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; writers queue on the lock instead of interleaving."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            else:
                self._writer.execute("COMMIT")

    def _lock_message(self, db: Any, message_id: str) -> None:
        """Serialize writers of one message; SQLite's single writer already does."""

    # -- what changed, for other instances -------------------------------------------------------
    def _next_rev(self, db: Any) -> int:
        """The revision a write in this transaction stamps on the rows it touches."""
        return db.execute("UPDATE history_meta SET value = value + 1 WHERE key = 'rev' RETURNING value").fetchone()[0]

    def _bump_generation(self, db: Any) -> None:
        """Rows were deleted: other instances reload instead of patching rows."""
        db.execute("UPDATE history_meta SET value = value + 1 WHERE key = 'generation'")

    def changes_since(self, rev: int, limit: int = 5000) -> "Changes":
        """IDs written after revision `rev` (at most `limit`), the newest revision and the generation."""
        rows = self._read("SELECT id, rev FROM messages WHERE rev > ? ORDER BY rev LIMIT ?", (rev, limit))
        generation = self._read("SELECT value FROM history_meta WHERE key = 'generation'")[0][0]
        newest = rows[-1][1] if rows else rev
        if len(rows) < limit:
            newest = max(newest, self.current_rev())
        return Changes(newest, [r[0] for r in rows], generation, truncated=len(rows) >= limit)

    def current_rev(self) -> int:
        return self._read("SELECT value FROM history_meta WHERE key = 'rev'")[0][0]

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = self._connect()
            with self._readers_lock:
                self._readers.append(reader)
        return reader.execute(sql, tuple(params)).fetchall()

    # -- tracking -----------------------------------------------------------------------------
    def track(self, refs: Iterable[MessageRef], *, campaign: str | None = None, now: float | None = None) -> int:
        """Add IDs to watch (due for a poll at once); known ones keep their state. Returns new count."""
        now = _now() if now is None else now
        added = 0
        with self._tx() as db:
            if campaign:
                db.execute("INSERT OR IGNORE INTO campaigns(name, created_at) VALUES (?, ?)", (campaign, now))
            for ref in refs:
                cur = db.execute(
                    "INSERT OR IGNORE INTO messages(id, provider, first_seen, next_poll, rev) VALUES (?, ?, ?, ?, ?)",
                    (ref.id, ref.provider.value if ref.provider else None, now, now, self._next_rev(db)),
                )
                added += cur.rowcount
                if ref.provider:
                    db.execute("UPDATE messages SET provider = ? WHERE id = ? AND provider IS NULL", (ref.provider.value, ref.id))
                if campaign:
                    db.execute("INSERT OR IGNORE INTO campaign_messages VALUES (?, ?)", (campaign, ref.id))
        return added

    def record_fetch(self, msg: Message, *, next_poll: float | None | NextPoll, fetched_at: float | None = None) -> FetchOutcome:
        """Store a fresh answer: snapshot, new events (deduplicated), an observed transition if any.

        A status never moves backwards: an answer that ranks below what is stored (a late poll after
        a webhook, answers crossing on the wire) keeps the stored status, and only adds its events.
        An answer that changes nothing rewrites only the poll bookkeeping, not the row's JSON.
        `next_poll` may be a function of (last_changed, first_seen), evaluated inside the same
        transaction, so the schedule always follows the stored change history.
        """
        fetched_at = _now() if fetched_at is None else fetched_at
        with self._tx() as db:
            self._lock_message(db, msg.id)
            prev = db.execute(
                "SELECT status, provider_status, snapshot, last_changed, first_seen FROM messages WHERE id = ?", (msg.id,)
            ).fetchone()
            old_snapshot = _loads(prev[2]) if prev and prev[2] else None
            previous = Status(prev[0]) if old_snapshot is not None and prev[0] in Status._value2member_map_ else None
            if previous is not None and _moves_backwards(previous, msg.status):
                msg = replace(msg, status=previous, provider_status=prev[1], error=_error_of(old_snapshot))
            snapshot = message_to_dict(msg, datetime.fromtimestamp(fetched_at, tz=timezone.utc), store=True)
            status_changed = old_snapshot is None or prev[1] != msg.provider_status
            if old_snapshot is not None:
                old_snapshot["fetched_at"] = snapshot["fetched_at"]
            changed = old_snapshot != snapshot
            last_changed = fetched_at if status_changed else (prev[3] if prev else fetched_at)
            first_seen = prev[4] if prev else fetched_at
            when = next_poll(last_changed, first_seen) if callable(next_poll) else next_poll
            rev = self._next_rev(db)
            if changed:
                self._upsert(db, msg, snapshot, first_seen, fetched_at, last_changed, when, rev)
            else:
                db.execute("UPDATE messages SET last_polled = ?, next_poll = ?, poll_errors = 0, last_error = NULL, rev = ? "
                           "WHERE id = ?", (fetched_at, when, rev, msg.id))
            self._insert_events(db, msg.id, msg.events)
            at = datetime.fromtimestamp(fetched_at, tz=timezone.utc)
            if old_snapshot is not None and status_changed:
                self._insert_events(db, msg.id, (Event(msg.status, msg.provider_status, at,
                    f"seen changing from {prev[1]} to {msg.provider_status}", EventSource.OBSERVED),))
            elif old_snapshot is None:
                self._insert_events(db, msg.id, (Event(msg.status, msg.provider_status, at,
                    f"first seen as {msg.provider_status}", EventSource.OBSERVED),))
        return FetchOutcome(changed=changed, previous=previous, current=msg.status, next_poll=when)

    @staticmethod
    def _upsert(db: sqlite3.Connection, msg: Message, snapshot: dict[str, Any], first_seen: float, fetched_at: float,
                last_changed: float, when: float | None, rev: int) -> None:
        db.execute(
            """INSERT INTO messages(id, provider, status, provider_status, to_addr, body, channel, error_code,
                   error_message, created_at, updated_at, snapshot, raw, first_seen, last_polled, last_changed,
                   next_poll, poll_errors, last_error, rev)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?)
               ON CONFLICT(id) DO UPDATE SET provider=excluded.provider, status=excluded.status,
                   provider_status=excluded.provider_status, to_addr=excluded.to_addr, body=excluded.body,
                   channel=excluded.channel, error_code=excluded.error_code, error_message=excluded.error_message,
                   created_at=excluded.created_at, updated_at=excluded.updated_at, snapshot=excluded.snapshot,
                   raw=excluded.raw, last_polled=excluded.last_polled, last_changed=excluded.last_changed,
                   next_poll=excluded.next_poll, poll_errors=0, last_error=NULL, rev=excluded.rev""",
            (
                msg.id, msg.provider.value, msg.status.value, msg.provider_status, msg.to, msg.body, msg.channel,
                msg.error.code if msg.error else None, msg.error.message if msg.error else None,
                _ts(msg.created_at), _ts(msg.last_event_time()), json.dumps(snapshot, ensure_ascii=False, default=str),
                json.dumps(msg.raw, ensure_ascii=False, default=str), first_seen, fetched_at, last_changed, when, rev,
            ),
        )

    def add_events(self, message_id: str, events: Iterable[Event]) -> int:
        """Merge extra provider events (e.g. Sent.dm activities); returns how many were new."""
        with self._tx() as db:
            return self._insert_events(db, message_id, events)

    @staticmethod
    def _insert_events(db: sqlite3.Connection, message_id: str, events: Iterable[Event]) -> int:
        count = 0
        for e in events:
            cur = db.execute(
                "INSERT OR IGNORE INTO events(message_id, source, status, provider_status, ts, description, reason_code, reason) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (message_id, e.source.value, e.status.value, e.provider_status.lower(), round(e.timestamp.timestamp(), 3),
                 e.description, e.reason_code, e.reason),
            )
            count += cur.rowcount
        return count

    def record_send(self, provider: Provider, key: str | None, refs: list[MessageRef], campaign: str | None,
                    now: float | None = None) -> int:
        """Track what a send created (due for a first poll at once) and remember its idempotency key."""
        now = _now() if now is None else now
        added = self.track(refs, campaign=campaign, now=now)
        with self._tx() as db:
            db.execute("INSERT INTO sends VALUES (?, ?, ?, ?, ?)",
                       (key, provider.value, now, campaign, ",".join(r.id for r in refs)))
        return added

    def sends(self, limit: int = 20) -> list[tuple[str | None, str, float, str | None, list[str]]]:
        """The latest sends, newest first: (idempotency key, provider, time, campaign, message IDs)."""
        return [(k, p, t, c, ids.split(",") if ids else []) for k, p, t, c, ids in self._read(
            "SELECT idempotency_key, provider, created_at, campaign, message_ids FROM sends ORDER BY created_at DESC LIMIT ?",
            (limit,))]

    # -- webhooks: polling as the safety net ------------------------------------------------------
    def cover_by_push(self, message_id: str, until: float) -> None:
        """A webhook brought this status: leave the message to its webhooks (no poll before `until`)."""
        with self._tx() as db:
            db.execute("UPDATE messages SET push_until = ?, rev = ?, next_poll = CASE WHEN next_poll IS NULL THEN NULL "
                       "WHEN next_poll < ? THEN ? ELSE next_poll END WHERE id = ?",
                       (until, self._next_rev(db), until, until, message_id))

    def last_push(self, provider: Provider) -> float | None:
        """The latest coverage deadline set by a webhook for this provider (None: never pushed)."""
        return self._read("SELECT max(push_until) FROM messages WHERE provider = ? AND push_until IS NOT NULL",
                          (provider.value,))[0][0]

    def release_push(self, provider: Provider, now: float) -> int:
        """Webhooks went silent: every message they covered is due for a poll now (polling takes over)."""
        with self._tx() as db:
            cur = db.execute("UPDATE messages SET push_until = NULL, next_poll = CASE WHEN next_poll IS NULL THEN NULL "
                             "WHEN next_poll > ? THEN ? ELSE next_poll END WHERE provider = ? AND push_until IS NOT NULL",
                             (now, now, provider.value))
            return cur.rowcount

    def record_failure(self, message_id: str, error: str, *, next_poll: float | None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE messages SET poll_errors = poll_errors + 1, last_error = ?, next_poll = ?, rev = ? WHERE id = ?",
                (error[:500], next_poll, self._next_rev(db), message_id),
            )

    def pull_forward(self, ids: Iterable[str], interval: float, now: float, *, changed_since: float | None = None) -> None:
        """Make pending messages due no later than `interval` after their last poll (rows on screen).

        With `changed_since`, only messages that changed (or were first seen) since then: a row on
        screen that has not moved for a while keeps its normal interval (its boost has faded)."""
        ids = list(ids)[:500]
        if not ids:
            return
        fresh, extra = ("", []) if changed_since is None else (" AND coalesce(last_changed, first_seen) >= ?", [changed_since])
        with self._tx() as db:
            db.execute(
                f"UPDATE messages SET next_poll = max(?, coalesce(last_polled, 0) + ?) WHERE next_poll IS NOT NULL "
                f"AND next_poll > max(?, coalesce(last_polled, 0) + ?) AND id IN ({','.join('?' * len(ids))}){fresh}",
                [now, interval, now, interval, *ids, *extra],
            )

    def make_all_due(self, now: float) -> int:
        """Every pending message due now (`R`); final ones stay final."""
        with self._tx() as db:
            return db.execute("UPDATE messages SET next_poll = ? WHERE next_poll IS NOT NULL AND next_poll > ?", (now, now)).rowcount

    def forget(self, message_id: str) -> None:
        with self._tx() as db:
            for table, col in (("messages", "id"), ("events", "message_id"), ("campaign_messages", "message_id")):
                db.execute(f"DELETE FROM {table} WHERE {col} = ?", (message_id,))
            self._bump_generation(db)

    def clear(self) -> None:
        with self._tx() as db:
            for table in ("messages", "events", "campaign_messages", "campaigns"):
                db.execute(f"DELETE FROM {table}")
            self._bump_generation(db)

    def prune(self, *, retention_days: float, max_messages: int, now: float | None = None) -> int:
        """Drop messages not seen within the retention window, then the oldest beyond the cap."""
        now = _now() if now is None else now
        cutoff = now - retention_days * 86400
        with self._tx() as db:
            stale = [r[0] for r in db.execute(
                "SELECT id FROM messages WHERE coalesce(last_polled, first_seen) < ? AND next_poll IS NULL", (cutoff,))]
            total = db.execute("SELECT count(*) FROM messages").fetchone()[0] - len(stale)
            if total > max_messages:
                stale += [r[0] for r in db.execute(
                    "SELECT id FROM messages WHERE coalesce(last_polled, first_seen) >= ? OR next_poll IS NOT NULL "
                    "ORDER BY seq LIMIT ?", (cutoff, total - max_messages))]
            for chunk in range(0, len(stale), 500):
                part = stale[chunk:chunk + 500]
                marks = ",".join("?" * len(part))
                for table, col in (("messages", "id"), ("events", "message_id"), ("campaign_messages", "message_id")):
                    db.execute(f"DELETE FROM {table} WHERE {col} IN ({marks})", part)
            if stale:
                self._bump_generation(db)
        return len(stale)

    # -- reading ------------------------------------------------------------------------------
    def count(self, flt: ListFilter = ListFilter()) -> int:
        where, params = flt.where(self.fts)
        return self._read(f"SELECT count(*) FROM messages{where}", params)[0][0]

    def page(self, flt: ListFilter, offset: int, limit: int, sort: str = "newest") -> list[Row]:
        where, params = flt.where(self.fts)
        order = SORTS.get(sort, SORTS["newest"])[0]
        rows = self._read(f"SELECT {ROW_COLUMNS} FROM messages{where} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset])
        return [Row(*r) for r in rows]

    def position(self, message_id: str, flt: ListFilter, sort: str = "newest") -> int | None:
        """Index of a message in the filtered, sorted list (None if the filter hides it)."""
        where, params = flt.where(self.fts)
        found = self._read(f"SELECT seq, coalesce(last_changed, first_seen) FROM messages{_and(where, 'id = ?')}", [*params, message_id])
        if not found:
            return None
        seq, changed = found[0]
        if sort == "changed":
            cond, extra = "(coalesce(last_changed, first_seen) > ? OR (coalesce(last_changed, first_seen) = ? AND seq > ?))", [changed, changed, seq]
        else:
            cond, extra = "seq > ?", [seq]
        return self._read(f"SELECT count(*) FROM messages{_and(where, cond)}", [*params, *extra])[0][0]

    def row(self, message_id: str) -> Row | None:
        rows = self._read(f"SELECT {ROW_COLUMNS} FROM messages WHERE id = ?", (message_id,))
        return Row(*rows[0]) if rows else None

    def status_counts(self, flt: ListFilter = ListFilter()) -> dict[str, int]:
        """Counts per status; messages never answered yet count as `waiting`."""
        where, params = flt.where(self.fts)
        return dict(self._read(
            f"SELECT CASE WHEN last_polled IS NULL THEN 'waiting' ELSE status END AS s, count(*) FROM messages{where} GROUP BY s",
            params))

    def error_counts(self, flt: ListFilter = ListFilter(), limit: int = 20) -> list[tuple[str, str, int]]:
        where, params = flt.where(self.fts)
        cond = _and(where, "status = 'failed'")
        return [tuple(r) for r in self._read(
            f"SELECT coalesce(error_code, '?'), max(coalesce(error_message, '')), count(*) FROM messages{cond} "
            "GROUP BY coalesce(error_code, '?') ORDER BY count(*) DESC LIMIT ?", [*params, limit])]

    def failure_kinds(self, flt: ListFilter = ListFilter()) -> dict[str, int]:
        """Failed messages by the provider's own word (blocked, filtered, expired, failed)."""
        where, params = flt.where(self.fts)
        return dict(self._read(
            f"SELECT lower(provider_status), count(*) FROM messages{_and(where, 'status = ' + repr('failed'))} "
            "GROUP BY lower(provider_status) ORDER BY count(*) DESC", params))

    def provider_of(self, message_id: str) -> Provider | None:
        rows = self._read("SELECT provider FROM messages WHERE id = ?", (message_id,))
        return Provider(rows[0][0]) if rows and rows[0][0] in ("sentdm", "sendo") else None

    def _events_for(self, ids: list[str]) -> dict[str, list[Event]]:
        """Every event of these messages (provider and observed), oldest first, in one query."""
        out: dict[str, list[Event]] = {}
        for start in range(0, len(ids), 900):
            part = ids[start:start + 900]
            rows = self._read(
                f"SELECT message_id, source, status, provider_status, ts, description, reason_code, reason FROM events "
                f"WHERE message_id IN ({','.join('?' * len(part))}) ORDER BY ts, rowid", part)
            for mid, src, st, ps, ts, desc, code, reason in rows:
                out.setdefault(mid, []).append(Event(
                    Status(st) if st in Status._value2member_map_ else Status.UNKNOWN, ps,
                    datetime.fromtimestamp(ts, tz=timezone.utc), desc,
                    EventSource(src) if src in EventSource._value2member_map_ else EventSource.PROVIDER,
                    reason_code=code, reason=reason))
        return out

    def get(self, message_id: str) -> Stored | None:
        """The full cached message with every event (provider and observed), oldest first."""
        rows = self._read(
            "SELECT snapshot, raw, first_seen, last_polled, next_poll, poll_errors, last_error FROM messages WHERE id = ?",
            (message_id,),
        )
        if not rows or rows[0][0] is None:
            return None
        snapshot, raw, first_seen, last_polled, next_poll, poll_errors, last_error = rows[0]
        try:
            data = json.loads(snapshot)
            data["raw"] = json.loads(raw) if raw else {}
            msg = message_from_dict(data)
        except (ValueError, TypeError):
            return None  # an unreadable cached row is shown as not fetched yet, never a crash
        events = self._events_for([message_id]).get(message_id, [])
        campaigns = [r[0] for r in self._read("SELECT campaign FROM campaign_messages WHERE message_id = ?", (message_id,))]
        fetched = datetime.fromtimestamp(last_polled, tz=timezone.utc) if last_polled else None
        return Stored(replace(msg, events=tuple(events)), fetched, first_seen, last_polled, next_poll, poll_errors, last_error, campaigns)

    def due(self, now: float, limit: int, provider: Provider | None = None, *, unresolved: bool = False,
            among: Iterable[str] | None = None, never_asked: bool | None = None,
            ) -> list[tuple[str, str | None, str, float | None]]:
        """Messages whose next poll time has come, most overdue first: (id, provider, status, last_changed).

        `among` restricts the answer to those IDs (what is on screen goes first). `never_asked=True`
        gives only messages never asked yet (no answer, no error), oldest first, so every tracked
        message gets a first answer in a bounded time; `never_asked=False` leaves them out."""
        cond, params = _owner_condition(provider, unresolved)
        if among is not None:
            ids = list(among)[:500]
            if not ids:
                return []
            cond += f" AND id IN ({','.join('?' * len(ids))})"
            params += ids
        if never_asked is not None:
            # Never-asked rows keep the next_poll they were tracked with: oldest first, via the index.
            cond += f" AND {'' if never_asked else 'NOT '}(last_polled IS NULL AND poll_errors = 0)"
        return [tuple(r) for r in self._read(
            f"SELECT id, provider, status, coalesce(last_changed, first_seen) FROM messages "
            f"WHERE next_poll IS NOT NULL AND next_poll <= ? AND {cond} ORDER BY next_poll, seq LIMIT ?",
            [now, *params, limit])]

    def next_due(self, provider: Provider | None = None, *, unresolved: bool = False) -> float | None:
        cond, params = _owner_condition(provider, unresolved)
        return self._read(f"SELECT min(next_poll) FROM messages WHERE next_poll IS NOT NULL AND {cond}", params)[0][0]

    def pending_count(self) -> int:
        return self._read("SELECT count(*) FROM messages WHERE next_poll IS NOT NULL")[0][0]

    def backlog(self, now: float, flt: ListFilter = ListFilter()) -> int:
        """How many messages are overdue right now: what the poller still has to catch up on."""
        where, params = flt.where(self.fts)
        return self._read(f"SELECT count(*) FROM messages{_and(where, 'next_poll <= ?')}",
                          [*params, now])[0][0]

    def oldest_due(self, now: float, flt: ListFilter = ListFilter()) -> float | None:
        where, params = flt.where(self.fts)
        return self._read(f"SELECT min(next_poll) FROM messages{_and(where, 'next_poll <= ?')}",
                          [*params, now])[0][0]

    def first_seen(self) -> float | None:
        return self._read("SELECT min(first_seen) FROM messages")[0][0]

    def campaigns(self) -> list[tuple[str, int]]:
        return [tuple(r) for r in self._read(
            "SELECT c.name, count(m.message_id) FROM campaigns c LEFT JOIN campaign_messages m ON m.campaign = c.name "
            "GROUP BY c.name ORDER BY c.created_at DESC")]

    def campaign_started(self, name: str) -> float | None:
        rows = self._read("SELECT created_at FROM campaigns WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def transitions_since(self, since: float, flt: ListFilter = ListFilter()) -> list[float]:
        """Times of observed status changes (for the changes-per-minute sparkline)."""
        if flt.campaign:
            return [r[0] for r in self._read(
                "SELECT e.ts FROM events e JOIN campaign_messages c ON c.message_id = e.message_id "
                "WHERE e.source = 'observed' AND e.ts >= ? AND c.campaign = ? AND e.description NOT LIKE 'first seen%'",
                (since, flt.campaign))]
        return [r[0] for r in self._read(
            "SELECT ts FROM events WHERE source = 'observed' AND ts >= ? AND description NOT LIKE 'first seen%'", (since,))]

    def iter_snapshots(self, flt: ListFilter = ListFilter(), batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every message in the view as `get --json` objects (for export), oldest first, in batches."""
        where, params = flt.where(self.fts)
        last = 0
        while True:
            rows = self._read(
                f"SELECT seq, id, provider, status, snapshot, last_polled, last_error, "
                f"(SELECT group_concat(campaign, ';') FROM campaign_messages c WHERE c.message_id = messages.id) "
                f"FROM messages{_and(where, 'seq > ?')} ORDER BY seq LIMIT ?", [*params, last, batch])
            if not rows:
                return
            events = self._events_for([r[1] for r in rows])
            for seq, mid, provider, status, snapshot, last_polled, last_error, campaigns in rows:
                last = seq
                data: dict[str, Any] | None = None
                if snapshot:
                    try:
                        data = json.loads(snapshot)
                    except ValueError:
                        data = None
                if data is None:
                    data = {"id": mid, "provider": provider, "status": status, "provider_status": None, "to": None,
                            "from": None, "body": None, "channel": None, "created_at": None, "updated_at": None,
                            "error": None, "fetched_at": None}
                data["events"] = events_to_dicts(events.get(mid, []))
                data["campaigns"] = campaigns.split(";") if campaigns else []
                data["last_poll_error"] = last_error
                yield data

    # -- the message list's reads at 100,000 rows (read-only) ---------------------------------
    def count_upto(self, flt: ListFilter, cap: int) -> int:
        """The view's size, counting no further than `cap`: a keystroke never waits for a full
        scan (the list shows "10,000+" and counts further only when scrolled there)."""
        where, params = flt.where(self.fts)
        return self._read(f"SELECT count(*) FROM (SELECT 1 FROM messages{where} LIMIT ?)", [*params, cap])[0][0]

    def page_after(self, flt: ListFilter, after: Row, limit: int, sort: str = "newest") -> list[Row]:
        """The `limit` rows that follow `after` in the view: keyset paging, no OFFSET rescan."""
        where, params = flt.where(self.fts)
        if sort == "changed":
            key = after.last_changed if after.last_changed is not None else after.first_seen
            cond = "(coalesce(last_changed, first_seen) < ? OR (coalesce(last_changed, first_seen) = ? AND seq < ?))"
            extra: list[Any] = [key, key, after.seq]
        else:
            cond, extra = "seq < ?", [after.seq]
        order = SORTS.get(sort, SORTS["newest"])[0]
        rows = self._read(f"SELECT {ROW_COLUMNS} FROM messages{_and(where, cond)} ORDER BY {order} LIMIT ?",
                          [*params, *extra, limit])
        return [Row(*r) for r in rows]
