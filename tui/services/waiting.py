"""Keeping an ID that no provider could be asked about: tracked, shown as waiting, asked again later.

A message ID typed while the providers are unreachable (offline, down, rate-limited, the lookup's
deadline passed) must not be lost: it is tracked without a provider, its failed ask is recorded,
and it is due again after the wait the error asks for. The poller's loop for IDs without a
provider finds its owner as soon as one answers.
"""

from __future__ import annotations

from tui.errors import RateLimitedError, SendwatchError, UnavailableError
from tui.ids import MessageRef
from tui.polling.policy import PollPolicy
from tui.polling.record import record_failed_ask
from tui.store import Store
from tui.textsafe import safe_text

#: errors that say "not now" rather than "no": the ID is kept and asked again
UNREACHABLE = (UnavailableError, RateLimitedError)


def keep_waiting(
    store: Store, policy: PollPolicy, ref: MessageRef, error: SendwatchError, now: float
) -> float:
    """Track `ref` and record the failed ask by the policy's one rule (`record_failed_ask`);
    returns when it is due again. Blocking (call it in a thread)."""
    store.track([ref], now=now)
    errors = record_failed_ask(store, policy, ref.id, error, now)
    return policy.after_failure(error, errors, now)


def waiting_note(ref: MessageRef, error: SendwatchError) -> str:
    """What to tell the user about an ID kept waiting (plain text, untrusted parts made printable)."""
    return (
        f"Could not reach the provider for {safe_text(ref.id, single_line=True, limit=80)} "
        f"({safe_text(error, single_line=True, limit=300)}); it stays in the list and is looked up "
        "again when a provider answers."
    )
