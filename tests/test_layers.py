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


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles_even_counting_type_checking_imports() -> None:
    """A module that imports another under TYPE_CHECKING still depends on it: no circles at all."""
    import grimp

    graph = grimp.build_graph("tui", exclude_type_checking_imports=False, cache_dir=None)
    assert _cycles(graph) == []
