"""Who is asking: the simulator's accounts, the keys that open them and what each may see.

Sent.dm (docs/providers.md Part 2 §4): an organization key (with two child profiles it may act for
through `x-profile-id`), a profile key, and a standalone user key. Sendo: two keys, two accounts.
Every message belongs to one account; messages added without one belong to the provider's
default family (the organization, its first profile and the profile key; Sendo's first key), so
worlds built before accounts existed answer exactly as they did. Each account has its own
rate-limit bucket (server.py). The keys are the simulator's own, public and fake: not secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.model import Provider
from tui.simulator.world import SimMessage

SENTDM_KEY = "sim-sentdm-0b6f6a0e-3c2d-4d8e-9f1a-2b3c4d5e6f70"  # the organization's key
SENTDM_PROFILE_KEY = "sim-sentdm-profile-5a1c0d9e-7b21-4c3e-8f9a-0c1d2e3f4a5b"  # profile-scoped
SENTDM_USER_KEY = "sim-sentdm-user-9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"  # a standalone account
SENDO_KEY = "sim-sendo-8d7c6b5a-4e3f-4a1b-9c8d-7e6f5a4b3c2d"
SENDO_KEY_2 = "sim-sendo-2f1e0d9c-8b7a-4695-a4b3-c2d1e0f9a8b7"  # a second, separate Sendo account

SENTDM_ORG_ID = "550e8400-e29b-41d4-a716-446655440000"  # also every legacy message's customer_id
ALLOWED_PROFILE = "c0ffee00-0000-4000-8000-000000000001"  # the organization's first child profile
SECOND_PROFILE = "c0ffee00-0000-4000-8000-000000000002"  # its second child profile
SENTDM_USER_ID = "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c"
SENDO_ACCOUNT = "sendo-acct-main"
SENDO_ACCOUNT_2 = "sendo-acct-second"

_CREATED = "2025-03-01T09:00:00.0000000+00:00"


@dataclass(frozen=True)
class Account:
    """One customer account: whose messages, webhooks and rate-limit bucket a request uses."""

    provider: Provider
    id: str
    kind: str  # Sent.dm: organization | profile | user; Sendo: account
    name: str
    organization_id: str | None = None  # profiles: the parent organization


SENTDM_ORG = Account(Provider.SENTDM, SENTDM_ORG_ID, "organization", "Acme Messaging")
SENTDM_PROFILES = (
    Account(Provider.SENTDM, ALLOWED_PROFILE, "profile", "Acme Retail", SENTDM_ORG_ID),
    Account(Provider.SENTDM, SECOND_PROFILE, "profile", "Acme Support", SENTDM_ORG_ID),
)
SENTDM_USER = Account(Provider.SENTDM, SENTDM_USER_ID, "user", "Solo Developer")
SENDO_MAIN = Account(Provider.SENDO, SENDO_ACCOUNT, "account", "Sendo main")
SENDO_SECOND = Account(Provider.SENDO, SENDO_ACCOUNT_2, "account", "Sendo second")

KEYS: dict[str, Account] = {
    SENTDM_KEY: SENTDM_ORG,
    SENTDM_PROFILE_KEY: SENTDM_PROFILES[0],
    SENTDM_USER_KEY: SENTDM_USER,
    SENDO_KEY: SENDO_MAIN,
    SENDO_KEY_2: SENDO_SECOND,
}
DEFAULT_ACCOUNT = {Provider.SENTDM: SENTDM_ORG, Provider.SENDO: SENDO_MAIN}
# Who sees a message added without an account (what every key saw before accounts existed).
_DEFAULT_FAMILY = {
    Provider.SENTDM: frozenset({SENTDM_ORG_ID, ALLOWED_PROFILE}),
    Provider.SENDO: frozenset({SENDO_ACCOUNT}),
}


class AuthRefused(Exception):
    """The request's credentials do not open an account: HTTP status, Sent.dm code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def sentdm_account(key: str | None, profile: str | None) -> Account:
    """The account `x-api-key` (+ `x-profile-id`) acts as, or AuthRefused (401/403)."""
    if not key:
        raise AuthRefused(401, "AUTH_001", "API key is required: send it in the x-api-key header.")
    account = KEYS.get(key)
    if account is None or account.provider is not Provider.SENTDM:
        raise AuthRefused(401, "AUTH_002", "Invalid or expired API key")
    if profile is None:
        return account
    child = next((p for p in SENTDM_PROFILES if p.id == profile.lower()), None)
    if account.kind != "organization" or child is None:
        raise AuthRefused(403, "AUTH_004", "This key may not act for that profile.")
    return child


