"""`sendwatch` as scripts use it: a real subprocess against the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tui.model import Provider
from tui.simulator import SENDO_KEY, SENTDM_KEY


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=60)


def test_version_and_help() -> None:
    out = run(["--version"], {})
    assert out.returncode == 0 and out.stdout.startswith("sendwatch ")
    helped = run(["--help"], {})
    assert helped.returncode == 0 and "exit codes" in helped.stdout and "get ID" in helped.stdout


def test_get_json_and_exit_codes(env, world, tmp_path: Path) -> None:
    m = world.add_message(Provider.SENDO, [(0, "created"), (1, "sent"), (3, "delivered")], created=-10)
    ok = run(["get", m.id, "--json"], env)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    for key in ("id", "provider", "status", "provider_status", "to", "from", "body", "channel", "created_at",
                "updated_at", "events", "error", "fetched_at"):
        assert key in data
    assert data["provider"] == "sendo" and data["status"] == "delivered"
    human = run(["get", f"sendo:{m.id}"], env)
    assert human.returncode == 0 and "delivered" in human.stdout and m.to in human.stdout
    assert (tmp_path / "data" / "history.sqlite3").exists()

    assert run(["get", "00000000-0000-4000-8000-000000000000"], env).returncode == 3
    bad = run(["get", "not-an-id"], env)
    assert bad.returncode == 2 and "not a message ID" in bad.stderr and "Traceback" not in bad.stderr
    assert run(["get", m.id, "--provider", "sentdm"], env).returncode == 3
    assert run(["get"], env).returncode == 2  # usage

    denied = run(["get", m.id], {**env, "SENDO_API_KEY": "wrong-key-abcdefgh", "SENT_DM_API_KEY": "wrong-key-abcdefgh"})
    assert denied.returncode == 4 and "SENDO_API_KEY" in denied.stderr and "wrong-key" not in denied.stderr


def test_network_failure_exit_code(env) -> None:
    dead = {**env, "SENDWATCH_SENTDM_URL": "http://127.0.0.1:9", "SENDWATCH_SENDO_URL": "http://127.0.0.1:9"}
    out = run(["get", "00000000-0000-4000-8000-000000000000"], dead)
    assert out.returncode == 5 and "cannot reach" in out.stderr and "Traceback" not in out.stderr


def test_no_provider_configured(tmp_path: Path) -> None:
    out = run(["get", "00000000-0000-4000-8000-000000000000"], {"SENDWATCH_CONFIG": str(tmp_path / "x.toml"),
                                                                 "SENDWATCH_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2 and "SENT_DM_API_KEY" in out.stderr and "--demo" in out.stderr


def test_bad_config_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[providers.sendo\n")
    out = run(["--config", str(path), "get", "00000000-0000-4000-8000-000000000000"], {"SENDWATCH_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2 and str(path) in out.stderr and "Traceback" not in out.stderr


def test_secrets_never_leak(env, world, sim, tmp_path: Path) -> None:
    """The keys appear nowhere: output, errors, the history file, reprs."""
    from tests.conftest import fast
    from tui.config import load
    from tui.simulator.demo import demo_settings

    m = world.add_message(Provider.SENTDM, [(0, "queued"), (2, "failed")], error=("30003", "x"), created=-5)
    outputs = [run(["get", m.id, "--json", "--raw"], env), run(["get", m.id], env), run(["config", "check"], env)]
    sim.set_fault(Provider.SENDO, "down")
    outputs.append(run(["get", "sendo:" + m.id], env))
    blob = "".join(o.stdout + o.stderr for o in outputs)
    for data_file in (tmp_path / "data").glob("*"):
        blob += data_file.read_bytes().decode("latin-1")
    settings = fast(demo_settings(sim, tmp_path / "h.sqlite3", load(tmp_path / "none.toml", env={})))
    blob += repr(settings) + str(settings) + f"{settings.sentdm.api_key}"
    for key in (SENTDM_KEY, SENDO_KEY):
        assert key not in blob
        assert key[5:25] not in blob
