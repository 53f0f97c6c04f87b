"""`sendwatch wait`: every exit code, over real HTTP against the simulator and a real SQLite history."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tui.commands import wait
from tui.config import Secret
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.election import lease_for
from tui.polling.policy import PollPolicy
from tui.polling.record import record_lookup
from tui.providers.lookup import Providers
from tui.services.waiting_for import Progress
from tui.store import SQLiteStore

DELIVERED = [(0, "QUEUED"), (0, "SENT"), (0, "DELIVERED")]
FAILED = [(0, "QUEUED"), (0, "FAILED")]
NEVER_FINAL = [(0, "QUEUED"), (0, "SENT")]


@pytest.fixture(autouse=True)
def live(world) -> None:
    """Messages created just now (not a year ago, when the policy would have given up on them)."""
    world.epoch = time.time() - world.now()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sendwatch")
    sub = parser.add_subparsers(dest="command")
    wait.add_parser(sub, [])
    return parser.parse_args(["wait", *argv])


def run_wait(settings, *argv: str, capsys=None) -> tuple[int, str, str]:
    code = wait.run(parse(*argv), settings)
    out, err = capsys.readouterr() if capsys else ("", "")
    return code, out, err


def ref(msg) -> str:
    return f"{msg.provider.value}:{msg.id}"


def test_all_delivered_and_thresholds_hold_exit_0(settings, world, sim, capsys) -> None:
    msgs = [world.add_message(Provider.SENTDM, DELIVERED) for _ in range(3)]
    msgs.append(world.add_message(Provider.SENDO, DELIVERED))
    code, out, err = run_wait(
        settings,
        *map(ref, msgs),
        "--min-delivered",
        "98%",
        "--max-failed",
        "2",
        "--timeout",
        "30s",
        "--json",
        capsys=capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["campaign"] is None
    assert data["total"] == 4 and data["by_status"] == {"delivered": 4}
    assert data["met"] is True and data["timed_out"] is False
    assert data["delivered_pct"] == 100.0 and data["pending"] == []
    assert "\x1b" not in err  # stderr is not a terminal here: no progress line, no escape


def test_threshold_missed_exit_1(settings, world, sim, capsys) -> None:
    good = world.add_message(Provider.SENTDM, DELIVERED)
    bad = world.add_message(Provider.SENTDM, FAILED, error=("BUSINESS_003", "Insufficient balance"))
    code, out, _ = run_wait(
        settings, ref(good), ref(bad), "--max-failed", "10%", "--timeout", "30s", capsys=capsys
    )
    assert code == 1
    assert "2/2 final" in out and "failed ≤ 10%: missed" in out


def test_bare_ids_are_tracked_and_resolved(settings, world, sim, capsys) -> None:
    msg = world.add_message(Provider.SENDO, DELIVERED)
    code, out, _ = run_wait(settings, msg.id, "--timeout", "30s", "--json", capsys=capsys)
    assert code == 0
    assert json.loads(out)["by_status"] == {"delivered": 1}
    assert SQLiteStore(settings.history_path()).provider_of(msg.id) is Provider.SENDO


def test_campaign(settings, world, sim, capsys) -> None:
    msgs = [world.add_message(Provider.SENTDM, DELIVERED) for _ in range(2)]
    msgs.append(world.add_message(Provider.SENTDM, FAILED, error=("30003", "Unreachable")))
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, m.provider) for m in msgs], campaign="spring")
    store.close()
    code, out, _ = run_wait(
        settings, "--campaign", "spring", "--min-delivered", "60", "--json", capsys=capsys
    )
    data = json.loads(out)
    assert code == 0, data
    assert data["campaign"] == "spring" and data["total"] == 3
    assert data["by_status"] == {"delivered": 2, "failed": 1}
    assert data["failed_pct"] == pytest.approx(33.33)


def test_never_final_times_out_exit_6_and_lists_pending(settings, world, sim, capsys) -> None:
    done = world.add_message(Provider.SENTDM, DELIVERED)
    stuck = world.add_message(Provider.SENTDM, NEVER_FINAL)
    started = time.monotonic()
    code, out, _ = run_wait(settings, ref(done), ref(stuck), "--timeout", "2s", capsys=capsys)
    assert code == 6
    assert time.monotonic() - started < 30
    assert "timed out with 1 still pending" in out
    assert f"sentdm:{stuck.id}" in out and done.id not in out.split("pending:")[1]


def test_timeout_json(settings, world, sim, capsys) -> None:
    stuck = world.add_message(Provider.SENDO, NEVER_FINAL)
    code, out, _ = run_wait(settings, ref(stuck), "--timeout", "1s", "--json", capsys=capsys)
    data = json.loads(out)
    assert code == 6
    assert data["timed_out"] is True and data["met"] is False
    assert data["pending"] == [f"sendo:{stuck.id}"] and data["by_status"] == {"sent": 1}


@pytest.mark.parametrize(
    "argv",
    [
        [],  # nothing to wait for
        ["not-an-id"],
        ["--campaign", "x", "8ba7b830-9dad-11d1-80b4-00c04fd430c8"],
        ["--campaign", "no-such-campaign"],
    ],
)
def test_usage_errors_exit_2(settings, sim, argv, capsys) -> None:
    code, out, err = run_wait(settings, *argv, capsys=capsys)
    assert code == 2 and out == ""
    assert err.startswith("sendwatch: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv", [["--timeout", "soon"], ["--timeout", "-1s"], ["--min-delivered", "120"]]
)
def test_bad_flag_values_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse("sentdm:8ba7b830-9dad-11d1-80b4-00c04fd430c8", *argv)
    assert exit_.value.code == 2


def test_auth_rejected_exits_4_promptly(settings, world, sim, capsys) -> None:
    settings = settings.with_provider(Provider.SENTDM, api_key=Secret("sk-wrong-key-0000000000"))
    msg = world.add_message(Provider.SENTDM, DELIVERED)
    started = time.monotonic()
    code, out, err = run_wait(settings, ref(msg), "--timeout", "1h", capsys=capsys)
    assert code == 4
    assert time.monotonic() - started < 30  # promptly, not at the timeout
    assert "rejected" in err and "sk-wrong" not in err and out == ""


def test_store_failure_exits_5(settings, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    broken = replace(settings, history=replace(settings.history, path=str(blocker / "h.sqlite3")))
    code, _, err = run_wait(
        broken, "sentdm:8ba7b830-9dad-11d1-80b4-00c04fd430c8", "--timeout", "5s", capsys=capsys
    )
    assert code == 5 and "history" in err and str(blocker) in err and len(err.splitlines()) == 1


def test_watches_a_history_polled_elsewhere(settings, world, sim) -> None:
    """Another instance holds every lease: wait sends no request and ends on that instance's write."""
    msg = world.add_message(Provider.SENTDM, DELIVERED)
    other = SQLiteStore(settings.history_path())
    providers = [*settings.configured_providers(), None]
    leases = [lease_for(settings, other, owner) for owner in providers]
    assert all(lease.try_acquire() for lease in leases)
    result: dict[str, int] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault(
            "code", wait.run(parse(ref(msg), "--timeout", "60s"), settings)
        )
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while other.row(msg.id) is None:  # wait has tracked it
            assert time.monotonic() < deadline
            time.sleep(0.02)

        async def fetch():
            client = Providers(settings)
            try:
                return await client.client(Provider.SENTDM).fetch(msg.id)
            finally:
                await client.aclose()

        record_lookup(other, PollPolicy(), asyncio.run(fetch()), time.time())
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        for lease in leases:
            lease.release()
        other.close()
    assert result["code"] == 0
    assert len(sim.requests_for(msg.id)) == 1  # ours: the waiting instance asked nothing