def sendo_account(authorization: str | None) -> Account:
    """The account a `Bearer` key opens: 401 when missing, 403 when not a key (Sendo's codes)."""
    auth = (authorization or "").strip()
    if not auth or auth.lower() in ("bearer", "bearer "):
        raise AuthRefused(401, "", "Missing API key")
    scheme, _, key = auth.partition(" ")
    account = KEYS.get(key.strip()) if scheme.lower() == "bearer" else None
    if account is None or account.provider is not Provider.SENDO:
        raise AuthRefused(403, "", "Invalid API key")
    return account


def owner_id(msg: SimMessage) -> str:
    """The id of the account a message belongs to (Sent.dm's `customer_id`)."""
    return msg.account or DEFAULT_ACCOUNT[msg.provider].id


def visible(msg: SimMessage, account: Account) -> bool:
    """May `account` read this message? Another account's message is a 404, as for a stranger."""
    if msg.provider is not account.provider:
        return False
    if msg.account is None:
        return account.id in _DEFAULT_FAMILY[msg.provider]
    return msg.account == account.id


def _settings(billing: str) -> dict[str, Any]:
    return {
        "billing_model": billing,
        "inherit_tcr_brand": True,
        "inherit_tcr_campaign": False,
        "allow_contact_sharing": False,
        "allow_template_sharing": False,
        "inherit_contacts": False,
        "inherit_templates": False,
    }


def _channels(account: Account) -> dict[str, Any]:
    if account.kind == "user":  # a standalone developer account: SMS only
        return {
            "sms": {"configured": True, "phone_number": "+14155550199"},
            "whatsapp": {"configured": False},
            "rcs": {"configured": False},
        }
    return {
        "sms": {"configured": True, "phone_number": "+14155550100"},
        "whatsapp": {
            "configured": True,
            "phone_number": "+14155550100",
            "business_name": "Acme",
        },
        "rcs": {"configured": False},
    }


def _profile_entry(profile: Account) -> dict[str, Any]:
    short = "".join(w[0] for w in profile.name.split()).upper()
    return {
        "id": profile.id,
        "name": profile.name,
        "short_name": short,
        "icon": None,
        "description": f"{profile.name} sender profile",
        "created_at": _CREATED,
        "role": "admin",
        "status": "approved",
        "settings": _settings("organization"),
    }


def me_data(account: Account) -> dict[str, Any]:
    """`GET /v3/me` `data` for a Sent.dm account (SDK `me_retrieve_response.py`)."""
    channels = _channels(account)
    sender = channels["sms"].get("phone_number")
    data: dict[str, Any] = {
        "type": account.kind,
        "id": account.id,
        "name": account.name,
        "email": f"ops+{account.kind}@acme.example",
        "icon": None,
        "description": None,
        "created_at": _CREATED,
        "channels": channels,
        "sending_phone_number": sender,
        "sending_phone_number_profile_id": account.organization_id or account.id,
        "enable_template_auto_creation_for_sp": False,
        "profiles": [_profile_entry(p) for p in SENTDM_PROFILES]
        if account.kind == "organization"
        else [],
    }
    if account.kind == "profile":
        entry = _profile_entry(account)
        data.update(
            organization_id=account.organization_id,
            short_name=entry["short_name"],
            status=entry["status"],
            settings=entry["settings"],
        )
    return data
