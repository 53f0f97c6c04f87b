"""Reading a request body without trusting its size, its pace or how many arrive at once."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

MAX_BODY = 1 << 20  # 1 MiB: a status event is a few hundred bytes
#: Bytes all requests together may hold: 1 MiB bodies on every open socket would be a gigabyte.
MAX_BUFFERED = 64 << 20


class BodyTooLarge(Exception):
    """413: declared or streamed beyond the limit (never read past it)."""


class BodyUnreadable(Exception):
    """400/408/503: a bad Content-Length, a client that went away or too slow, or no room now."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


class BodyBudget:
    """Bytes held by the bodies of requests in progress, across the whole receiver.

    Event-loop only (no lock). A request that would go over the limit gets a 503 to retry later:
    memory stays bounded whatever arrives at once, and the few hundred bytes of a real event fit
    as soon as others finish."""

    def __init__(self, limit: int = MAX_BUFFERED) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> None:
        if self.held + size > self.limit:
            raise BodyUnreadable("receiver busy: too many bodies in flight", 503)
        self.held += size

    def give(self, size: int) -> None:
        self.held = max(0, self.held - size)


async def read_body(
    request: Request,
    limit: int = MAX_BODY,
    timeout: float = 10.0,
    budget: BodyBudget | None = None,
) -> bytes:
    """The raw body, checked against `Content-Length` first, then counted chunk by chunk.

    With a `budget`, the returned body's bytes stay taken from it: the caller gives them back
    (`budget.give(len(body))`) once it is done with the body; on any error they are given back here.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        digits = declared.strip()
        if not digits.isascii() or not digits.isdigit():
            raise BodyUnreadable("bad Content-Length")
        if len(digits) > 18 or int(digits) > limit:  # int() of thousands of digits would raise
            raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                if size + len(chunk) > limit:
                    raise BodyTooLarge()
                if budget is not None:
                    budget.take(len(chunk))
                size += len(chunk)
                chunks.append(chunk)
        complete = True
    except TimeoutError:
        raise BodyUnreadable("body not received in time", 408) from None
    except ClientDisconnect:
        raise BodyUnreadable("client disconnected") from None
    finally:
        if not complete and budget is not None:
            budget.give(size)
    return b"".join(chunks)
