"""The SQLite history's schema and its migrations, keyed by `PRAGMA user_version`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tui.store import facts

SCHEMA_VERSION = 7


def _v1(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE IF NOT EXISTS messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            provider TEXT,                       -- NULL until a provider answered for it
            status TEXT NOT NULL DEFAULT 'unknown',
            provider_status TEXT NOT NULL DEFAULT '',
            to_addr TEXT,
            body TEXT,
            channel TEXT,
            error_code TEXT,
            error_message TEXT,
            created_at REAL,
            updated_at REAL,                     -- provider's latest timestamp
            snapshot TEXT,                       -- normalized message JSON (tui.serialize)
            raw TEXT,                            -- the provider's payload, for the detail view
            first_seen REAL NOT NULL,
            last_polled REAL,                    -- last successful answer
            last_changed REAL,                   -- when this app last saw the status change
            next_poll REAL,                      -- NULL: never again (final)
            poll_errors INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        );
        CREATE INDEX IF NOT EXISTS messages_due ON messages(next_poll) WHERE next_poll IS NOT NULL;
        CREATE INDEX IF NOT EXISTS messages_status ON messages(status);
        CREATE INDEX IF NOT EXISTS messages_changed ON messages(last_changed);
        CREATE TABLE IF NOT EXISTS events (
            message_id TEXT NOT NULL,
            source TEXT NOT NULL,                -- provider | observed
            status TEXT NOT NULL,
            provider_status TEXT NOT NULL,
            ts REAL NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            UNIQUE (message_id, source, provider_status, ts)
        );
        CREATE TABLE IF NOT EXISTS campaigns (
            name TEXT PRIMARY KEY,
            created_at REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS campaign_messages (
            campaign TEXT NOT NULL,
            message_id TEXT NOT NULL,
            PRIMARY KEY (campaign, message_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS campaign_messages_by_message ON campaign_messages(message_id);
        """,
    )


SEARCHABLE_V2 = "id, to_addr, status, body, error_code"
#: What the find bar's free text searches since v3: the provider's word (`blocked`) and the reason too.
SEARCHABLE = "id, to_addr, status, provider_status, body, error_code, error_message"


