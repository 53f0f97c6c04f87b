"""Reading a request body without trusting its size or its pace."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

MAX_BODY = 1 << 20  # 1 MiB: a status event is a few hundred bytes


class BodyTooLarge(Exception):
    """413: declared or streamed beyond the limit (never read past it)."""


class BodyUnreadable(Exception):
    """400/408: a bad Content-Length, a client that went away, or one too slow to send."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


async def read_body(request: Request, limit: int = MAX_BODY, timeout: float = 10.0) -> bytes:
    """The raw body, checked against `Content-Length` first, then counted chunk by chunk."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.strip().isdigit():
            raise BodyUnreadable("bad Content-Length")
        if int(declared) > limit:
            raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge()
                chunks.append(chunk)
    except TimeoutError:
        raise BodyUnreadable("body not received in time", 408) from None
    except ClientDisconnect:
        raise BodyUnreadable("client disconnected") from None
    return b"".join(chunks)
