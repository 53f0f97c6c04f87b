"""The layering contracts in pyproject.toml ([tool.importlinter]) hold: run `lint-imports` in CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_domain_really_does_not_import_textual() -> None:
    """Importing the domain in a fresh interpreter never loads Textual (httpx itself may load Rich
    for its own command line, so Rich is left to the static contract above)."""
    code = (
        "import sys, tui.providers.lookup, tui.store, tui.polling.poller, tui.importers, "
        "tui.simulator.demo, tui.webhooks, tui.services; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'textual' or m.startswith('tui.app')]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