def _fts(db: sqlite3.Connection, columns: str) -> None:
    """A trigram full-text index over `columns`: substring search via an index.

    External content (no second copy of the text); triggers keep it in step, and an update
    re-indexes only when a searchable column really changed (not on every poll)."""
    if not has_fts5(db):
        return  # the find bar falls back to LIKE scans
    names = [c.strip() for c in columns.split(",")]
    old = ", ".join(f"old.{c}" for c in names)
    new = ", ".join(f"new.{c}" for c in names)
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in names)
    _script(
        db,
        f"""
        CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
            {columns}, content='messages', content_rowid='seq', tokenize='trigram');
        CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, {columns}) VALUES (new.seq, {new});
        END;
        CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, {columns}) VALUES ('delete', old.seq, {old});
        END;
        CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE ON messages WHEN {changed} BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, {columns}) VALUES ('delete', old.seq, {old});
            INSERT INTO messages_fts(rowid, {columns}) VALUES (new.seq, {new});
        END;
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    _fts(db, SEARCHABLE_V2)


def _v3(db: sqlite3.Connection) -> None:
    """Failure reasons on events (Sent.dm puts them on FAILED/BLOCKED/FILTERED events), a filter on
    the provider's own word (`status:blocked`), and the search index over that word and the reason."""
    db.execute("ALTER TABLE events ADD COLUMN reason_code TEXT")
    db.execute("ALTER TABLE events ADD COLUMN reason TEXT")
    db.execute(
        "CREATE INDEX IF NOT EXISTS messages_provider_status ON messages(lower(provider_status))"
    )
    # What changed, for other instances sharing the file: a revision per written row, and a
    # generation bumped by deletes (forget, clear, prune) that asks for a full reload.
    db.execute("ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX IF NOT EXISTS messages_rev ON messages(rev)")
    # Webhook coverage: until when a pushed message is left to its webhooks (polling is the safety net).
    db.execute("ALTER TABLE messages ADD COLUMN push_until REAL")
    db.execute(
        "CREATE INDEX IF NOT EXISTS messages_pushed ON messages(provider, push_until) WHERE push_until IS NOT NULL"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS history_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
    )
    db.execute("INSERT OR IGNORE INTO history_meta VALUES ('rev', 0), ('generation', 0)")
    # Every send made from sendwatch, with its Idempotency-Key, so a retry can reuse the key.
    db.execute(
        "CREATE TABLE IF NOT EXISTS sends (idempotency_key TEXT, provider TEXT NOT NULL, created_at REAL NOT NULL, "
        "campaign TEXT, message_ids TEXT NOT NULL)"
    )
    _script(
        db,
        """
        DROP TRIGGER IF EXISTS messages_fts_insert;
        DROP TRIGGER IF EXISTS messages_fts_delete;
        DROP TRIGGER IF EXISTS messages_fts_update;
        DROP TABLE IF EXISTS messages_fts;
        """,
    )
    _fts(db, SEARCHABLE)


def _v4(db: sqlite3.Connection) -> None:
    """Webhook events already applied, shared by every receiver on this file (tui/store/seen.py)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS webhook_seen (key TEXT PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX IF NOT EXISTS webhook_seen_expires ON webhook_seen(expires)")


def _v5(db: sqlite3.Connection) -> None:
    """The report's facts as columns (tui/store/facts.py); v6 back-fills them."""
    for column in REPORT_COLUMNS:
        db.execute(f"ALTER TABLE messages ADD COLUMN {column}")
    # filled by v6, which re-runs the back-fill once the events have their attempt


def _v6(db: sqlite3.Connection) -> None:
    """Several accounts per provider and resent messages (docs/providers.md: a resend re-queues the
    same ID): each message's account (NULL: the provider's only account) and its attempt number,
    each event's attempt, and one row per attempt with what it cost; the report's facts filled
    again (their `region_code` is what the `country:` filter reads)."""
    for statement in ATTEMPTS_AND_ACCOUNTS:
        db.execute(statement)
    backfill_report_facts(db)


#: schema v6 (PostgreSQL's v4 the same, in its types)
ATTEMPTS_AND_ACCOUNTS = (
    "ALTER TABLE messages ADD COLUMN account TEXT",
    "ALTER TABLE messages ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE events ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1",
    "CREATE INDEX IF NOT EXISTS messages_account ON messages(account) WHERE account IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS attempts (message_id TEXT NOT NULL, attempt INTEGER NOT NULL, "
    "started_at REAL NOT NULL, price REAL, status TEXT, PRIMARY KEY (message_id, attempt))",
)


def _v7(db: sqlite3.Connection) -> None:
    """The alert rules' state, shared by every instance of the history (tui/store/alert_state.py)."""
    db.execute(ALERT_STATE)


ALERT_STATE = "CREATE TABLE IF NOT EXISTS alert_state (rule TEXT PRIMARY KEY, state TEXT NOT NULL)"


def backfill_report_facts(db: sqlite3.Connection) -> None:
    """The report's columns of every stored message, from its snapshot, then from its events."""
    last = 0
    while rows := db.execute(facts.NEXT_SNAPSHOTS, (last, facts.BATCH)).fetchall():
        last = rows[-1][0]
        db.executemany(facts.SET_SNAPSHOT_FACTS, facts.snapshot_updates(rows))
    db.execute(facts.REFRESH_FROM_EVENTS)


#: the columns schema v5 adds (PostgreSQL's v3 the same, in its types)
REPORT_COLUMNS = (
    "price REAL",
    "segments INTEGER",
    "region_code TEXT",
    "delivered_at REAL",
    "stage_since REAL",
)


def has_fts5(db: sqlite3.Connection) -> bool:
    try:
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts5_probe USING fts5(x, tokenize='trigram')"
        )
        db.execute("DROP TABLE temp.fts5_probe")
        return True
    except sqlite3.OperationalError:
        return False


def fts_ready(db: sqlite3.Connection) -> bool:
    return (
        db.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'").fetchone() is not None
    )


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1,
    2: _v2,
    3: _v3,
    4: _v4,
    5: _v5,
    6: _v6,
    7: _v7,
}


class NewerSchema(sqlite3.DatabaseError):
    """The file was written by a newer sendwatch: refused, never rewritten or moved."""


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION in one IMMEDIATE transaction (DDL is transactional in
    SQLite): two instances opening an old file at once migrate it once, and a kill half-way leaves
    the old version whole. The version is read inside the lock, after any other migrator finished;
    a file already at the current version is not locked at all (other instances keep writing)."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current == SCHEMA_VERSION:
        return
    if current > SCHEMA_VERSION:
        raise NewerSchema(f"was written by a newer sendwatch (schema {current} > {SCHEMA_VERSION})")
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise NewerSchema(
                f"was written by a newer sendwatch (schema {version} > {SCHEMA_VERSION})"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](db)
            db.execute(f"PRAGMA user_version = {target}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run several statements inside the current transaction (`executescript` would commit it)."""
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                db.execute(pending)
            pending = ""
