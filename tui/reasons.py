"""What a failure code means and what to do about it: the one table every screen and command uses.

Only what the providers document is said here (docs/providers.md): Sendo's 4-digit `errorCode`s
and the families of Sent.dm's `reason_code`s (`BUSINESS_*` — the account or a rule refused it before
sending; `DELIVERY_*` — the channel or carrier did not deliver). An unknown code gets no advice
rather than a guess.
"""

from __future__ import annotations

from tui.model import Provider

# Sendo `errorCode` on FAILED messages (JSON number or string; compared as text).
SENDO_CODES: dict[str, str] = {
    "1002": "Bad number: the destination is not a valid phone number. Fix it at the source; do not resend as is.",
    "1005": "No consent: the recipient has not opted in (or opted out). Do not resend until they opt in.",
    "1007": "Expired: the carrier gave up before the handset could take it. Resend later if still relevant.",
    "1009": "Unreachable handset (off, out of coverage). A later resend may succeed.",
    "1065": "Blocked by a carrier spam filter. Review the content and the sender's registration.",
    "1330": "Blocked by a carrier spam filter. Review the content and the sender's registration.",
    "1203": "Rejected by the carrier. Check the sender and content, then contact Sendo with the message ID.",
    "1350": "Rejected by the carrier. Check the sender and content, then contact Sendo with the message ID.",
    "1360": "Landline: the number cannot receive SMS. Use another number or channel.",
}

# Sent.dm `reason_code`s the docs name with a meaning.
SENTDM_CODES: dict[str, str] = {
    "BUSINESS_003": "Insufficient balance: top up the account, then resend (a resend is a new billed attempt).",
}

SENTDM_FAMILIES: dict[str, str] = {
    "BUSINESS_": "Refused before sending by an account or business rule (balance, template approval, "
    "sender status). Fix the account side, then resend as a new attempt.",
    "DELIVERY_": "The channel or carrier did not deliver it. Check the number and the channel; "
    "a resend may or may not help.",
}


# What a final word means when the provider gave no code with it.
STATUS_MEANINGS: dict[str, str] = {
    "expired": "Sendo gave up after too many attempts. Check the number; resend later if it still matters.",
    "blocked": "Refused before sending (balance, template approval, sender status). Fix the account side, then resend.",
    "filtered": "Filtered out: it will not be delivered, and a resend of the same content will not be either.",
    "cancelled": "A scheduled send that was called off before it went out.",
}


def explain_status(provider_status: str | None) -> str | None:
    """The meaning of a final provider word (for a failure that came without a code)."""
    return STATUS_MEANINGS.get((provider_status or "").strip().lower())


def explain(provider: Provider | str | None, code: str | int | None) -> str | None:
    """A one-line explanation with what to do, or None when the code is not documented."""
    if code is None:
        return None
    text = str(code).strip().upper()
    if not text:
        return None
    value = provider.value if isinstance(provider, Provider) else provider
    if value in (Provider.SENDO.value, None) and text in SENDO_CODES:
        return SENDO_CODES[text]
    if value in (Provider.SENTDM.value, None):
        if text in SENTDM_CODES:
            return SENTDM_CODES[text]
        for prefix, advice in SENTDM_FAMILIES.items():
            if text.startswith(prefix):
                return advice
    return None
