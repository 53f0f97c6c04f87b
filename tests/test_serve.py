"""`sendwatch serve`: who may open the dashboard, checked over real HTTP against the real server."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tui.commands.serve import (
    DashboardServer,
    add_parser,
    choose_token,
    parse_address,
    session_command,
    token_required,
)

TOKEN = "team-token-0123456789"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(host: str) -> None:
    assert not token_required(host)
    assert choose_token(host, None) is None
    assert choose_token(host, "given") == "given"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "dash.example.com", ""])
def test_any_other_bind_gets_a_token(host: str) -> None:
    assert token_required(host)
    first, second = choose_token(host, None), choose_token(host, None)
    assert first and second and first != second and len(first) >= 40
    assert choose_token(host, "given") == "given"
    server = DashboardServer("true", host, 8000, first)
    assert server.url().endswith(f":8000/?token={first}")


def test_a_loopback_bind_behind_a_public_url_gets_a_token() -> None:
    assert token_required("127.0.0.1", "https://dash.example.com")
    assert choose_token("127.0.0.1", None, "https://dash.example.com")
    assert not token_required("127.0.0.1", "http://localhost:8000")
    server = DashboardServer("true", "127.0.0.1", 8000, "t", public_url="https://dash.example.com/")
    assert server.url() == "https://dash.example.com/?token=t"


def test_addresses() -> None:
    assert parse_address("8000") == ("127.0.0.1", 8000)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_address("[::1]:8080") == ("::1", 8080)
    assert parse_address("0") == ("127.0.0.1", 0)
    assert parse_address("127.0.0.1:0") == ("127.0.0.1", 0)
    for bad in ("", "host:", "70000", "a:b", ":0"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_each_session_runs_this_python_s_sendwatch(tmp_path: Path) -> None:
    config = tmp_path / "my config.toml"
    assert shlex.split(session_command(True, config)) == [
        sys.executable,
        "-m",
        "tui",
        "--config",
        str(config),
        "--demo",
    ]
    assert shlex.split(session_command(False, None)) == [sys.executable, "-m", "tui"]


def test_add_parser_plugs_into_the_cli() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="sendwatch")
    add_parser(parser.add_subparsers(dest="command"), [])
    args = parser.parse_args(["serve", "0.0.0.0:8000", "--token", "t"])
    assert (args.address, args.token, args.public_url) == ("0.0.0.0:8000", "t", None)
    assert parser.parse_args(["serve"]).address == "127.0.0.1:8000"


def _serve(*argv: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.commands.serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the first line, or "" if it died
    assert line.startswith("sendwatch: serving the dashboard at http://127.0.0.1:"), line
    try:
        yield process, line.rsplit(" ", 1)[1].strip()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


@pytest.fixture
def with_token() -> Iterator[tuple[subprocess.Popen[str], str]]:
    yield from _serve("127.0.0.1:0", "--token", TOKEN)


def test_requests_without_the_token_are_refused(with_token) -> None:
    process, url = with_token
    base = url.split("?")[0]
    assert url == f"{base}?token={TOKEN}"
    port = base.rstrip("/").rsplit(":", 1)[1]
    with httpx.Client(timeout=30) as http:
        assert http.get(base).status_code == 401
        assert http.get(base + "static/js/textual.js").status_code == 401
        assert http.get(base + "ws").status_code == 401
        assert http.get(base + "?token=wrong").status_code == 403
        cookie = f"sendwatch_token_{port}"
        assert http.get(base, headers={"Cookie": f"{cookie}=wrong"}).status_code == 403

        first = http.get(url)
        assert first.status_code == 302 and first.headers["location"] == "./"
        set_cookie = first.headers["set-cookie"]
        assert set_cookie.startswith(f"{cookie}={TOKEN};")
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie

        headers = {"Cookie": f"{cookie}={TOKEN}"}
        page = http.get(base, headers=headers)
        assert page.status_code == 200
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page.text
        assert TOKEN not in page.text
        assert http.get(base + "static/js/textual.js", headers=headers).status_code == 200
        hijack = {**headers, "Origin": "https://evil.example"}
        assert http.get(base + "ws", headers=hijack).status_code == 403
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert TOKEN not in output  # no request log: the token was printed once, in the URL line


def test_loopback_without_a_token_serves_anyone_on_this_machine() -> None:
    for process, url in _serve("127.0.0.1:0"):
        assert "token" not in url
        with httpx.Client(timeout=30) as http:
            page = http.get(url)
            assert page.status_code == 200 and "textual-terminal" in page.text
            # Another website open in the same browser still cannot drive it.
            refused = http.get(url + "ws", headers={"Origin": "http://evil.example"})
            assert refused.status_code == 403
        assert process.poll() is None


def test_a_bad_address_is_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui.commands.serve", "nowhere:99999"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert (
        done.stderr.startswith("sendwatch: expected [HOST:]PORT") and done.stderr.count("\n") == 1
    )


async def test_behind_a_proxy_the_page_uses_the_public_url() -> None:
    server = DashboardServer("true", "127.0.0.1", 0, TOKEN, public_url="https://dash.example.com")
    await server.start()
    local = f"http://127.0.0.1:{server.port}/"
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            # What the proxy forwards: the browser's Host, over plain HTTP on loopback.
            headers = {"Host": "dash.example.com"}
            first = await http.get(f"{local}?token={TOKEN}", headers=headers)
            assert first.status_code == 302 and "Secure" in first.headers["set-cookie"]
            cookie = {**headers, "Cookie": f"{server.cookie_name}={TOKEN}"}
            page = await http.get(local, headers=cookie)
            assert 'data-session-websocket-url="wss://dash.example.com/ws"' in page.text
            assert "https://dash.example.com/static/js/textual.js" in page.text
            origin = {**cookie, "Origin": "https://dash.example.com"}
            # Past the guard, to the websocket handshake (a plain GET is no upgrade: 400).
            assert (await http.get(local + "ws", headers=origin)).status_code == 400
            assert server.sessions == 0
    finally:
        await server.stop()
