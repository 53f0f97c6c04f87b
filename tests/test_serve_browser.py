"""`sendwatch serve` in a real headless browser: Debian's chromium driven over the DevTools protocol.

The page is opened with the token (then kept by the cookie), the dashboard (`sendwatch --demo` in a
process textual-serve starts) must draw into the browser's terminal, and a key typed into the page
(`?`) must reach it and bring up the help. What the terminal shows is read from the websocket
frames the page receives (the terminal draws on a canvas, so the DOM holds no text).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tui.commands.serve import DashboardServer, session_command

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BOUND = 90.0  # seconds: a dashboard process starting while both cores are busy
_ESCAPES = re.compile(
    rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)"
)


async def wait_for(check: Callable[[], bool], what: str, bound: float = BOUND) -> None:
    """Poll every 20 ms until `check()` holds; fail saying `what` after `bound` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {bound:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


class DevTools:
    """A minimal DevTools-protocol client on one page target, collecting the page's websocket output."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.terminal = bytearray()  # everything the dashboard wrote to the browser's terminal
        self.loaded = False
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data:
                future = self.pending.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("method") == "Network.webSocketFrameReceived":
                frame = data["params"]["response"]
                payload = frame["payloadData"]
                self.terminal += (
                    base64.b64decode(payload) if frame["opcode"] == 2 else payload.encode()
                )
            elif data.get("method") == "Page.loadEventFired":
                self.loaded = True

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        answer = await asyncio.wait_for(future, BOUND)
        assert "error" not in answer, answer
        return answer.get("result", {})

    def text(self) -> str:
        """The terminal output with escape sequences removed: the words the dashboard drew."""
        return _ESCAPES.sub(b"", bytes(self.terminal)).decode("utf-8", "replace")


async def _open_browser(profile: Path) -> tuple[asyncio.subprocess.Process, int]:
    browser = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--no-proxy-server",
        "--disable-gpu",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no fonts from the Internet
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--window-size=1280,800",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    await wait_for(
        lambda: port_file.exists() and len(port_file.read_text().splitlines()) >= 2,
        "chromium's DevToolsActivePort",
    )
    return browser, int(port_file.read_text().splitlines()[0])


async def test_the_dashboard_in_a_headless_browser(tmp_path: Path) -> None:
    server = DashboardServer(session_command(True, None), "127.0.0.1", 0, token="s3cret-token")
    url = await server.start()
    browser, port = await _open_browser(tmp_path / "profile")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as answer:
                targets = await answer.json()
            page = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                tools = DevTools(ws)
                await tools.call("Network.enable")
                await tools.call("Page.enable")
                await tools.call("Page.navigate", url=url)
                await wait_for(lambda: tools.loaded, "the page to load")
                location = await tools.call("Runtime.evaluate", expression="location.href")
                assert location["result"]["value"] == url.split("?")[0]  # the token left the URL
                await wait_for(lambda: "spring-sale" in tools.text(), "the dashboard to draw")
                assert "this help" not in tools.text()
                await tools.call(
                    "Runtime.evaluate",
                    expression="document.querySelector('.xterm-helper-textarea').focus()",
                )
                await tools.call("Input.dispatchKeyEvent", type="keyDown", key="?", text="?")
                await tools.call("Input.dispatchKeyEvent", type="keyUp", key="?")
                await wait_for(lambda: "this help" in tools.text(), "the help after `?`")
                assert "s3cret-token" not in tools.text()
                assert server.sessions == 1
                await tools.call("Browser.close")
                await asyncio.wait_for(browser.wait(), BOUND)
                # The closed page ended its session: the dashboard process is gone.
                await wait_for(lambda: server.sessions == 0, "the session to end")
                tools.reader.cancel()
    finally:
        if browser.returncode is None:
            browser.terminate()
            await browser.wait()
        await server.stop()
