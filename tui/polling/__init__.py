"""Polling: the pure scheduling policy and the loop that applies it (no Textual here)."""
