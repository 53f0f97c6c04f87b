"""The local SQLite history (no Textual here)."""
