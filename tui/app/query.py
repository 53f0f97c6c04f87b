"""What the find bar's text means: filter tokens, free text, or a message ID to look up."""

from __future__ import annotations

from dataclasses import dataclass, replace

from tui.errors import InvalidIdError
from tui.ids import MessageRef, parse_ref
from tui.model import Status, fold_status
from tui.present import unknown_status
from tui.store import ListFilter

ALIASES = {"code": "error", "err": "error", "p": "provider", "s": "status"}


@dataclass(frozen=True)
class Query:
    filter: ListFilter
    ref: MessageRef | None  # set when the whole text is a message ID (Enter looks it up)
    problem: str | None = None  # a token we could not use, said back to the user


def parse_query(text: str, base: ListFilter | None = None) -> Query:
    """`status:failed provider:sendo error:30007 campaign:spring account:eu channel:sms country:US
    free text`, or `[sentdm:|sendo:]ID`."""
    base = base or ListFilter()
    stripped = text.strip()
    ref = None
    try:
        ref = parse_ref(stripped) if stripped else None
    except InvalidIdError:
        ref = None
    if ref is not None:
        return Query(
            replace(
                base,
                text=ref.id,
                statuses=frozenset(),
                provider=ref.provider.value if ref.provider else base.provider,
            ),
            ref,
        )
    words, statuses, problem = [], set(), None
    provider, error, campaign = base.provider, base.error_code, base.campaign
    plain = {"account": base.account, "channel": base.channel, "country": base.country}
    for token in stripped.split():
        key, sep, value = token.partition(":")
        key = ALIASES.get(key.lower(), key.lower())
        if not sep or not value or key not in ("status", "provider", "error", "campaign", *plain):
            words.append(token)
            continue
        if key == "status":
            for part in value.lower().split(","):
                refused = unknown_status(part)
                if refused is None:
                    statuses.add(part if part in Status._value2member_map_ else fold_status(part))
                else:
                    problem = refused
        elif key == "provider":
            value = {"sent.dm": "sentdm", "sent": "sentdm"}.get(value.lower(), value.lower())
            if value in ("sentdm", "sendo"):
                provider = value
            else:
                problem = f"unknown provider {value!r} (sentdm or sendo)"
        elif key == "error":
            error = value
        elif key == "campaign":
            campaign = value
        elif key == "country" and (len(value) != 2 or not value.isalpha()):
            problem = f"unknown country {value!r} (a two-letter code, e.g. US)"
        elif key == "account":
            plain[key] = value.lower()  # configured names are lower-case (tui/config_accounts.py)
        else:
            plain[key] = value.upper() if key == "country" else value
    flt = ListFilter(
        " ".join(words),
        frozenset(statuses) or base.statuses,
        provider,
        campaign,
        error,
        account=plain["account"],
        channel=plain["channel"],
        country=plain["country"],
    )
    return Query(flt, None, problem)
