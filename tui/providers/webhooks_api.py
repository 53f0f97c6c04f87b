"""The providers' webhook-management calls (docs/providers.md Part 2 §3 and §5).

Sent.dm: list, create, get, rotate-secret and the per-webhook delivery log. Sendo: the campaign
list and each campaign's webhooks (list, create). Every answer is untrusted: fields are optional,
wrong types are dropped, a secret is wrapped in `Secret` the moment it is read. Reads go through
`ProviderClient.get` (budget, retries); creates reuse the send paths: Sent.dm's POSTs carry an
Idempotency-Key, Sendo's are never repeated once they may have arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from tui.coerce import as_dict, as_int, as_list, as_str
from tui.errors import BadResponseError, InvalidIdError, NotFoundError, SendwatchError
from tui.ids import is_message_id
from tui.model import Provider
from tui.providers.base import ProviderClient
from tui.providers.sending import SENDO_CAMPAIGN, new_idempotency_key, post_idempotent, post_once
from tui.providers.transfer import Answer
from tui.secret import Secret
from tui.timeparse import parse_time

#: Where the receiver (tui/webhooks) serves each provider: `<public base URL><path>`.
RECEIVER_PATHS = {Provider.SENTDM: "/webhooks/sentdm", Provider.SENDO: "/webhooks/sendo"}
SENTDM_EVENT_TYPES = ("message",)
SENDO_EVENT_TYPES = ("message.status",)
DISPLAY_NAME = "sendwatch"
LOG_PAGE_SIZE = 100
_MAX_PAGES = 50  # a list that never says "no more" is cut here, not followed forever


@dataclass(frozen=True)
class RemoteHook:
    """A webhook as the provider describes it; `secret` only right after creating or rotating."""

    provider: Provider
    id: str
    url: str
    active: bool | None = None
    consecutive_failures: int | None = None
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    campaign: str | None = None
    event_types: tuple[str, ...] = ()
    secret: Secret | None = None


@dataclass(frozen=True)
class LogRow:
    """One row of Sent.dm's delivery log: one event for one webhook, its attempts so far."""

    id: str
    event_type: str
    message_id: str | None
    delivery_status: str  # lower case: pending, retrying, delivered, failed
    http_status: int | None
    attempts: int
    created_at: datetime | None
    error_message: str | None = None

    @property
    def in_flight(self) -> bool:
        """Still being tried by the provider: its fate is not known yet."""
        return self.delivery_status in ("pending", "retrying")

    @property
    def failed(self) -> bool:
        """The receiver did not take it (yet): marked failed, or attempted without a 2xx."""
        if self.delivery_status == "failed":
            return True
        attempted = self.attempts > 0 or self.delivery_status != "pending"
        return attempted and not (self.http_status is not None and 200 <= self.http_status < 300)


def _text(value: Any, limit: int = 2000) -> str:
    return (as_str(value, limit) or "").strip()


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _types(value: Any) -> tuple[str, ...]:
    return tuple(t[:100] for t in as_list(value) if isinstance(t, str))


