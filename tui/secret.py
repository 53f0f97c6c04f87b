"""A value that must never be shown (API keys, webhook secrets, tokens, database URLs), and where
plain HTTP may carry one (loopback only).

Kept apart from the config loader so every module that handles a secret (the alerts' webhook URL,
the receiver's credentials) can use it without depending on how the config file is read.
"""

from __future__ import annotations

import ipaddress


class Secret:
    """An API key that refuses to be printed: repr/str/format all show a redaction."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def redacted(self) -> str:
        """What may be shown: the last 4 characters of a long key, nothing of a short one."""
        if not self._value:
            return "(not set)"
        return f"…{self._value[-4:]}" if len(self._value) >= 16 else "****"

    def __repr__(self) -> str:
        return f"Secret({self.redacted()!r})"

    __str__ = redacted

    def __format__(self, spec: str) -> str:
        return self.redacted()


def is_loopback(host: str) -> bool:
    """localhost or a loopback address (where plain http:// and a webhook receiver are fine)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
