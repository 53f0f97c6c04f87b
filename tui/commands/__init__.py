"""One module per CLI subcommand; none of them imports Textual."""
