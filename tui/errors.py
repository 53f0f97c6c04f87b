"""One error taxonomy for both providers.

Every message is written for a person: which provider, what happened, what to do. Exceptions never
carry a request's headers, so an API key can never leak through `str(exc)` or a traceback.
"""

from __future__ import annotations


class SendwatchError(Exception):
    """Base of every error sendwatch reports to a user; `exit_code` is the CLI's contract."""

    exit_code = 5

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider

    def __str__(self) -> str:
        return self.message


class ConfigError(SendwatchError):
    exit_code = 2


class InvalidIdError(SendwatchError):
    exit_code = 2


class NotFoundError(SendwatchError):
    exit_code = 3


class AuthError(SendwatchError):
    """The key was rejected (401) or may not do this (403)."""

    exit_code = 4


class RateLimitedError(SendwatchError):
    exit_code = 5

    def __init__(
        self, message: str, *, provider: str | None = None, retry_after: float = 60.0
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class UnavailableError(SendwatchError):
    """5xx, connection refused/reset, timeout: worth retrying later."""

    exit_code = 5


class BadResponseError(SendwatchError):
    """The provider answered, but not with what its API documents (bad JSON, wrong shape)."""

    exit_code = 5


class CircuitOpenError(UnavailableError):
    """The provider failed repeatedly and is being left alone for a while."""


class OutcomeUnknownError(UnavailableError):
    """A send that may have reached the provider and got no answer: never retried blindly."""

    def __init__(
        self, message: str, *, provider: str | None = None, recipients: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, provider=provider)
        self.recipients = recipients


class StoreError(SendwatchError):
    """The history's database failed a read or write (a shared server went away, a full disk)."""

    exit_code = 5
