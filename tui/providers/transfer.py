"""One HTTP exchange with a provider, bounded in time and size: what an answer may cost us.

A status answer is a few KB. So a body is read as a stream and refused past `MAX_BODY_BYTES`
(before reading anything when Content-Length already says so), gzip/deflate are decoded here with a
bounded output (a small compressed body cannot expand into gigabytes), and the whole exchange —
connecting, headers and body together — has one deadline, because a provider that trickles a byte
a second never trips a read timeout. Nothing here knows a provider; `base.py` maps the outcomes.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

MAX_BODY_BYTES = 2_000_000  # a status response is a few KB; anything huge is not one
MAX_JSON_DEPTH = 64  # the documented bodies nest 5 deep; 100,000 `[` are an attack, not an answer
ACCEPT_ENCODING = "gzip, deflate"  # only what `_Decoder` can decode with a bounded output


class DeadlineExceeded(Exception):
    """The exchange did not finish within the deadline (headers and body together)."""

    def __init__(self, seconds: float, received: int) -> None:
        super().__init__(f"no complete answer within {seconds:g} s")
        self.seconds = seconds
        self.received = received  # body bytes that had arrived by then (0: not even headers)


class TooDeep(ValueError):
    """JSON nested deeper than any documented answer."""


class BodyRefused(Exception):
    """The body cannot be an answer: too large, or not decodable as its headers say."""


@dataclass(frozen=True)
class Answer:
    """A complete, decoded answer: what a provider module maps into a Message or an error."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        """The decoded JSON body. Raises ValueError for anything else, including nesting past
        `MAX_JSON_DEPTH` (so callers need catch only ValueError)."""
        try:
            # NaN and Infinity are not JSON: read as null, so they can never reach the model,
            # the store or `get --json` output (which must stay valid JSON)
            value = json.loads(self.content, parse_constant=lambda name: None)
        except RecursionError:
            raise TooDeep(f"its JSON is nested more than {MAX_JSON_DEPTH} levels deep") from None
        if too_deep(value, MAX_JSON_DEPTH):
            raise TooDeep(f"its JSON is nested more than {MAX_JSON_DEPTH} levels deep")
        return value


def too_deep(value: Any, limit: int) -> bool:
    """True when lists/objects nest more than `limit` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class _Decoder:
    """Content-Encoding identity, gzip or deflate, never producing more than `limit` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise BodyRefused(f"unsupported Content-Encoding {encoding[:40]!r}")
        if not codings:
            self._zlib = None
        elif codings[0] in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif codings[0] == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise BodyRefused(f"unsupported Content-Encoding {encoding[:40]!r}")

    def feed(self, chunk: bytes) -> bytes:
        if self._zlib is None:
            return self._count(chunk)
        out = bytearray()
        data = chunk
        while data:
            try:
                piece = self._zlib.decompress(data, self.limit + 1 - self.size)
            except zlib.error:
                raise BodyRefused(
                    "the body is marked as compressed but is not (Content-Encoding lies)"
                ) from None
            out += self._count(piece)
            data = self._zlib.unconsumed_tail
        return bytes(out)

    def finish(self) -> bytes:
        if self._zlib is None:
            return b""
        if not self._zlib.eof:
            raise BodyRefused(
                "the compressed body ends before its end (truncated or not compressed)"
            )
        return self._count(self._zlib.flush())

    def _count(self, piece: bytes) -> bytes:
        self.size += len(piece)
        if self.size > self.limit:
            raise BodyRefused(f"the body is larger than {self.limit:,} bytes")
        return piece


async def exchange(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    headers: dict[str, str],
    deadline: float,
    json_body: Any = None,
    on_headers: Callable[[httpx.Headers], None] = lambda headers: None,
    limit: int = MAX_BODY_BYTES,
) -> Answer:
    """Send one request and read its whole answer, within `deadline` seconds and `limit` bytes.

    Raises DeadlineExceeded, BodyRefused, or httpx's own errors (timeouts, connection errors)."""
    received = 0
    try:
        async with asyncio.timeout(deadline):
            request = http.build_request(method, path, headers=headers, json=json_body)
            response = await http.send(request, stream=True)
            try:
                on_headers(response.headers)
                length = response.headers.get("content-length")
                if length is not None and length.strip().isdigit() and int(length) > limit:
                    raise BodyRefused(
                        f"the body would be {int(length):,} bytes (Content-Length), more than {limit:,}"
                    )
                decoder = _Decoder(response.headers.get("content-encoding", ""), limit)
                body = bytearray()
                async for chunk in response.aiter_raw():
                    received += len(chunk)
                    if received > limit:
                        raise BodyRefused(f"the body is larger than {limit:,} bytes")
                    body += decoder.feed(chunk)
                body += decoder.finish()
            finally:
                await response.aclose()
    except TimeoutError:
        raise DeadlineExceeded(deadline, received) from None
    return Answer(response.status_code, response.headers, bytes(body))
