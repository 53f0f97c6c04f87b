"""The history database schema and its migrations, keyed by `PRAGMA user_version`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 1


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


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1}


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION, one version per transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"history was written by a newer sendwatch (schema {version} > {SCHEMA_VERSION})")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with db:
            MIGRATIONS[target](db)
            db.execute(f"PRAGMA user_version = {target}")
