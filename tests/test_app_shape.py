"""The shape of the app (issue #14): a thin App without project mixins, every background task
labelled for when it fails, no state reached through getattr, small modules, no test scaffolding
in the package."""

from __future__ import annotations

import ast
from pathlib import Path

from tui.app.app import SendwatchApp

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tui" / "app"
#: modules this part of the tree owns besides tui/app (the domain's use cases and words)
OWN = [
    ROOT / "tui" / "present.py",
    *(ROOT / "tui" / "services" / f"{name}.py" for name in ("monitor", "monitor_events")),
    *(ROOT / "tui" / "services" / f"{name}.py" for name in ("campaigns", "find", "waiting")),
    ROOT / "tui" / "services" / "exports.py",
]


def app_modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def test_the_app_has_no_project_mixins() -> None:
    ours = [c for c in SendwatchApp.__mro__[1:] if c.__module__.startswith("tui")]
    assert ours == []


def _groups_and_labels(tree: ast.ClassDef) -> tuple[set[str], set[str]]:
    """Worker groups a class starts (`@work(group=…)`, `run_worker(…, group=…)`) and the keys
    of its `WORKER_LABELS`."""
    groups: set[str] = set()
    labels: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("work", "run_worker"):
                for kw in node.keywords:
                    if kw.arg == "group" and isinstance(kw.value, ast.Constant):
                        groups.add(kw.value.value)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "WORKER_LABELS" for t in node.targets
        ):
            assert isinstance(node.value, ast.Dict)
            labels |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    return groups, labels


def test_every_worker_group_has_a_label_in_its_own_class() -> None:
    """A failure is told as "<label> failed: …", never "A background task failed"."""
    checked = 0
    for path in app_modules():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                groups, labels = _groups_and_labels(node)
                assert groups <= labels, (
                    f"{path.name}:{node.name} lacks labels for {groups - labels}"
                )
                if groups:
                    assert "def on_worker_state_changed" in ast.unparse(node), node.name
                checked += len(groups)
    assert checked >= 20  # the scan found the workers (the lists, panes, screens, live part)


def test_no_state_through_getattr_and_no_string_built_names() -> None:
    for path in app_modules():
        text = path.read_text()
        assert "getattr(self" not in text, path
        assert "_recover_" not in text, path


def test_modules_stay_small_and_scaffolding_stays_in_the_tests() -> None:
    for path in [*app_modules(), *OWN]:
        assert len(path.read_text().splitlines()) <= 400, path
    assert not (APP / "showcase.py").exists()
