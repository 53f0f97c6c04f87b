"""`sendwatch watch --no-ui` (file and stdin) and `sendwatch export` (CSV and JSON)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.test_cli import run
from tui.model import Provider


def test_watch_imports_and_reports_bad_lines(env, world, tmp_path: Path) -> None:
    a = world.add_message(
        Provider.SENTDM, [(0, "queued"), (1, "failed")], error=("30007", "filtered"), created=-5
    )
    b = world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5)
    ids = tmp_path / "launch.txt"
    ids.write_text(f"# launch\n{a.id}\nsendo:{b.id}\nbogus\n")
    out = run(["watch", str(ids), "--no-ui"], env)
    assert out.returncode == 0, out.stderr
    assert (
        "skipped line 4" in out.stderr and "2 IDs read" in out.stderr and "'launch'" in out.stderr
    )
    piped = run(["watch", "-", "--no-ui", "--campaign", "piped"], env, stdin=f"{a.id}\n")
    assert piped.returncode == 0 and "'piped'" in piped.stderr
    nothing = run(["watch", "-", "--no-ui"], env, stdin="garbage\n")
    assert nothing.returncode == 2 and "no valid message IDs" in nothing.stderr
    missing = run(["watch", str(tmp_path / "nope.txt"), "--no-ui"], env)
    assert missing.returncode == 2 and "cannot read" in missing.stderr

    # look both up (as the dashboard's poller would), then export
    assert run(["get", a.id], env).returncode == 0 and run(["get", b.id], env).returncode == 0
    exported = run(["export", "--campaign", "launch", "--format", "json"], env)
    assert exported.returncode == 0, exported.stderr
    items = json.loads(exported.stdout)
    assert {i["id"] for i in items} == {a.id, b.id}
    failed = next(i for i in items if i["id"] == a.id)
    assert (
        failed["status"] == "failed"
        and failed["error"]["code"] == "30007"
        and failed["campaigns"] == ["launch", "piped"]
    )
    single = json.loads(run(["get", a.id, "--json"], env).stdout)
    for key in (
        "id",
        "provider",
        "status",
        "provider_status",
        "to",
        "body",
        "error",
        "created_at",
        "events",
    ):
        assert failed[key] == single[key]

    as_csv = run(["export", "--format", "csv", "--status", "failed"], env)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert (
        [r["id"] for r in rows] == [a.id]
        and rows[0]["error_code"] == "30007"
        and rows[0]["status"] == "failed"
    )
    assert rows[0]["created_at"].endswith("Z")

    target = tmp_path / "out.csv"
    assert run(["export", "--output", str(target)], env).returncode == 0
    assert len(target.read_text().splitlines()) == 3  # header + 2

    assert run(["export", "--campaign", "nope"], env).returncode == 2
    assert run(["export", "--status", "weird"], env).returncode == 2


def test_export_of_empty_history_is_valid(env) -> None:
    assert json.loads(run(["export", "--format", "json"], env).stdout) == []
    assert run(["export"], env).stdout.strip().startswith("id,provider,status")
