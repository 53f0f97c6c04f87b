"""`sendwatch get ID`: one lookup for scripts, stored in history."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime, timezone

from tui.commands.output import describe, fail
from tui.config import Settings
from tui.errors import SendwatchError
from tui.ids import MessageRef, parse_ref
from tui.model import Message
from tui.polling.policy import PollPolicy
from tui.polling.record import record_lookup
from tui.providers.lookup import Providers
from tui.serialize import message_to_dict
from tui.store.history import HistoryStore


async def lookup(settings: Settings, ref: MessageRef, store: HistoryStore | None) -> Message:
    """Ask the provider that owns the ID (if history knows it), else every configured one."""
    if ref.provider is None and store is not None:
        known = store.provider_of(ref.id)
        if known is not None and known in settings.configured_providers():
            ref = MessageRef(ref.id, known)
    providers = Providers(settings)
    try:
        return await providers.fetch(ref)
    finally:
        await providers.aclose()


def run(settings: Settings, raw_id: str, provider: str | None, as_json: bool, raw: bool) -> int:
    try:
        ref = parse_ref(raw_id, provider)
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    store: HistoryStore | None = None
    try:
        store = HistoryStore(settings.history_path())
        for warning in store.warnings:
            print(f"sendwatch: warning: {warning}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the lookup is still worth doing without history
        print(f"sendwatch: warning: history unavailable ({exc.__class__.__name__}); the result is not saved", file=sys.stderr)
    try:
        msg = asyncio.run(lookup(settings, ref, store))
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    now = time.time()
    if store is not None:
        try:
            record_lookup(store, PollPolicy.from_settings(settings.polling), msg, now)
            stored = store.get(msg.id)
            if stored is not None:
                msg = stored.message  # includes transitions observed on earlier lookups
        finally:
            store.close()
    if as_json:
        print(json.dumps(message_to_dict(msg, datetime.fromtimestamp(now, tz=timezone.utc), raw=raw), indent=2))
    else:
        print(describe(msg))
    return 0
