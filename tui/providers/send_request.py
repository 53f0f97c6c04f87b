"""What a send asks for and what it answered: the request, its checks and the per-recipient result.

Plain values and parsing only (no HTTP): the provider clients' base declares `send` with these
types, and `sending.py` (which builds on the clients) does the requests.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from tui.coerce import as_str
from tui.errors import InvalidIdError, SendwatchError
from tui.ids import is_message_id
from tui.model import Provider

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
SENDO_CAMPAIGN = re.compile(r"^[A-Za-z0-9]{8}$")


class SendUsageError(InvalidIdError):
    """A send request that is wrong before anything is sent (exit 2)."""


@dataclass(frozen=True)
class SendRequest:
    """One `sendwatch send`: recipients, what to say, and where."""

    to: tuple[str, ...]
    text: str | None = None
    template: str | None = None  # a template name, or an ID (UUID)
    params: dict[str, str] = field(default_factory=dict)
    channels: tuple[str, ...] = ()
    from_: str | None = None
    sandbox: bool = False
    sendo_campaign: str | None = None
    idempotency_key: str = ""

    def check(self, provider: Provider) -> SendRequest:
        """Refuse what the provider would refuse, before a request is made; fill in the key."""
        if not self.to:
            raise SendUsageError("give at least one recipient with --to (E.164, e.g. +14155550100)")
        bad = [n for n in self.to if not E164.match(n)]
        if bad:
            raise SendUsageError(f"not an E.164 number: {bad[0]!r} (expected + and 7-15 digits)")
        if (self.text is None) == (self.template is None):
            raise SendUsageError("give either --text or --template")
        if self.from_ is not None and not E164.match(self.from_):
            raise SendUsageError(f"--from is not an E.164 number: {self.from_!r}")
        if provider is Provider.SENDO:
            if self.template is not None:
                raise SendUsageError("Sendo has no templates: use --text")
            if self.sandbox:
                raise SendUsageError(
                    "Sendo has no sandbox: a Sendo send is real (and billed); drop --sandbox to send it"
                )
            if not self.sendo_campaign or not SENDO_CAMPAIGN.match(self.sendo_campaign):
                raise SendUsageError(
                    "Sendo sends belong to a campaign: give --sendo-campaign ID (8 letters/digits)"
                )
            if any(c not in ("sms", "mms") for c in self.channels):
                raise SendUsageError(
                    "Sendo sends SMS (or MMS with media); --channel does not apply"
                )
            return self
        if self.text is not None and not self.text.strip():
            raise SendUsageError("--text is empty")
        key = self.idempotency_key or new_idempotency_key()
        if not IDEMPOTENCY_KEY.match(key):
            raise SendUsageError("--idempotency-key takes 1-255 of A-Z a-z 0-9 _ -")
        return SendRequest(**{**self.__dict__, "idempotency_key": key})


def new_idempotency_key() -> str:
    return "sw-" + secrets.token_hex(16)


@dataclass(frozen=True)
class SentMessage:
    id: str
    to: str
    channel: str


@dataclass
class SendResult:
    provider: Provider
    idempotency_key: str | None
    messages: list[SentMessage] = field(default_factory=list)
    #: recipients whose send may or may not have happened (Sendo, no answer), with why
    unknown: list[tuple[str, str]] = field(default_factory=list)
    #: recipients the provider refused (nothing sent), with why
    refused: list[tuple[str, str]] = field(default_factory=list)
    #: recipients never sent to (the provider could not be reached, or sending stopped), with why
    not_sent: list[tuple[str, str]] = field(default_factory=list)
    #: the error that stopped sending before the last recipient (a rejected key); what was sent
    #: before it is still in `messages`
    stopped: SendwatchError | None = None
    #: what else the user must know (e.g. sent, but history could not record it)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The CLI's: the stopping error's, else 5 for any unknown outcome, else 2 for a refusal."""
        if self.stopped is not None:
            return self.stopped.exit_code
        if self.unknown or self.not_sent:
            return 5
        return 2 if self.refused else 0


def sentdm_body(req: SendRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"to": list(req.to), "channel": list(req.channels) or ["sent"]}
    if req.template is not None:
        looks_like_id = re.fullmatch(r"[0-9a-fA-F-]{36}", req.template) is not None
        body["template"] = {
            "id" if looks_like_id else "name": req.template,
            "parameters": dict(req.params),
        }
    else:
        body["text"] = req.text
    if req.sandbox:
        body["sandbox"] = True
    return body


def sentdm_recipients(payload: Any) -> list[SentMessage]:
    """`data.recipients[]` (one per recipient and channel); the older shape put the ID on `data`."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ValueError("no `data` object")
    items = data.get("recipients") or data.get("messages") or []
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and _an_id(item.get("message_id") or item.get("id")):
            out.append(
                SentMessage(
                    str(item.get("message_id") or item.get("id")).lower(),
                    as_str(item.get("to"), 100) or "",
                    as_str(item.get("channel"), 50) or "",
                )
            )
    if not out and _an_id(data.get("message_id") or data.get("id")):
        out.append(SentMessage(str(data.get("message_id") or data.get("id")).lower(), "", ""))
    if not out:
        raise ValueError("no message IDs in `data.recipients`")
    return out


def _an_id(value: Any) -> bool:
    """A message ID we can track (a UUID), not whatever text an answer put there."""
    return isinstance(value, str) and is_message_id(value)
