"""Sends: Sent.dm `POST /v3/messages` (with Idempotency-Key) and Sendo `POST /v1/message/send`.

A send adds messages to the world that then progress like any other, so a client can watch what it
just sent. Validation follows docs/providers.md; what no document says is chosen plainly here.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui.model import Provider
from tui.simulator.catalog import SENTDM_BLOCKED, TEMPLATES
from tui.simulator.lifecycle import release_time
from tui.simulator.progressions import Steps
from tui.simulator.world import SimMessage, SimWorld

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
SENDO_CAMPAIGN = re.compile(r"^[A-Za-z0-9]{8}$")
CHANNELS = ("sent", "sms", "whatsapp", "rcs", "mms")
REPLAY_SECONDS = 24 * 3600.0


class SendRefused(Exception):
    """A 4xx answer: `code` is Sent.dm's error code (Sendo only uses the message)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def _invalid(field: str | None, message: str) -> SendRefused:
    return SendRefused(400, "VALIDATION_001", message, field)


@dataclass
class _Entry:
    done: bool
    status: int = 0
    data: Any = None
    expires: float = 0.0


class Idempotency:
    """Sent.dm's Idempotency-Key: a replay within 24 h gets the first answer, a concurrent one a 409."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.lock = threading.Lock()

    def begin(self, key: str) -> _Entry | None:
        """The cached answer to replay, or None after marking `key` in flight. Raises 409 if in flight."""
        with self.lock:
            entry = self.entries.get(key)
            if entry and entry.done and entry.expires < time.time():
                entry = None
            if entry and not entry.done:
                raise SendRefused(
                    409,
                    "CONFLICT_001",
                    "A request with this Idempotency-Key is already in progress.",
                )
            if entry:
                return entry
            self.entries[key] = _Entry(done=False)
            return None

    def finish(self, key: str, status: int | None, data: Any = None) -> None:
        """Keep a success for replay; forget the key after a refusal (`status` None) so it can be retried."""
        with self.lock:
            if status is None:
                self.entries.pop(key, None)
            else:
                self.entries[key] = _Entry(True, status, data, time.time() + REPLAY_SECONDS)


def _render(text: str, params: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), "")), text)


def _scheduled(world: SimWorld, raw: Any) -> float | None:
    """World time of a valid `scheduled_at` (ISO with offset, 1 minute to 30 days ahead)."""
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("scheduled_at", "scheduled_at is not an ISO-8601 timestamp.") from None
    if when.tzinfo is None:
        raise _invalid("scheduled_at", "scheduled_at needs an explicit UTC offset.")
    ahead = when.timestamp() - world.wall(world.now())
    if not 60 <= ahead <= 30 * 86400:
        raise _invalid("scheduled_at", "scheduled_at must be 1 minute to 30 days ahead.")
    return world.world_time(when.timestamp())


def _validate_sentdm(
    body: Any,
) -> tuple[list[str], list[str], tuple[str, str, str, str] | None, str | None, list[str]]:
    if not isinstance(body, dict):
        raise _invalid(None, "The request body must be a JSON object.")
    to = body.get("to")
    if (
        not isinstance(to, list)
        or not to
        or not all(isinstance(n, str) and E164.match(n) for n in to)
    ):
        raise _invalid("to", "`to` must be a non-empty list of E.164 phone numbers.")
    channels = body.get("channel") or ["sent"]
    if not isinstance(channels, list) or not all(c in CHANNELS for c in channels):
        raise _invalid("channel", f"`channel` must be a list of {', '.join(CHANNELS)}.")
    media = body.get("media_urls") or []
    if not isinstance(media, list) or not all(
        isinstance(u, str) and u.startswith("https://") for u in media
    ):
        raise _invalid("media_urls", "`media_urls` must be a list of https URLs.")
    if "mms" in channels and not media:
        raise _invalid("media_urls", "An MMS send needs media_urls.")
    template, text = body.get("template"), body.get("text")
    if (template is None) == (text is None):
        raise _invalid("template", "Provide either `template` or `text`.")
    if "sandbox" in body and not isinstance(body["sandbox"], bool):
        raise _invalid("sandbox", "`sandbox` must be a boolean.")
    found = None
    if template is not None:
        if not isinstance(template, dict) or not (template.get("id") or template.get("name")):
            raise _invalid("template", "`template` needs an `id` or a `name`.")
        want_id, want_name = (
            str(template.get("id") or "").lower(),
            str(template.get("name") or "").lower(),
        )
        found = next((t for t in TEMPLATES if t[0] == want_id or t[1].lower() == want_name), None)
        if found is None:
            raise _invalid("template", "Template not found.")
        params = template.get("parameters") or {}
        if not isinstance(params, dict):
            raise _invalid("template.parameters", "`template.parameters` must be an object.")
        text = _render(found[3], params)
    elif not isinstance(text, str) or not text.strip():
        raise _invalid("text", "`text` must be a non-empty string.")
    return list(dict.fromkeys(to)), list(dict.fromkeys(channels)), found, text, media


def sentdm_send(world: SimWorld, body: Any, account: str | None = None) -> dict[str, Any]:
    """Validate and (unless `sandbox`) add one message per (recipient, channel), owned by
    `account`; the 202 `data`."""
    to, channels, template, text, media = _validate_sentdm(body)
    scheduled = _scheduled(world, body.get("scheduled_at"))
    sandbox = bool(body.get("sandbox"))
    recipients = []
    with world.lock:
        for number in to:
            for channel in channels:
                channel = ("mms" if media else "sms") if channel == "sent" else channel
                if sandbox:
                    mid = world.new_id(Provider.SENTDM)
                else:
                    mid = _add_sentdm(
                        world, number, channel, template, text or "", media, scheduled, account
                    ).id
                recipients.append(
                    {"message_id": mid, "to": number, "channel": channel, "body": text}
                )
    data: dict[str, Any] = {
        "status": "QUEUED",
        "template_id": template[0] if template else None,
        "template_name": template[1] if template else None,
        "recipients": recipients,
    }
    if scheduled is not None:
        data["scheduled_at"] = body.get("scheduled_at")
    return data


def _add_sentdm(
    world: SimWorld,
    number: str,
    channel: str,
    template: tuple[str, str, str, str] | None,
    text: str,
    media: list[str],
    scheduled: float | None,
    account: str | None,
) -> SimMessage:
    now = world.now()
    error: tuple[str | int, str] | None = None
    if number.endswith("0000"):  # the simulator's account has no balance for these
        steps: Steps = [(0.0, "QUEUED"), (0.4, "BLOCKED")]
        error = SENTDM_BLOCKED[0]
    else:
        steps, error = world.random_steps(Provider.SENTDM, channel)
    if scheduled is not None:  # held until the sweeper's first tick at or after scheduled_at
        shift = release_time(scheduled) - now - steps[1][0]
        steps = [(0.0, "QUEUED"), (0.0, "SCHEDULED")] + [(off + shift, st) for off, st in steps[1:]]
    extra: dict[str, Any] = {
        "account": account,
        "scheduled_at": scheduled,
        "template": template[:3] if template else ("", "", ""),
    }
    if media:
        extra["media"] = [
            {
                "url": u,
                "mimeType": None,
                "mediaType": None,
                "sizeBytes": None,
                "sourceHashSha256": None,
            }
            for u in media
        ]
    return world.add_message(
        Provider.SENTDM,
        steps,
        body=text,
        error=error,
        channel=channel,
        created=now,
        to=number,
        **extra,
    )


def sendo_send(world: SimWorld, body: Any, account: str | None = None) -> str:
    """Validate and add one Sendo message owned by `account`; its ID."""
    if not isinstance(body, dict):
        raise SendRefused(400, "", "Request body must be a JSON object")
    campaign, text, to = body.get("campaign"), body.get("body"), body.get("to")
    if not isinstance(campaign, str) or not SENDO_CAMPAIGN.match(campaign):
        raise SendRefused(400, "", "Invalid campaign")
    if not isinstance(text, str) or not text:
        raise SendRefused(400, "", "Missing body")
    if not isinstance(to, str) or not E164.match(to):
        raise SendRefused(400, "", "Invalid to number")
    media = body.get("mediaUrls") or []
    metadata = body.get("metadata") or {}
    sender = body.get("from")
    if not isinstance(media, list) or not all(isinstance(u, str) for u in media):
        raise SendRefused(400, "", "Invalid mediaUrls")
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SendRefused(400, "", "Invalid metadata")
    if sender is not None and (not isinstance(sender, str) or not E164.match(sender)):
        raise SendRefused(400, "", "Invalid from number")
    channel = "mms" if media else "sms"
    steps: Steps | None = None
    error: tuple[str | int, str] | None = None
    if to.endswith("0000"):
        steps, error = (
            [(0.0, "CREATED"), (0.5, "QUEUED"), (1.5, "FAILED")],
            (1002, "Invalid destination number"),
        )
    extra: dict[str, Any] = {"metadata": dict(metadata), "account": account}
    if media:
        extra["media"] = [{"url": u} for u in media]
    if sender:
        extra["from_"] = sender
    return world.add_message(
        Provider.SENDO,
        steps,
        body=text,
        error=error,
        channel=channel,
        campaign=campaign,
        to=to,
        **extra,
    ).id
