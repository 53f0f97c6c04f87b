"""Which endpoints are served, from the settings' webhook secrets, checked once at start."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from tui.model import Provider
from tui.providers.webhooks_api import RECEIVER_PATHS
from tui.webhooks.signature import AuthFailure, decode_secret

PATHS = RECEIVER_PATHS  # one definition: `webhooks register` points the providers at them


@dataclass(frozen=True)
class WebhookCredentials:
    """Decoded credentials; an endpoint whose credential is absent (or unusable) is not served.

    Fields are excluded from repr so printing this object can never show a secret."""

    sentdm_key: bytes | None = field(default=None, repr=False)
    sendo_token: bytes | None = field(default=None, repr=False)
    #: Every accepted Sendo token (one per campaign webhook); `sendo_token` is the first.
    sendo_tokens: tuple[bytes, ...] = field(default=(), repr=False)
    #: Why a configured credential cannot be used (safe to print: never contains the secret).
    problems: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: object) -> WebhookCredentials:
        """Read `settings.sentdm.webhook_secret` and `settings.sendo.webhook_token(s)` (Secrets)."""
        sendo = getattr(settings, "sendo", None)
        return cls.from_values(
            getattr(getattr(settings, "sentdm", None), "webhook_secret", None),
            getattr(sendo, "webhook_token", None),
            *getattr(sendo, "webhook_tokens", ()),
        )

    @classmethod
    def from_values(
        cls, sentdm_secret: object, sendo_token: object, *more_tokens: object
    ) -> WebhookCredentials:
        """From `Secret`s or plain strings (tests); empty means not configured."""
        problems: list[str] = []
        key: bytes | None = None
        secret = _reveal(sentdm_secret)
        if secret:
            try:
                key = decode_secret(secret)
            except ValueError as exc:
                problems.append(f"providers.sentdm.webhook_secret: {exc}")
        tokens: list[bytes] = []
        for value in (sendo_token, *more_tokens):
            token = _reveal(value).encode("utf-8")
            if token and token not in tokens:
                tokens.append(token)
        first = tokens[0] if tokens else None
        return cls(key, first, tuple(tokens), tuple(problems))

    def verify_sendo(self, headers: Mapping[str, str]) -> None:
        """Sendo's `X-Webhook-Token` against every configured token, each in constant time and
        all of them every time (how many match, or which, never shows in the timing)."""
        given = headers.get("x-webhook-token")
        if not given:
            raise AuthFailure("missing token")
        raw = given.encode("utf-8", "replace")
        matched = False
        for token in self.sendo_tokens:
            matched |= hmac.compare_digest(token, raw)
        if not matched:
            raise AuthFailure("wrong token")

    def served(self) -> list[Provider]:
        return [
            p
            for p, ok in ((Provider.SENTDM, self.sentdm_key), (Provider.SENDO, self.sendo_token))
            if ok
        ]


def _reveal(value: object) -> str:
    if value is None:
        return ""
    reveal = getattr(value, "reveal", None)
    text = reveal() if callable(reveal) else value
    return text.strip() if isinstance(text, str) else ""