def _fail(client: ProviderClient, response: Answer, what: str) -> SendwatchError:
    """An error answer about `what` (a webhook, a campaign) in the taxonomy, in words."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    error = as_dict(payload).get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = as_str(error.get("code"), 50) or ""
        detail = as_str(error.get("message"), 300) or ""
    else:
        code, detail = "", as_str(error, 300) or ""
    status = response.status_code
    if status in (401, 403):
        return client.auth_error(status, detail, code)
    said = f"{code} {detail}".strip() or f"HTTP {status}"
    if status == 404:
        return NotFoundError(
            f"{client.label} answered 404 (not found) for {what}: {said}",
            provider=client.provider.value,
        )
    if status in (400, 409, 422):
        return InvalidIdError(
            f"{client.label} refused {what}: {said}", provider=client.provider.value
        )
    return BadResponseError(
        f"{client.label} answered HTTP {status} about {what}: {said}",
        provider=client.provider.value,
    )


def _payload(client: ProviderClient, response: Answer, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise _fail(client, response, what)
    payload = client.decode(response)
    if not isinstance(payload, dict):
        raise client.bad_shape(f"the answer about {what} is not a JSON object")
    return payload


def _sentdm_data(client: ProviderClient, response: Answer, what: str) -> dict[str, Any]:
    payload = _payload(client, response, what)
    if payload.get("success") is False:
        raise _fail(client, response, what)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise client.bad_shape(f"no `data` object in the answer about {what}")
    return data


def sentdm_hook(data: Any, *, with_secret: bool = False) -> RemoteHook | None:
    """A Sent.dm webhook object, or None when it has no usable id or URL."""
    item = as_dict(data)
    hook_id, url = _text(item.get("id"), 100), _text(item.get("endpoint_url"))
    if not hook_id or not url:
        return None
    secret = _text(item.get("signing_secret"), 500) if with_secret else ""
    return RemoteHook(
        Provider.SENTDM,
        hook_id,
        url,
        active=_bool(item.get("is_active")),
        consecutive_failures=as_int(item.get("consecutive_failures")),
        last_success=parse_time(item.get("last_successful_delivery_at")),
        last_attempt=parse_time(item.get("last_delivery_attempt_at")),
        event_types=_types(item.get("event_types")),
        secret=Secret(secret) if secret else None,
    )


def sendo_hook(data: Any) -> RemoteHook | None:
    """A Sendo campaign webhook; its `signature` is the X-Webhook-Token its deliveries carry."""
    item = as_dict(data)
    hook_id, url = _text(item.get("id"), 100), _text(item.get("url"))
    if not hook_id or not url:
        return None
    token = _text(item.get("signature"), 500)
    return RemoteHook(
        Provider.SENDO,
        hook_id,
        url,
        campaign=_text(item.get("campaignId"), 20) or None,
        event_types=_types(item.get("eventTypes")),
        secret=Secret(token) if token else None,
    )


def log_row(data: Any) -> LogRow | None:
    """One delivery-log entry; the message id comes from the body that was (to be) delivered."""
    item = as_dict(data)
    row_id = _text(item.get("id"), 100)
    if not row_id:
        return None
    payload = as_dict(as_dict(item.get("event_data")).get("payload"))
    message_id = _text(payload.get("message_id"), 100).lower()
    code = item.get("http_status_code")
    return LogRow(
        id=row_id,
        event_type=_text(item.get("event_type"), 100),
        message_id=message_id if is_message_id(message_id) else None,
        delivery_status=_text(item.get("delivery_status"), 30).lower(),
        http_status=code if isinstance(code, int) and not isinstance(code, bool) else None,
        attempts=max(0, as_int(item.get("delivery_attempts")) or 0),
        created_at=parse_time(item.get("created_at")),
        error_message=_text(item.get("error_message"), 300) or None,
    )


class SentDmHooks:
    """Sent.dm's `/v3/webhooks` endpoints over one `SentDmClient` (its budget, its key)."""

    def __init__(self, client: ProviderClient) -> None:
        self.client = client

    async def list_all(self) -> list[RemoteHook]:
        found: list[RemoteHook] = []
        for page in range(1, _MAX_PAGES + 1):
            response = await self.client.get(f"/v3/webhooks?page={page}&page_size=100")
            data = _sentdm_data(self.client, response, "webhooks")
            found += [h for h in map(sentdm_hook, as_list(data.get("webhooks"))) if h]
            if as_dict(data.get("pagination")).get("has_more") is not True:
                break
        return found

    async def get(self, hook_id: str) -> RemoteHook:
        what = f"webhook {hook_id}"
        response = await self.client.get(f"/v3/webhooks/{quote(hook_id, safe='')}")
        hook = sentdm_hook(_sentdm_data(self.client, response, what))
        if hook is None:
            raise self.client.bad_shape(f"{what} has no id or endpoint_url")
        return hook

    async def create(self, url: str) -> RemoteHook:
        """Create a webhook for every message event; the answer carries the signing secret."""
        body = {
            "display_name": DISPLAY_NAME,
            "endpoint_url": url,
            "event_types": list(SENTDM_EVENT_TYPES),
        }
        response = await post_idempotent(self.client, "/v3/webhooks", body, new_idempotency_key())
        hook = sentdm_hook(_sentdm_data(self.client, response, "the new webhook"), with_secret=True)
        if hook is None:
            raise self.client.bad_shape("the new webhook has no id or endpoint_url")
        return hook

    async def rotate_secret(self, hook_id: str) -> Secret:
        """A new signing secret; the old one stops working at once."""
        path = f"/v3/webhooks/{quote(hook_id, safe='')}/rotate-secret"
        response = await post_idempotent(self.client, path, {}, new_idempotency_key())
        data = _sentdm_data(self.client, response, f"webhook {hook_id}")
        secret = _text(data.get("signing_secret"), 500)
        if not secret:
            raise self.client.bad_shape("rotate-secret answered without a signing_secret")
        return Secret(secret)

    async def events(self, hook_id: str, page: int) -> tuple[list[LogRow], bool]:
        """One page of the delivery log (newest first) and whether there are more."""
        query = urlencode({"page": page, "page_size": LOG_PAGE_SIZE})
        response = await self.client.get(f"/v3/webhooks/{quote(hook_id, safe='')}/events?{query}")
        data = _sentdm_data(self.client, response, f"webhook {hook_id}")
        rows = [r for r in map(log_row, as_list(data.get("events"))) if r]
        return rows, as_dict(data.get("pagination")).get("has_more") is True


class SendoHooks:
    """Sendo's campaign list and campaign webhooks over one `SendoClient`."""

    def __init__(self, client: ProviderClient) -> None:
        self.client = client

    async def campaigns(self, page_size: int = 100) -> list[str]:
        """Every listed campaign id (DRAFT campaigns are never listed), paging with `skip`."""
        found: list[str] = []
        for page in range(_MAX_PAGES):
            query = urlencode({"limit": page_size, "skip": page * page_size})
            response = await self.client.get(f"/v1/campaign/list?{query}")
            items = as_list(_payload(self.client, response, "the campaign list").get("campaigns"))
            for item in items:
                cid = _text(as_dict(item).get("id"), 20)
                if SENDO_CAMPAIGN.match(cid) and cid not in found:
                    found.append(cid)
            if len(items) < page_size:
                break
        return found

    async def of_campaign(self, campaign: str) -> list[RemoteHook]:
        what = f"campaign {campaign}"
        response = await self.client.get(f"/v1/campaign/{quote(campaign, safe='')}/webhooks")
        items = as_list(_payload(self.client, response, what).get("webhooks"))
        return [h for h in map(sendo_hook, items) if h]

    async def create(self, campaign: str, url: str) -> RemoteHook:
        """A `message.status` webhook for the campaign; its `signature` is the token."""
        path = f"/v1/campaign/{quote(campaign, safe='')}/webhooks"
        body = {"name": DISPLAY_NAME, "url": url, "eventTypes": list(SENDO_EVENT_TYPES)}
        response = await post_once(self.client, path, body, f"campaign {campaign}")
        payload = _payload(self.client, response, f"campaign {campaign}")
        hook = sendo_hook(payload.get("webhook"))
        if hook is None:
            raise self.client.bad_shape(f"the new webhook of campaign {campaign} has no id or url")
        return hook
