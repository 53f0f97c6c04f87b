"""The simulator's vocabulary: statuses, failure reasons and codes, templates, event descriptions.

Kept apart from the world so the words the providers use (docs/providers.md) are in one place.
"""

from __future__ import annotations

from tui.model import Provider

# Sent.dm v3 statuses (upper case on the wire) and Sendo v1 statuses.
SENTDM_STATUSES = frozenset(
    {
        "ACCEPTED",
        "QUEUED",
        "PROCESSED",
        "ROUTED",
        "SCHEDULED",
        "SENT",
        "DELIVERED",
        "READ",
        "FAILED",
        "BLOCKED",
        "FILTERED",
        "CANCELLED",
        "RECEIVED",
    }
)
SENDO_STATUSES = frozenset(
    {"CREATED", "QUEUED", "SCHEDULED", "SENT", "DELIVERED", "READ", "FAILED", "EXPIRED"}
)
# Statuses whose event and message carry Sent.dm's reason_code/reason.
SENTDM_REASONED = frozenset({"FAILED", "BLOCKED", "FILTERED"})
# Older renders tests and callers may still write, mapped to today's word.
_LEGACY = {"OPENED": "READ", "FAILED_AFTER_TOO_MANY_ATTEMPTS": "EXPIRED", "CANCELED": "CANCELLED"}

# Sent.dm reason_code -> reason: platform codes, never carrier codes.
SENTDM_BLOCKED = [
    ("BUSINESS_003", "Insufficient balance"),
    ("BUSINESS_029", "The sending number is not an active sender on your account"),
]
SENTDM_FAILED = [
    ("DELIVERY_003", "The recipient is not registered on this channel"),
    ("DELIVERY_007", "The carrier reported the handset as unreachable"),
]
SENTDM_FILTERED = [("DELIVERY_007", "The carrier filtered the message as unwanted content")]

# Sendo FAILED errorCode -> errorMessage (4-digit codes, docs/providers.md).
SENDO_FAILURES = [
    ("1002", "Invalid destination number"),
    ("1005", "Recipient has not given consent"),
    ("1007", "Message expired before it could be delivered"),
    ("1009", "Unreachable handset"),
    ("1065", "Blocked by carrier spam filter"),
    ("1330", "Blocked by carrier spam filter"),
    ("1203", "Rejected by the carrier"),
    ("1350", "Rejected by the carrier"),
    ("1360", "Destination is a landline"),
]

FIRST_NAMES = [
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Alan",
    "Radia",
]
# (id, name, category, text): ids are stable so a send may name a template by either.
TEMPLATES = [
    (
        "7ba7b820-9dad-11d1-80b4-00c04fd430c8",
        "Welcome Message",
        "UTILITY",
        "Welcome to our service, {name}! We're excited to have you.",
    ),
    (
        "7ba7b821-9dad-11d1-80b4-00c04fd430c8",
        "Order Shipped",
        "UTILITY",
        "Hi {name}, your order #{n} has shipped and arrives Thursday.",
    ),
    (
        "7ba7b822-9dad-11d1-80b4-00c04fd430c8",
        "Verification Code",
        "AUTHENTICATION",
        "Your verification code is {n}. It expires in 10 minutes.",
    ),
    (
        "7ba7b823-9dad-11d1-80b4-00c04fd430c8",
        "Spring Sale",
        "MARKETING",
        "{name}, spring sale: 20% off everything until Sunday. Reply STOP to opt out.",
    ),
]

SENTDM_DESCRIPTIONS = {
    "ACCEPTED": "Message accepted for processing",
    "QUEUED": "Message queued for sending",
    "PROCESSED": "Message processed",
    "ROUTED": "Message routed to {via}",
    "SCHEDULED": "Message held until its scheduled time",
    "SENT": "Message sent via {via}",
    "DELIVERED": "Message delivered to recipient",
    "READ": "Message read by recipient",
    "FAILED": "Message delivery failed",
    "BLOCKED": "Message blocked before sending",
    "FILTERED": "Message filtered",
    "CANCELLED": "Scheduled message cancelled",
    "RECEIVED": "Message received",
}
# `SimWorld.plan_resend` outcomes: (steps from the resend, failure).
RESEND_OUTCOMES: dict[str, tuple[list[tuple[float, str]], tuple[str, str] | None]] = {
    "DELIVERED": (
        [(0, "QUEUED"), (0.5, "PROCESSED"), (1, "ROUTED"), (2, "SENT"), (5, "DELIVERED")],
        None,
    ),
    "FAILED": ([(0, "QUEUED"), (0.5, "PROCESSED"), (2, "SENT"), (6, "FAILED")], SENTDM_FAILED[1]),
    "BLOCKED": ([(0, "QUEUED"), (0.4, "BLOCKED")], SENTDM_BLOCKED[0]),
}
SENTDM_FROM = "+14155550100"  # the simulated accounts' sending numbers
SENDO_FROM = "+14159436397"  # every simulated Sendo campaign's number
SENTDM_PRICES = {"sms": 0.0075, "mms": 0.0200, "whatsapp": 0.0450, "rcs": 0.0300}


def canon_status(provider: Provider, raw: str) -> str:
    """A caller's status word in today's wire form: upper case, `_` for `-`, legacy words renamed."""
    word = raw.strip().upper().replace("-", "_").replace(" ", "_")
    word = _LEGACY.get(word, word)
    if provider is Provider.SENTDM and word == "EXPIRED":
        return "FAILED"
    return word


def channel_label(channel: str) -> str:
    return {"sms": "SMS", "mms": "MMS", "rcs": "RCS", "whatsapp": "WhatsApp"}.get(channel, channel)
