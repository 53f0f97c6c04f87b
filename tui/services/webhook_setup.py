"""`sendwatch webhooks register|status`: create our webhooks at both providers, and show their health.

Register is idempotent: a webhook already pointing at our URL is reused, never duplicated. Sent.dm
shows a signing secret only when a webhook is created (or its secret rotated), so a reused one
without a configured secret needs `--rotate`; Sendo lists each webhook's token (`signature`)
every time. The credentials go into the config file (0600) and are never returned for printing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tui.config import Settings
from tui.config_write import write_webhook_secrets
from tui.errors import ConfigError, SendwatchError
from tui.model import Provider
from tui.providers.base import ProviderClient
from tui.providers.sending import SENDO_CAMPAIGN
from tui.providers.webhooks_api import RECEIVER_PATHS, RemoteHook, SendoHooks, SentDmHooks
from tui.secret import Secret, is_loopback
from tui.timeparse import to_iso

#: `consecutive_failures` at which a webhook counts as failing: half of Sent.dm's disable threshold.
FAILING_AFTER = 5
RECENT_LOG_ROWS = 100


def public_base(url: str) -> str:
    """The public base URL the providers will call: https (plain http only on loopback)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if not host or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"not a usable base URL: {url!r:.100} (e.g. https://hooks.example.com)")
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(host)):
        raise ConfigError(
            f"the webhook URL must be https:// (plain http only for 127.0.0.1), got {url!r:.100}"
        )
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Registered:
    """One provider-side webhook register made or found (no secret in it)."""

    provider: Provider
    id: str
    url: str
    action: str  # "created", "reused" or "rotated"
    campaign: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider.value,
            "id": self.id,
            "url": self.url,
            "campaign": self.campaign,
            "action": self.action,
        }


@dataclass
class RegisterResult:
    hooks: list[Registered] = field(default_factory=list)
    written_to: Path | None = None  # where new credentials were written (None: nothing new)
    notes: list[str] = field(default_factory=list)
    errors: list[SendwatchError] = field(default_factory=list)  # what failed (the rest is done)

    @property
    def exit_code(self) -> int:
        return max((e.exit_code for e in self.errors), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "webhooks": [h.to_dict() for h in self.hooks],
            "config": str(self.written_to) if self.written_to else None,
            "notes": list(self.notes),
            "errors": [str(e) for e in self.errors],
        }


def _clients(clients: dict[Provider, ProviderClient]) -> dict[Provider, ProviderClient]:
    if not clients:
        raise ConfigError(
            "no provider is configured: set SENT_DM_API_KEY or SENDO_API_KEY (or keys in the config)"
        )
    return clients


async def register(
    settings: Settings,
    clients: dict[Provider, ProviderClient],
    base_url: str,
    *,
    campaigns: list[str] | None = None,
    rotate: bool = False,
) -> RegisterResult:
    """Create (or reuse) our webhook at each configured provider and store the credentials."""
    base = public_base(base_url)
    for campaign in campaigns or ():
        if not SENDO_CAMPAIGN.match(campaign):
            raise ConfigError(f"--sendo-campaign takes an 8-letter/digit campaign ID: {campaign!r}")
    result = RegisterResult()
    secret: Secret | None = None
    tokens: list[Secret] = []
    for provider, client in _clients(clients).items():
        url = base + RECEIVER_PATHS[provider]
        try:  # one provider failing must not lose what the other one (or a campaign) gave
            if provider is Provider.SENTDM:
                secret = await _register_sentdm(SentDmHooks(client), url, settings, rotate, result)
            else:
                await _register_sendo(SendoHooks(client), url, campaigns, result, tokens)
        except SendwatchError as exc:
            result.errors.append(exc)
    known = set(settings.sendo.webhook_tokens) | {settings.sendo.webhook_token}
    new_tokens = tuple(t for t in tokens if t not in known)
    if secret or new_tokens:
        try:
            result.written_to = write_webhook_secrets(settings.path, secret, new_tokens)
        except (ConfigError, OSError) as exc:
            why = (
                exc if isinstance(exc, ConfigError) else f"{exc.__class__.__name__}: {exc.strerror}"
            )
            result.errors.append(
                ConfigError(
                    f"the webhook credentials could not be written to {settings.path} ({why}); "
                    "fix the file, then run register again with --rotate for a new Sent.dm secret"
                )
            )
    return result