def test_subprocess_main_plain_stderr(env, world, sim, tmp_path: Path) -> None:
    msg = world.add_message(Provider.SENTDM, DELIVERED)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tui.commands.wait import main; sys.exit(main())",
            ref(msg),
            "--timeout",
            "60s",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["met"] is True
    assert "\x1b" not in proc.stderr and "\r" not in proc.stderr


def test_progress_line_on_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    progress = Progress(10, 3, {"delivered": 2, "failed": 1, "sent": 7})
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        line = wait.ProgressLine(stream)
        line.show(progress, 72.4)
        line.end()
    assert tty.getvalue() == "\r3/10 final · ✓2 ✗1 · 1m12s\n"
    assert pipe.getvalue() == ""


def test_on_a_team_postgresql_history(settings, world, sim, pg_server, capsys) -> None:
    """The same wait on a team's PostgreSQL: advisory-lock leases, LISTEN for other writers."""
    url = pg_server.create_database()
    team = replace(settings, history=replace(settings.history, url=Secret(url)))
    done = world.add_message(Provider.SENDO, DELIVERED)
    failed = world.add_message(Provider.SENTDM, FAILED, error=("30003", "Unreachable"))
    code, out, err = run_wait(
        team,
        ref(done),
        ref(failed),
        "--min-delivered",
        "50",
        "--timeout",
        "60s",
        "--json",
        capsys=capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["by_status"] == {"delivered": 1, "failed": 1} and data["met"] is True
    assert not settings.history_path().exists()  # nothing went to the local file
    assert "not evaluated" not in err  # the default alert rules read the PostgreSQL history too
    # the alert state is in the PostgreSQL history, never in a file named after the URL
    assert not Path(f"{settings.history_path()}.alerts.json").exists()
    assert not any(p.name.startswith("postgresql:") for p in Path.cwd().iterdir())


def test_a_delivered_whatsapp_is_final_for_waiting(settings, world, sim, capsys) -> None:
    """The poller still rechecks it for a read receipt (next_poll set); wait does not wait for reads."""
    msg = world.add_message(Provider.SENTDM, DELIVERED, channel="whatsapp")
    code, out, _ = run_wait(settings, ref(msg), "--timeout", "60s", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["by_status"] == {"delivered": 1}
    row = SQLiteStore(settings.history_path()).row(msg.id)
    assert row is not None and row.next_poll is not None  # still rechecked by the poller


def test_provider_down_until_the_timeout_exits_5(settings, world, sim, capsys) -> None:
    msg = world.add_message(Provider.SENDO, DELIVERED)
    sim.config.faults[Provider.SENDO] = "down"
    # polls again 0.2 s after a failure (not 10 s), so two failures in a row mark it offline in time
    quick = replace(settings, polling=replace(settings.polling, min_interval=0.1))
    code, out, err = run_wait(quick, ref(msg), "--timeout", "3s", capsys=capsys)
    assert code == 5
    assert "Sendo could not be reached until the timeout" in err
    assert f"sendo:{msg.id}" in out  # what is still pending is printed all the same
