"""What the store's callers see: list rows, the list's filter, answers' outcomes, change sets.

Plain values only, shared by every backend (tui/store/sqlite.py for the SQLite file,
tui/store/postgres.py for a team's server) and by the SQL helpers the query mixins use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tui.config_accounts import DEFAULT_ACCOUNT
from tui.model import Message, Provider, Status

#: How a backend matches free text: SQL and its parameters for "a searchable field contains `text`".
TextMatch = Callable[[str], tuple[str, list[Any]]]

ROW_COLUMNS = (
    "seq, id, provider, status, provider_status, to_addr, channel, error_code, error_message, updated_at, "
    "last_polled, last_changed, next_poll, first_seen, poll_errors, last_error, substr(body, 1, 200), "
    "account"
)


@dataclass(frozen=True)
class Row:
    """What one line of the message list needs; cheap to read a page of."""

    seq: int
    id: str
    provider: str | None
    status: str
    provider_status: str
    to: str | None
    channel: str | None
    error_code: str | None
    error_message: str | None
    updated_at: float | None
    last_polled: float | None
    last_changed: float | None
    next_poll: float | None
    first_seen: float
    poll_errors: int
    last_error: str | None
    body: str | None
    #: the account that owns the message (None: not known yet)
    account: str | None = None


@dataclass(frozen=True)
class ListFilter:
    """The list's current view: free text plus optional status/provider/campaign/error filters."""

    text: str = ""
    statuses: frozenset[str] = frozenset()
    provider: str | None = None
    campaign: str | None = None
    error_code: str | None = None
    #: the account that owns the message (several accounts per provider), by its configured name
    account: str | None = None
    #: the channel the provider used (`sms`, `whatsapp`, ...), as stored
    channel: str | None = None
    #: ISO 3166 alpha-2 country of the recipient (the `region_code` column), e.g. `US`
    country: str | None = None

    def where(self, text_match: TextMatch) -> tuple[str, list[Any]]:
        """SQL for this view; free text is matched the way the backend's index allows."""
        clauses: list[str] = []
        params: list[Any] = []
        text = self.text.strip()
        if text:
            clause, values = text_match(text)
            clauses.append(clause)
            params += values
        if self.statuses:
            # A normalized status (`failed`) or the provider's own word (`blocked`, `expired`).
            normalized = sorted(
                s for s in self.statuses if s in Status._value2member_map_ or s == "waiting"
            )
            words = sorted(s.lower() for s in self.statuses if s not in normalized)
            either = []
            if normalized:
                either.append(f"status IN ({','.join('?' * len(normalized))})")
                params += normalized
            if words:
                either.append(f"lower(provider_status) IN ({','.join('?' * len(words))})")
                params += words
            clauses.append("(" + " OR ".join(either) + ")")
        if self.provider:
            clauses.append("provider = ?")
            params.append(self.provider)
        if self.campaign:
            clauses.append("id IN (SELECT message_id FROM campaign_messages WHERE campaign = ?)")
            params.append(self.campaign)
        if self.error_code:
            clauses.append("error_code = ?")
            params.append(self.error_code)
        if self.account:
            # the `default` account (a provider's own key) also owns messages of no recorded account
            unassigned = " OR account IS NULL" if self.account == DEFAULT_ACCOUNT else ""
            clauses.append(f"(account = ?{unassigned})")
            params.append(self.account)
        if self.channel:
            clauses.append("lower(channel) = ?")
            params.append(self.channel.lower())
        if self.country:
            clauses.append("region_code = ?")
            params.append(self.country.upper())
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


NextPoll = Callable[[float, float], "float | None"]

SORTS = {
    "newest": ("seq DESC", "seq > ?"),
    "changed": ("coalesce(last_changed, first_seen) DESC, seq DESC", None),
}


@dataclass
class FetchOutcome:
    """What `record_fetch` found: whether anything shown changed, and the status transition."""

    changed: bool
    previous: Status | None
    current: Status
    next_poll: float | None = None


@dataclass(frozen=True)
class Changes:
    """What `changes_since` found: re-read these rows (or everything, when the generation moved)."""

    rev: int
    ids: list[str]
    generation: int
    truncated: bool = False
    #: the revision each of `ids` was written at (same order), when the backend says
    revs: list[int] = field(default_factory=list)


@dataclass
class Stored:
    message: Message
    fetched_at: datetime | None
    first_seen: float
    last_polled: float | None
    next_poll: float | None
    poll_errors: int
    last_error: str | None
    campaigns: list[str] = field(default_factory=list)
    #: the account that owns the message (None: not known yet)
    account: str | None = None


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its wildcards literal (with `ESCAPE '\\'`)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _and(where: str, condition: str) -> str:
    """Add a condition to a `where` from `ListFilter.where` (which may be empty)."""
    return f"{where} AND {condition}" if where else f" WHERE {condition}"


def _owner_condition(provider: Provider | None, unresolved: bool) -> tuple[str, list[Any]]:
    """SQL selecting one provider's messages, or those whose provider is not known yet."""
    if unresolved:
        return "provider IS NULL", []
    if provider is not None:
        return "provider = ?", [provider.value]
    return "1 = 1", []
