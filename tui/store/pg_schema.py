"""The shared history's schema on PostgreSQL, and its migrations, keyed by a version row.

The same tables as the SQLite file (tui/store/schema.py), in PostgreSQL's types. Substring search
goes through one generated, lower-cased column holding every searchable field, with one `pg_trgm`
GIN index on it (a trusted extension: the database owner may create it), so the find bar stays an
index lookup at 100,000+ messages and the planner can estimate a pattern from one column's
statistics. Migrations run under an advisory lock, so instances starting at once do not race.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.store import facts
from tui.store.dialect import POSTGRESQL
from tui.store.schema import ALERT_STATE, ATTEMPTS_AND_ACCOUNTS, SEARCHABLE

SCHEMA_VERSION = 5
MIGRATION_LOCK = 0x5E4D_0001  # pg_advisory_xact_lock key for migrations
#: between fields in the search column, so a match never spans two of them (nobody types it)
FIELD_SEPARATOR = "E'\\x1f'"


def _search_expression() -> str:
    fields = [f"coalesce({c.strip()}, '')" for c in SEARCHABLE.split(",")]
    return f"lower({f' || {FIELD_SEPARATOR} || '.join(fields)})"


class NewerSchema(Exception):
    """The shared history was written by a newer sendwatch: refused, never rewritten."""


_V1 = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE TABLE IF NOT EXISTS messages (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        provider TEXT,
        status TEXT NOT NULL DEFAULT 'unknown',
        provider_status TEXT NOT NULL DEFAULT '',
        to_addr TEXT, body TEXT, channel TEXT, error_code TEXT, error_message TEXT,
        created_at DOUBLE PRECISION, updated_at DOUBLE PRECISION,
        snapshot TEXT, raw TEXT,
        first_seen DOUBLE PRECISION NOT NULL,
        last_polled DOUBLE PRECISION, last_changed DOUBLE PRECISION, next_poll DOUBLE PRECISION,
        poll_errors INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        rev BIGINT NOT NULL DEFAULT 0,
        push_until DOUBLE PRECISION
    )""",
    "CREATE INDEX IF NOT EXISTS messages_pushed ON messages(provider, push_until) WHERE push_until IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS messages_due ON messages(next_poll) WHERE next_poll IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS messages_status ON messages(status)",
    "CREATE INDEX IF NOT EXISTS messages_changed ON messages(last_changed)",
    "CREATE INDEX IF NOT EXISTS messages_provider_status ON messages(lower(provider_status))",
    "CREATE INDEX IF NOT EXISTS messages_rev ON messages(rev)",
    """CREATE INDEX IF NOT EXISTS messages_search ON messages USING gin (
        id gin_trgm_ops, to_addr gin_trgm_ops, status gin_trgm_ops, provider_status gin_trgm_ops,
        body gin_trgm_ops, error_code gin_trgm_ops, error_message gin_trgm_ops)""",
    """CREATE TABLE IF NOT EXISTS events (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY,
        message_id TEXT NOT NULL,
        source TEXT NOT NULL,
        status TEXT NOT NULL,
        provider_status TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        reason_code TEXT, reason TEXT,
        UNIQUE (message_id, source, provider_status, ts)
    )""",
    "CREATE INDEX IF NOT EXISTS events_observed ON events(ts) WHERE source = 'observed'",
    "CREATE TABLE IF NOT EXISTS campaigns (name TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL)",
    """CREATE TABLE IF NOT EXISTS campaign_messages (
        campaign TEXT NOT NULL, message_id TEXT NOT NULL, PRIMARY KEY (campaign, message_id))""",
    "CREATE INDEX IF NOT EXISTS campaign_messages_by_message ON campaign_messages(message_id)",
    """CREATE TABLE IF NOT EXISTS sends (idempotency_key TEXT, provider TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, campaign TEXT, message_ids TEXT NOT NULL)""",
    # Who holds each provider account's poller lease (tui/polling/election.py).
    """CREATE TABLE IF NOT EXISTS poller_holders (account TEXT PRIMARY KEY, holder TEXT NOT NULL,
        since DOUBLE PRECISION NOT NULL)""",
    # What changed, for the other instances: a revision per write, and a bump for deletes.
    "CREATE SEQUENCE IF NOT EXISTS history_rev",
    "CREATE TABLE IF NOT EXISTS history_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "INSERT INTO history_meta VALUES ('generation', 0) ON CONFLICT DO NOTHING",
]

