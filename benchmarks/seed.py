"""Fill a history file with N realistic cached messages quickly (one transaction, executemany)."""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path

from tui.store import SQLiteStore

STATUSES = [("delivered", 0.80), ("failed", 0.08), ("sent", 0.07), ("queued", 0.05)]
CODES = [("30003", "Unreachable destination handset"), ("30007", "Message filtered by carrier")]


def seed(
    path: Path,
    count: int,
    *,
    pending_share: float | None = None,
    campaign: str = "bench",
    seed_value: int = 1,
    polled_ago: tuple[float, float] = (0.0, 60.0),
) -> list[str]:
    """Returns the IDs. Final messages get next_poll NULL; pending ones are due now."""
    rng = random.Random(seed_value)
    store = SQLiteStore(path)
    now = time.time()
    rows, events, members, ids = [], [], [], []
    for i in range(count):
        mid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ids.append(mid)
        provider = "sentdm" if i % 2 == 0 else "sendo"
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        if pending_share is not None:
            status = "sent" if rng.random() < pending_share else rng.choice(["delivered", "failed"])
        code, text = rng.choice(CODES) if status == "failed" else (None, None)
        created = now - polled_ago[0] - rng.uniform(60, 3600)
        body = f"Hi {rng.choice(['Ada', 'Grace', 'Ken'])}, your code is {rng.randrange(100000, 999999)}"
        to = f"+1{rng.randrange(2012000000, 9899999999)}"
        snapshot = {
            "id": mid,
            "provider": provider,
            "status": status,
            "provider_status": status,
            "to": to,
            "from": "+14155550100",
            "body": body,
            "channel": "sms",
            "created_at": None,
            "updated_at": None,
            "events": [],
            "error": {"code": code, "message": text} if code else None,
            "fetched_at": None,
            "template": {},
            "media": [],
            "metadata": {},
        }
        pending = status in ("sent", "queued")
        rows.append(
            (
                mid,
                provider,
                status,
                status,
                to,
                body,
                "sms",
                code,
                text,
                created,
                created + 30,
                json.dumps(snapshot),
                "{}",
                created,
                now - rng.uniform(*polled_ago),
                created + 30,
                now if pending else None,
            )
        )
        events.append((mid, "provider", status, status, created + 30, "seeded"))
        members.append((campaign, mid))
    with store._tx() as db:
        db.execute("INSERT OR IGNORE INTO campaigns VALUES (?, ?)", (campaign, now))
        db.executemany(
            "INSERT INTO messages(id, provider, status, provider_status, to_addr, body, channel, error_code, error_message, "
            "created_at, updated_at, snapshot, raw, first_seen, last_polled, last_changed, next_poll) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.executemany(
            "INSERT OR IGNORE INTO events(message_id, source, status, provider_status, ts, description) "
            "VALUES (?,?,?,?,?,?)",
            events,
        )
        db.executemany("INSERT OR IGNORE INTO campaign_messages VALUES (?, ?)", members)
    store.close()
    return ids
