"""A small hostile provider for tests and the chaos benchmark: real HTTP on 127.0.0.1.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length and chunked answers) for httpx, serves
Sent.dm's `GET /v3/messages/{id}` (+ `/activities`) and Sendo's `GET /v1/message/{id}` and
`POST /v1/message/send`, and answers each message ID in the mode it was given:

  good           a valid answer (delivered: final, so asked once)
  nested         `data` nested 100,000 lists deep (RecursionError in json.loads)
  fake_gzip      marked `Content-Encoding: gzip`, but plain JSON
  overflow_time  timestamps that overflow in UTC (0001-01-01T00:00:00+14:00)
  nul            a NUL character in the body text (PostgreSQL refuses it)
  wrong_id       a valid answer about another message (`wrong_id_for` names it)
  huge           600 MB with Content-Length (refused before reading)
  huge_chunked   600 MB chunked, no Content-Length (refused after 2 MB), streamed from one
                 reused buffer: never built in memory here either
  trickle        a valid answer sent one byte every `trickle_every` seconds

Sends answer per recipient from `send_modes`: `ok` (a new ID), `garbled` (a 200 that is not
JSON) or `forbidden` (403, the key rejected; Sendo only). With `limits=True` it enforces the providers' real
budgets (Sent.dm 200/min with a burst of 50, Sendo 20/s) and sends their X-RateLimit-* headers.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tui.model import Provider
from tui.simulator.ratelimit import TokenBucket, WindowLimit, sendo_headers, sentdm_headers

HUGE = 600 * 1024 * 1024
POISON = ("nested", "fake_gzip", "overflow_time", "nul", "wrong_id", "huge", "huge_chunked")
_CHUNK = b"x" * (1024 * 1024)


@dataclass
class Asked:
    at: float
    provider: Provider
    message_id: str
    mode: str
    status: int


@dataclass
class HostileProvider:
    """Start with `start()`, point both providers' base_url at `base_url`, `stop()` at the end."""

    modes: dict[str, str] = field(default_factory=dict)  # message ID -> mode (default: good)
    send_modes: dict[str, str] = field(default_factory=dict)  # Sendo recipient -> send mode
    wrong_id_for: str = "00000000-0000-4000-8000-00000000dead"
    trickle_every: float = 1.0
    limits: bool = False
    asked: list[Asked] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._lock = threading.Lock()
        self.sentdm_budget = TokenBucket(200, 50)
        self.sendo_budget = WindowLimit(20, 1.0)
        self.sent: list[tuple[str, str]] = []  # (recipient, new ID) of every Sendo send

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> HostileProvider:
        self._thread.start()
        ready = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        ready.result(timeout=30)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def requests_for(self, message_id: str) -> list[Asked]:
        with self._lock:
            return [a for a in self.asked if a.message_id == message_id]

    def counts(self) -> Counter[str]:
        """Requests per mode."""
        with self._lock:
            return Counter(a.mode for a in self.asked)

    # -- HTTP -------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    raw = await reader.readline()
                    if raw in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                if not await self._answer(method, target, body, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _answer(
        self, method: str, target: str, body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Write one answer; False when the connection must close after it."""
        parts = target.split("?")[0].strip("/").split("/")
        if method == "POST" and parts == ["v1", "message", "send"]:
            return await self._sendo_send(json.loads(body or b"{}"), writer)
        if method == "POST" and parts == ["v3", "messages"]:
            return await self._sentdm_send(json.loads(body or b"{}"), writer)
        if method == "GET" and parts == ["v1", "message", "list"]:
            return await self._list(target, writer)
        if method != "GET" or len(parts) < 3:
            return await self._write(writer, 404, {"error": "Not Found"})
        provider = Provider.SENTDM if parts[0] == "v3" else Provider.SENDO
        message_id = parts[2]
        mode = self.modes.get(message_id, "good")
        limited = self._limit(provider)
        status = 429 if limited is not None and not limited[0] else 200
        with self._lock:
            self.asked.append(Asked(time.monotonic(), provider, message_id, mode, status))
        extra = limited[1] if limited is not None else {}
        if status == 429:
            return await self._write(writer, 429, {"error": "Too many requests"}, extra)
        if len(parts) == 4 and parts[3] == "activities":
            return await self._write(writer, 200, _activities(), extra)
        return await self._poison(writer, provider, message_id, mode, extra)

    def _limit(self, provider: Provider) -> tuple[bool, dict[str, str]] | None:
        if not self.limits:
            return None
        if provider is Provider.SENTDM:
            verdict = self.sentdm_budget.take()
            return verdict.allowed, sentdm_headers(verdict)
        verdict = self.sendo_budget.take()
        return verdict.allowed, sendo_headers(verdict)

    async def _poison(
        self,
        writer: asyncio.StreamWriter,
        provider: Provider,
        message_id: str,
        mode: str,
        extra: dict[str, str],
    ) -> bool:
        if mode == "nested":
            depth = 100_000
            raw = b'{"success": true, "data": ' + b"[" * depth + b"]" * depth + b"}"
            return await self._write_raw(writer, 200, raw, extra)
        if mode == "fake_gzip":
            raw = json.dumps(_valid(provider, message_id)).encode()
            return await self._write_raw(writer, 200, raw, {**extra, "Content-Encoding": "gzip"})
        if mode in ("huge", "huge_chunked"):
            return await self._huge(writer, chunked=mode == "huge_chunked", extra=extra)
        if mode == "trickle":
            raw = json.dumps(_valid(provider, message_id)).encode()
            return await self._trickle(writer, raw, extra)
        answer_id = self.wrong_id_for if mode == "wrong_id" else message_id
        return await self._write(writer, 200, _valid(provider, answer_id, mode), extra)

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: Any,
        extra: dict[str, str] | None = None,
    ) -> bool:
        return await self._write_raw(writer, status, json.dumps(payload).encode(), extra or {})

    async def _write_raw(
        self, writer: asyncio.StreamWriter, status: int, raw: bytes, extra: dict[str, str]
    ) -> bool:
        writer.write(_head(status, {**extra, "Content-Length": str(len(raw))}) + raw)
        await writer.drain()
        return True

    async def _huge(
        self, writer: asyncio.StreamWriter, *, chunked: bool, extra: dict[str, str]
    ) -> bool:
        framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(HUGE)}
        writer.write(_head(200, {**extra, **framing, "Connection": "close"}))
        sent = 0
        while sent < HUGE:
            if chunked:
                writer.write(b"%x\r\n" % len(_CHUNK) + _CHUNK + b"\r\n")
            else:
                writer.write(_CHUNK)
            sent += len(_CHUNK)
            await writer.drain()  # raises once the client hangs up: the rest is never made
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return False

    async def _trickle(
        self, writer: asyncio.StreamWriter, raw: bytes, extra: dict[str, str]
    ) -> bool:
        writer.write(_head(200, {**extra, "Content-Length": str(len(raw)), "Connection": "close"}))
        await writer.drain()
        for index in range(len(raw)):
            writer.write(raw[index : index + 1])
            await writer.drain()
            await asyncio.sleep(self.trickle_every)  # the hostile behaviour itself, not a wait
        return False

    async def _list(self, target: str, writer: asyncio.StreamWriter) -> bool:
        """`GET /v1/message/list`: every message given a mode, one page (the campaign is ignored)."""
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(target).query)
        skip, limit = int(query.get("skip", ["0"])[0]), int(query.get("limit", ["100"])[0])
        page = list(self.modes.items())[skip : skip + limit]
        items = [_valid(Provider.SENDO, mid, mode)["message"] for mid, mode in page]
        return await self._write(writer, 200, {"messages": items})

    async def _sendo_send(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        recipient = str(body.get("to"))
        mode = self.send_modes.get(recipient, "ok")
        if mode == "forbidden":
            return await self._write(writer, 403, {"error": "Invalid API key"})
        new_id = str(uuid.uuid4())
        with self._lock:
            self.sent.append((recipient, new_id))
        if mode == "garbled":
            return await self._write_raw(writer, 200, b"<html>OK</html>", {})
        return await self._write(writer, 200, {"id": new_id, "status": "QUEUED"})

    async def _sentdm_send(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        """202 with one ID per recipient, or (any recipient `garbled`) a 202 that is not JSON."""
        recipients = [str(to) for to in body.get("to") or []]
        made = [(to, str(uuid.uuid4())) for to in recipients]
        with self._lock:
            self.sent += made
        if any(self.send_modes.get(to) == "garbled" for to in recipients):
            return await self._write_raw(writer, 202, b"<html>Accepted</html>", {})
        answer = [{"message_id": new, "to": to, "channel": "sms"} for to, new in made]
        return await self._write(writer, 202, {"success": True, "data": {"recipients": answer}})


def _head(status: int, headers: dict[str, str]) -> bytes:
    reason = {
        200: "OK",
        202: "Accepted",
        403: "Forbidden",
        404: "Not Found",
        429: "Too Many Requests",
    }[status]
    lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _valid(provider: Provider, message_id: str, mode: str = "good") -> dict[str, Any]:
    """A documented answer; `overflow_time` and `nul` twist one field each."""
    when = "0001-01-01T00:00:00+14:00" if mode == "overflow_time" else "2026-01-01T00:00:05Z"
    text = "Your code is 1234\x00 (NUL)" if mode == "nul" else "Your code is 1234"
    if provider is Provider.SENDO:
        message = {
            "id": message_id,
            "status": "DELIVERED",
            "type": "SMS",
            "to": "+14155550100",
            "from": "+14155550199",
            "body": text,
            "campaignId": "SPRNG001",
            "createdAt": when,
            "sentAt": when,
            "updatedAt": when,
        }
        return {"message": message}
    data = {
        "id": message_id,
        "status": "DELIVERED",
        "channel": "sms",
        "phone": "+14155550100",
        "message_body": {"content": text},
        "created_at": when,
        "events": [{"status": "DELIVERED", "timestamp": when, "description": "delivered"}],
    }
    return {"success": True, "data": data, "error": None, "meta": {"request_id": "req_hostile"}}


def _activities() -> dict[str, Any]:
    return {"success": True, "data": {"activities": []}, "error": None, "meta": {}}


def hostile_settings(provider: HostileProvider, tmp_path: Any, **network: Any) -> Any:
    """Settings for both providers pointed at the fake, with short backoffs (see conftest.fast)."""
    from dataclasses import replace

    from tests.conftest import fast
    from tui.config import load

    env = {
        "SENT_DM_API_KEY": "hostile-sentdm-key-0123456789",
        "SENDO_API_KEY": "hostile-sendo-key-0123456789",
        "SENDWATCH_SENTDM_URL": provider.base_url,
        "SENDWATCH_SENDO_URL": provider.base_url,
    }
    settings = fast(load(tmp_path / "absent.toml", env=env))
    if network:
        settings = replace(settings, network=replace(settings.network, **network))
    return replace(settings, history=replace(settings.history, path=str(tmp_path / "h.sqlite3")))


def hostile_env(provider: HostileProvider, tmp_path: Any) -> dict[str, str]:
    """Environment for a `sendwatch` subprocess talking to the fake."""
    import os

    env = dict(os.environ)
    env.update(
        SENT_DM_API_KEY="hostile-sentdm-key-0123456789",
        SENDO_API_KEY="hostile-sendo-key-0123456789",
        SENDWATCH_SENTDM_URL=provider.base_url,
        SENDWATCH_SENDO_URL=provider.base_url,
        SENDWATCH_DATA_DIR=str(tmp_path / "data"),
        SENDWATCH_CONFIG=str(tmp_path / "none.toml"),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env