async def _register_sentdm(
    api: SentDmHooks, url: str, settings: Settings, rotate: bool, result: RegisterResult
) -> Secret | None:
    existing = next((h for h in await api.list_all() if h.url.rstrip("/") == url), None)
    if existing is None:
        hook = await api.create(url)
        result.hooks.append(Registered(Provider.SENTDM, hook.id, hook.url, "created"))
        return hook.secret
    if rotate:
        result.hooks.append(Registered(Provider.SENTDM, existing.id, existing.url, "rotated"))
        return await api.rotate_secret(existing.id)
    result.hooks.append(Registered(Provider.SENTDM, existing.id, existing.url, "reused"))
    if not settings.sentdm.webhook_secret:
        result.notes.append(
            f"Sent.dm webhook {existing.id} already exists and its signing secret is shown only "
            "at creation; no providers.sentdm.webhook_secret is configured: run register again "
            "with --rotate to get a new secret (the old one stops working at once)"
        )
    return None


async def _register_sendo(
    api: SendoHooks,
    url: str,
    campaigns: list[str] | None,
    result: RegisterResult,
    tokens: list[Secret],
) -> None:
    """Each campaign's webhook; `tokens` grows as they come, so a later failure keeps them."""
    for campaign in campaigns or await api.campaigns():
        existing = next(
            (h for h in await api.of_campaign(campaign) if h.url.rstrip("/") == url), None
        )
        hook = existing or await api.create(campaign, url)
        action = "reused" if existing else "created"
        result.hooks.append(Registered(Provider.SENDO, hook.id, hook.url, action, campaign))
        if hook.secret:
            tokens.append(hook.secret)
    if not any(h.provider is Provider.SENDO for h in result.hooks):
        result.notes.append("Sendo lists no campaign: no Sendo webhook was registered")


@dataclass(frozen=True)
class HookHealth:
    """One provider-side webhook and how it is doing; `failed_rows` is Sent.dm's only."""

    hook: RemoteHook
    failed_rows: int | None = None

    @property
    def problem(self) -> str:
        """Why it is unhealthy, or "" when it is not."""
        if self.hook.active is False:
            return "disabled"
        failures = self.hook.consecutive_failures or 0
        if failures >= FAILING_AFTER:
            return f"failing ({failures} in a row)"
        return ""

    def to_dict(self, now: datetime) -> dict[str, Any]:
        success = self.hook.last_success
        return {
            "provider": self.hook.provider.value,
            "id": self.hook.id,
            "url": self.hook.url,
            "campaign": self.hook.campaign,
            "active": self.hook.active,
            "consecutive_failures": self.hook.consecutive_failures,
            "last_successful_delivery_at": to_iso(success),
            "last_success_age_seconds": (now - success).total_seconds() if success else None,
            "failed_log_rows": self.failed_rows,
            "healthy": not self.problem,
            "problem": self.problem or None,
        }


async def status(
    clients: dict[Provider, ProviderClient], *, campaigns: list[str] | None = None
) -> tuple[list[HookHealth], list[SendwatchError]]:
    """Every provider-side webhook of the configured accounts, with Sent.dm's health fields and the
    failed rows among the newest `RECENT_LOG_ROWS` of its delivery log; and what could not be
    asked (one provider failing still shows the other's webhooks)."""
    found: list[HookHealth] = []
    errors: list[SendwatchError] = []
    for provider, client in _clients(clients).items():
        try:
            if provider is Provider.SENTDM:
                api = SentDmHooks(client)
                for hook in await api.list_all():
                    rows, _ = await api.events(hook.id, 1)
                    found.append(HookHealth(hook, sum(r.failed for r in rows[:RECENT_LOG_ROWS])))
            else:
                sendo = SendoHooks(client)
                for campaign in campaigns or await sendo.campaigns():
                    found += [HookHealth(h) for h in await sendo.of_campaign(campaign)]
        except SendwatchError as exc:
            errors.append(exc)
    return found, errors
