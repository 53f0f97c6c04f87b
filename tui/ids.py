"""Message IDs as typed, pasted or imported: untrusted input.

Both providers use UUID-shaped IDs, so a bare ID does not say which provider owns it; a `sentdm:` or
`sendo:` prefix does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui.errors import InvalidIdError
from tui.model import Provider

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PREFIXES = {
    "sentdm": Provider.SENTDM,
    "sent.dm": Provider.SENTDM,
    "sent": Provider.SENTDM,
    "sendo": Provider.SENDO,
}


@dataclass(frozen=True)
class MessageRef:
    """An ID and, when known, the provider that owns it."""

    id: str
    provider: Provider | None = None

    def __str__(self) -> str:
        return f"{self.provider.value}:{self.id}" if self.provider else self.id


_ID_ATTEMPT = re.compile(
    r"^\s*(?:(?:sentdm|sent\.dm|sent|sendo)\s*:\s*\S*|[0-9a-fA-F-]{16,})\s*$", re.IGNORECASE
)


def looks_like_id(text: str) -> bool:
    """True for text that is meant as an ID (a provider prefix, or a long hex/dash string):
    the find bar then reports why it is invalid instead of silently filtering by it."""
    return bool(_ID_ATTEMPT.match(text))


def is_message_id(text: str) -> bool:
    return bool(_UUID.match(text))


def parse_ref(text: str, provider: Provider | str | None = None) -> MessageRef:
    """Parse `ID`, `sentdm:ID` or `sendo:ID`; raise InvalidIdError with a reason otherwise."""
    raw = text.strip()
    forced = Provider(provider) if provider else None
    if ":" in raw:
        prefix, _, rest = raw.partition(":")
        key = prefix.strip().lower()
        if key not in _PREFIXES:
            raise InvalidIdError(f"unknown provider prefix {prefix[:20]!r} (use sentdm: or sendo:)")
        prefixed = _PREFIXES[key]
        if forced and forced != prefixed:
            raise InvalidIdError(
                f"the prefix says {prefixed.value} but --provider says {forced.value}"
            )
        forced, raw = prefixed, rest.strip()
    if not raw:
        raise InvalidIdError("empty message ID")
    if not is_message_id(raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidIdError(
            f"{shown!r} is not a message ID (expected a UUID like 8ba7b830-9dad-11d1-80b4-00c04fd430c8)"
        )
    return MessageRef(raw.lower(), forced)
