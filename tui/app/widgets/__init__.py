"""Dashboard widgets, one per screen region."""
