"""Use cases shared by the CLI and the app (no Textual): what one user action does, end to end."""
