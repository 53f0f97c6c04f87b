"""Modal screens: help, first-run welcome, confirmations, import."""
