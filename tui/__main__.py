"""`python -m tui` is the same as the `sendwatch` command."""

from tui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