_V2 = [
    # Events are ordered by a real identity column, not a column pretending to be SQLite's rowid.
    "ALTER TABLE events RENAME COLUMN rowid TO seq",
    # One search column and one trigram index instead of an index over seven columns.
    f"ALTER TABLE messages ADD COLUMN search TEXT GENERATED ALWAYS AS ({_search_expression()}) STORED",
    "CREATE INDEX messages_search_text ON messages USING gin (search gin_trgm_ops)",
    # A finer sample of it, so the planner tells a rare pattern (read the index, sort what it
    # finds) from a common one (walk the list newest first until a page is full).
    "ALTER TABLE messages ALTER COLUMN search SET STATISTICS 1000",
    "DROP INDEX IF EXISTS messages_search",
    # Revisions are now the writing transaction's id (no sequence, no global lock); values from
    # the old sequence could read as future transactions, so they start again from zero.
    "UPDATE messages SET rev = 0 WHERE rev <> 0",
    "DROP SEQUENCE IF EXISTS history_rev",
    # Webhook events already applied (tui/store/seen.py).
    """CREATE TABLE IF NOT EXISTS webhook_seen (key TEXT PRIMARY KEY,
        expires DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS webhook_seen_expires ON webhook_seen(expires)",
]


def backfill_report_facts(conn: Any) -> None:
    """The report's columns of every answered message (tui/store/facts.py), from its snapshot and
    its events. The snapshots' facts go in with one COPY, then one joined UPDATE rewrites each row
    once: a statement per row kept a 100,000-message history's first start waiting half a minute."""
    read = POSTGRESQL.statement(facts.NEXT_SNAPSHOTS)
    updates: list[tuple[Any, ...]] = []
    last = 0
    while rows := conn.execute(read, (last, facts.BATCH)).fetchall():
        last = rows[-1][0]
        updates += facts.snapshot_updates(rows)
    conn.execute(
        "CREATE TEMP TABLE report_facts_fill (price DOUBLE PRECISION, segments BIGINT, "
        "region_code TEXT, stage_since DOUBLE PRECISION, seq BIGINT PRIMARY KEY) ON COMMIT DROP"
    )
    with conn.cursor().copy("COPY report_facts_fill FROM STDIN") as copy:
        for row in updates:
            copy.write_row(row)
    conn.execute(  # one pass: each row rewritten (and re-indexed) once
        "UPDATE messages m SET price = f.price, segments = f.segments, "
        f"region_code = f.region_code, delivered_at = {facts.delivered_at_sql('m')}, "
        f"stage_since = {facts.stage_since_sql('m', 'f.stage_since')} "
        "FROM report_facts_fill f WHERE m.seq = f.seq"
    )
    conn.execute("DROP TABLE report_facts_fill")


_V3: list[str | Callable[[Any], None]] = [
    "ALTER TABLE messages ADD COLUMN price DOUBLE PRECISION",
    "ALTER TABLE messages ADD COLUMN segments BIGINT",
    "ALTER TABLE messages ADD COLUMN region_code TEXT",
    "ALTER TABLE messages ADD COLUMN delivered_at DOUBLE PRECISION",
    "ALTER TABLE messages ADD COLUMN stage_since DOUBLE PRECISION",
    # back-filled by v4, once the events have their attempt
]

#: each message's account and attempt, each event's attempt, the attempts (schema.py's v6)
_V4: list[str | Callable[[Any], None]] = [
    *(statement.replace(" REAL", " DOUBLE PRECISION") for statement in ATTEMPTS_AND_ACCOUNTS),
    backfill_report_facts,
]

MIGRATIONS: dict[int, list[str] | list[str | Callable[[Any], None]]] = {
    1: _V1,
    2: _V2,
    3: _V3,
    4: _V4,
    5: [ALERT_STATE],  # the alert rules' state (tui/store/alert_state.py)
}


def migrate(conn: Any) -> int:
    """Bring the schema to SCHEMA_VERSION in one transaction (DDL is transactional); returns it.
    Raises NewerSchema for a database a newer sendwatch wrote."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        version = row[0] or 0
        if version > SCHEMA_VERSION:
            raise NewerSchema(
                f"was written by a newer sendwatch (schema {version} > {SCHEMA_VERSION})"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for step in MIGRATIONS[target]:
                if callable(step):
                    step(conn)
                else:
                    conn.execute(step)
            conn.execute("INSERT INTO schema_version VALUES (%s)", (target,))
        return SCHEMA_VERSION
