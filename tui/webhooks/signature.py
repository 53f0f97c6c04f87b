"""Authenticating a push: Sent.dm's Svix-style HMAC signature and Sendo's static token.

Both comparisons are constant-time, and no error here carries a secret, a signature or the body,
so a rejection can be counted and logged safely.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

#: Refuse a signed timestamp further than this from now, in either direction (replay window).
TOLERANCE_SECONDS = 300.0
#: More candidate signatures than this in one header is not a key rotation, it is an attack.
MAX_SIGNATURES = 16
SECRET_PREFIX = "whsec_"


class AuthFailure(Exception):
    """The push is not authentic (401). The reason is short and safe to log."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key: the base64 after `whsec_`. Raises ValueError (without the secret) if malformed."""
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not base64 after its whsec_ prefix") from None
    if len(key) < 16:
        raise ValueError(
            "the webhook secret is too short (expected at least 16 bytes after base64 decoding)"
        )
    return key


@dataclass(frozen=True)
class SignedHeaders:
    """What Sent.dm signs with, read from the request before the body is."""

    webhook_id: str
    timestamp: str
    signatures: tuple[str, ...]
    event_id: str | None


def read_svix_headers(
    headers: Mapping[str, str], now: float, tolerance: float = TOLERANCE_SECONDS
) -> SignedHeaders:
    """Check presence and freshness, cheaply, so unauthenticated bodies are never read."""
    webhook_id = headers.get("x-webhook-id", "").strip()
    timestamp = headers.get("x-webhook-timestamp", "").strip()
    signature = headers.get("x-webhook-signature", "").strip()
    if not webhook_id or not timestamp or not signature:
        raise AuthFailure("missing signature headers")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthFailure("malformed timestamp")
    if abs(now - int(timestamp)) > tolerance:
        raise AuthFailure("timestamp outside the 5 minute window")
    candidates = tuple(part for part in signature.split() if part)
    if len(candidates) > MAX_SIGNATURES:
        raise AuthFailure("too many signatures")
    event_id = headers.get("x-webhook-event-id", "").strip()[:200] or None
    return SignedHeaders(webhook_id, timestamp, candidates, event_id)


def expected_signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), as Svix computes it."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def verify_svix(key: bytes, signed: SignedHeaders, body: bytes) -> None:
    """Accept if any `v1,<base64>` candidate matches (several are sent while a secret rotates)."""
    expected = expected_signature(key, signed.webhook_id, signed.timestamp, body).encode("ascii")
    matched = False
    for candidate in signed.signatures:
        version, _, value = candidate.partition(",")
        if version != "v1" or not value:
            continue
        # No early exit: every candidate costs the same whether or not an earlier one matched.
        matched |= hmac.compare_digest(expected, value.encode("utf-8", "replace"))
    if not matched:
        raise AuthFailure("signature mismatch")
