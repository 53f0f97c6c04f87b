"""Which endpoints are served, from the settings' webhook secrets, checked once at start."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.model import Provider
from tui.webhooks.signature import decode_secret

PATHS = {Provider.SENTDM: "/webhooks/sentdm", Provider.SENDO: "/webhooks/sendo"}


@dataclass(frozen=True)
class WebhookCredentials:
    """Decoded credentials; an endpoint whose credential is absent (or unusable) is not served.

    Fields are excluded from repr so printing this object can never show a secret."""

    sentdm_key: bytes | None = field(default=None, repr=False)
    sendo_token: bytes | None = field(default=None, repr=False)
    #: Why a configured credential cannot be used (safe to print: never contains the secret).
    problems: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: object) -> WebhookCredentials:
        """Read `settings.sentdm.webhook_secret` and `settings.sendo.webhook_token` (Secrets)."""
        return cls.from_values(
            getattr(getattr(settings, "sentdm", None), "webhook_secret", None),
            getattr(getattr(settings, "sendo", None), "webhook_token", None),
        )

    @classmethod
    def from_values(cls, sentdm_secret: object, sendo_token: object) -> WebhookCredentials:
        """From `Secret`s or plain strings (tests); empty means not configured."""
        problems: list[str] = []
        key: bytes | None = None
        secret = _reveal(sentdm_secret)
        if secret:
            try:
                key = decode_secret(secret)
            except ValueError as exc:
                problems.append(f"providers.sentdm.webhook_secret: {exc}")
        token = _reveal(sendo_token)
        return cls(key, token.encode("utf-8") if token else None, tuple(problems))

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
