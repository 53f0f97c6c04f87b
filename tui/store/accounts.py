"""Which account owns each message (several accounts per provider): recorded, batched, read back.

The account is the one that answered for the message (a poll, a lookup) or sent it, by its
configured name. NULL means not known yet: the provider's first account polls it and asks the
provider's accounts in turn (tui/providers/lookup.py), and the one that answers is recorded here.
A mixin over `Backend`; the SQL is shared by both backends.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui.store.backend import Backend

#: rows per statement batch (bounded parameter lists on both drivers)
BATCH = 500


class Accounts(Backend):
    def set_accounts(self, owners: Iterable[tuple[str, str]]) -> int:
        """Record (message id, account name) pairs in one transaction; only rows whose account
        changes are written (and stamped, so other instances re-read just those). Returns how many."""
        rows = list(owners)
        todo: list[tuple[str, str]] = []
        for start in range(0, len(rows), BATCH):  # read first: most answers change nothing
            chunk = rows[start : start + BATCH]
            known = dict(
                self._read(
                    f"SELECT id, account FROM messages WHERE id IN ({','.join('?' * len(chunk))})",
                    [mid for mid, _ in chunk],
                )
            )
            todo += [(name, mid) for mid, name in chunk if mid in known and known[mid] != name]
        if not todo:
            return 0
        with self.transaction() as tx:
            rev = self._rev(tx)
            return tx.executemany(
                "UPDATE messages SET account = ?, rev = ? WHERE id = ?",
                [(name, rev, mid) for name, mid in todo],
            )

    def account_of(self, message_id: str) -> str | None:
        """The account recorded for a message (None: not known yet, or no such message)."""
        rows = self._read("SELECT account FROM messages WHERE id = ?", (message_id,))
        return rows[0][0] if rows else None

    def accounts_of(self, message_ids: Iterable[str]) -> dict[str, str | None]:
        """The recorded account of each of these messages (batched; absent IDs left out)."""
        ids = list(message_ids)
        out: dict[str, str | None] = {}
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            out.update(
                self._read(
                    f"SELECT id, account FROM messages WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return out

    def accounts_in_use(self) -> dict[str, int]:
        """How many messages each recorded account owns ("" for not known yet)."""
        return {
            name or "": int(count)
            for name, count in self._read(
                "SELECT account, count(*) FROM messages GROUP BY account ORDER BY account"
            )
        }
