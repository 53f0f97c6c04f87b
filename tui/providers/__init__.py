"""Provider clients (no Textual here): one module per provider plus shared pacing and lookup."""
