"""Which alert rules are firing, kept in the history: one state for every instance that shares it.

The instance that evaluates the rules can change (the poller's lease moves to another process, or
another machine on a shared PostgreSQL), and a restart must not send "firing" again for a rule
already firing; so the state lives where the lease does. Each read-modify-write holds one lock for
its whole transaction (SQLite: the file's write lock; PostgreSQL: an advisory lock on a name no
message ID can take), so two instances that both evaluate still produce each transition once.
The store keeps each rule's state as the alerts package's JSON text; it does not read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tui.store.backend import Backend

#: the lock name of the alert state (message IDs never hold a control character)
ALERT_STATE_LOCK = "\x1falert-state"


class AlertStates(Backend):
    def alert_states(self) -> dict[str, str]:
        """Each rule's stored state (JSON text), by rule name."""
        return {str(r): str(s) for r, s in self._read("SELECT rule, state FROM alert_state")}

    @contextmanager
    def alert_states_locked(self) -> Iterator[dict[str, str]]:
        """The stored states, to change in place; what changed is written when the block ends,
        in the same transaction that read them (nothing is written if the block raises)."""
        with self.transaction(lock=ALERT_STATE_LOCK) as tx:
            before = self.alert_states()
            states = dict(before)
            yield states
            for rule, state in states.items():
                if before.get(rule) != state:
                    tx.execute(
                        "INSERT INTO alert_state(rule, state) VALUES (?, ?) "
                        "ON CONFLICT(rule) DO UPDATE SET state = excluded.state",
                        (rule, state),
                    )
            for rule in before.keys() - states.keys():
                tx.execute("DELETE FROM alert_state WHERE rule = ?", (rule,))
