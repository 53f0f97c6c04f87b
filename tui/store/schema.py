"""The history database schema and its migrations, keyed by `PRAGMA user_version`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 2


def _v1(db: sqlite3.Connection) -> None:
    db.executescript(
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
        """
    )


SEARCHABLE = "id, to_addr, status, body, error_code"


def _v2(db: sqlite3.Connection) -> None:
    """A trigram full-text index over what the find bar searches: substring search via an index.

    External content (no second copy of the text); triggers keep it in step, and an update
    re-indexes only when a searchable column really changed (not on every poll)."""
    if not has_fts5(db):
        return  # the find bar falls back to LIKE scans
    old = ", ".join(f"old.{c.strip()}" for c in SEARCHABLE.split(","))
    new = ", ".join(f"new.{c.strip()}" for c in SEARCHABLE.split(","))
    changed = " OR ".join(f"old.{c.strip()} IS NOT new.{c.strip()}" for c in SEARCHABLE.split(","))
    db.executescript(
        f"""
        CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
            {SEARCHABLE}, content='messages', content_rowid='seq', tokenize='trigram');
        CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, {SEARCHABLE}) VALUES (new.seq, {new});
        END;
        CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, {SEARCHABLE}) VALUES ('delete', old.seq, {old});
        END;
        CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE ON messages WHEN {changed} BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, {SEARCHABLE}) VALUES ('delete', old.seq, {old});
            INSERT INTO messages_fts(rowid, {SEARCHABLE}) VALUES (new.seq, {new});
        END;
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
        """
    )


def has_fts5(db: sqlite3.Connection) -> bool:
    try:
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts5_probe USING fts5(x, tokenize='trigram')")
        db.execute("DROP TABLE temp.fts5_probe")
        return True
    except sqlite3.OperationalError:
        return False


def fts_ready(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'").fetchone() is not None


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1, 2: _v2}


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION, one version per transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"history was written by a newer sendwatch (schema {version} > {SCHEMA_VERSION})")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with db:
            MIGRATIONS[target](db)
            db.execute(f"PRAGMA user_version = {target}")
