"""The webhook receiver as a service: `sendwatch listen`, its limits and errors, and end to end with
the simulator's webhook sender (signatures computed by the sender, checked by the receiver)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_webhooks import (
    KEY,
    SECRET,
    SENDO,
    SENTDM,
    TOKEN,
    new_id,
    sentdm_body,
    signed_headers,
)
from tui.model import Provider
from tui.store import SQLiteStore
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.server import WebhookReceiver

# -- `sendwatch listen` ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_listen_runs_standalone_until_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "SENT_DM_WEBHOOK_SECRET": SECRET,
        "SENDWATCH_DATA_DIR": str(tmp_path / "data"),
        "SENDWATCH_CONFIG": str(tmp_path / "absent.toml"),
    }
    env.pop("SENDO_WEBHOOK_TOKEN", None)
    code = (
        "import sys; from tui.config import load; from tui.commands.listen import run; "
        f"sys.exit(run(load(), '127.0.0.1', {port}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl+C"):
                break
        out = "".join(lines)
        assert f"POST http://127.0.0.1:{port}/webhooks/sentdm" in out
        assert "Sendo" in out and "not served" in out and "SENDO_WEBHOOK_TOKEN" in out
        body = sentdm_body(new_id())
        response = httpx.post(
            f"http://127.0.0.1:{port}{SENTDM}", content=body, headers=signed_headers(body)
        )
        assert response.status_code == 200
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "1 event" in rest
    assert SECRET not in out + rest + err and base64.b64encode(KEY).decode() not in out + rest + err


def test_listen_without_any_credential_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.commands.listen import run
    from tui.config import load

    assert run(load(tmp_path / "absent.toml", env={}), "127.0.0.1", _free_port()) == 2
    assert "SENT_DM_WEBHOOK_SECRET" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_listen_says_in_one_line_why_the_history_cannot_be_opened(
    tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {
        **os.environ,
        "SENT_DM_WEBHOOK_SECRET": SECRET,
        "SENDWATCH_DATA_DIR": str(blocker / "data"),  # under a regular file: cannot be created
        "SENDWATCH_CONFIG": str(tmp_path / "absent.toml"),
    }
    if where == "postgresql":
        env["SENDWATCH_DATABASE_URL"] = f"postgresql://sw:hunter2@127.0.0.1:{_free_port()}/sw"
    done = subprocess.run(
        [sys.executable, "-m", "tui", "listen", f"127.0.0.1:{_free_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    if where == "sqlite":
        assert str(blocker / "data") in lines[0]  # names where the history would be
        assert "Not a directory" in lines[0]
    else:
        assert "127.0.0.1" in lines[0] and "refused" in lines[0].lower()
        assert "hunter2" not in done.stderr
    assert "history" in lines[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("8787", ("127.0.0.1", 8787)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("[::1]:8080", ("::1", 8080)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    from tui.commands.listen import parse_listen

    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "host:", ":80", "70000", "[::1]8080", "1.2.3.4:0"])
def test_parse_listen_refuses(text: str) -> None:
    from tui.commands.listen import parse_listen

    with pytest.raises(ValueError):
        parse_listen(text)


# -- limits and our own errors ----------------------------------------------------------------------


async def test_a_body_sent_too_slowly_gets_408_and_huge_headers_are_refused(tmp_path: Path) -> None:
    from tui.webhooks.server import ReceiverLimits

    store = SQLiteStore(tmp_path / "h.sqlite3")
    receiver = WebhookReceiver(
        store,
        WebhookCredentials.from_values(None, TOKEN),
        port=0,
        limits=ReceiverLimits(body_timeout=0.1),
    )
    async with receiver:
        async with httpx.AsyncClient(base_url=receiver.base_url) as client:

            async def trickle() -> AsyncIterator[bytes]:
                yield b"{"
                await asyncio.sleep(0.5)
                yield b"}"

            slow = await client.post(SENDO, content=trickle(), headers={"X-Webhook-Token": TOKEN})
            assert slow.status_code == 408
        # Headers that keep growing past the limit (16 KiB) are refused before they are complete.
        reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
        writer.write(b"POST /webhooks/sendo HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 20_000)
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(b"p" * 20_000 + b"\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(200), 5)
        writer.close()
        assert answer.split(b" ")[1] in (b"400", b"431"), answer
    store.close()


class _BrokenStore(SQLiteStore):
    """Every read a push's write makes of the stored message fails with a bug of ours."""

    def get(self, message_id: str) -> Any:
        raise RuntimeError(f"internal detail {SECRET}")

    def priors(self, message_ids: Any) -> Any:
        raise RuntimeError(f"internal detail {SECRET}")


async def test_our_own_errors_are_a_generic_500_without_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = _BrokenStore(tmp_path / "h.sqlite3")
    receiver = WebhookReceiver(store, WebhookCredentials.from_values(SECRET, None), port=0)
    async with receiver:
        async with httpx.AsyncClient(base_url=receiver.base_url) as client:
            body = sentdm_body(new_id())
            response = await client.post(SENTDM, content=body, headers=signed_headers(body))
    store.close()
    assert response.status_code == 500
    assert response.json() == {"ok": False, "error": "internal error"}
    assert "internal detail" not in caplog.text and SECRET not in caplog.text
    assert receiver.stats[Provider.SENTDM].failed == 1


# -- end to end with the simulator's webhook sender -------------------------------------------------


async def test_every_status_the_simulator_pushes_ends_up_in_history(
    world: Any, tmp_path: Path
) -> None:
    from tui.model import normalize_status
    from tui.simulator.webhooks import (
        SENTDM_SUBTYPES,
        SIM_WEBHOOK_SECRET,
        SIM_WEBHOOK_TOKEN,
        WebhookConfig,
        WebhookSender,
    )

    messages = world.add_campaign(16, spread=10.0)
    store = SQLiteStore(tmp_path / "h.sqlite3")
    receiver = WebhookReceiver(
        store, WebhookCredentials.from_values(SIM_WEBHOOK_SECRET, SIM_WEBHOOK_TOKEN), port=0
    )
    async with receiver:
        sender = WebhookSender(
            world,
            WebhookConfig(url=receiver.base_url, duplicate_rate=0.3, other_family_rate=0.2, seed=3),
            since=-1.0,
        )
        sender.start()
        try:
            world.advance(7200.0)
            delivered = await asyncio.to_thread(sender.flush, 20.0)
        finally:
            await asyncio.to_thread(sender.stop)
    try:
        assert delivered
        assert sender.attempts and all(a.status == 200 for a in sender.attempts)
        for msg in messages:
            steps = [
                st for _, st in msg.steps if msg.provider is Provider.SENDO or st in SENTDM_SUBTYPES
            ]
            stored = store.get(msg.id)
            assert stored is not None, msg.id
            assert stored.message.status is normalize_status(steps[-1]), (msg.id, steps)
        stats = receiver.stats
        assert stats[Provider.SENTDM].duplicates + stats[Provider.SENDO].duplicates >= 1
        assert stats[Provider.SENTDM].ignored >= 1  # the `templates` events
    finally:
        store.close()
