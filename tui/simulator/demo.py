"""The embedded demo: a simulator with a settled history, a live campaign and a few telling cases.

`sendwatch --demo` and the screenshot script both start from here, so what the README shows is
what a new user sees.
"""

from __future__ import annotations

from typing import Any

from tui.model import Provider
from tui.simulator.rich import add_rich_campaign
from tui.simulator.server import SimConfig, Simulator
from tui.simulator.world import SimMessage, SimWorld

HOSTILE_BODY = "Your code is [bold red]1234[/] \x1b[2J\x1b]52;c;cHduZWQ=\x07 [link=https://evil.example]click[/link]"


# The telling cases: every status and failure detail both providers document (README screenshots show them).
_TELLING: list[tuple[Provider, list[tuple[float, str]], dict[str, Any]]] = [
    (
        Provider.SENTDM,
        [(0, "QUEUED"), (0.8, "PROCESSED"), (1.6, "ROUTED"), (4, "SENT"), (11, "DELIVERED")],
        {},
    ),
    (
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "PROCESSED"), (3, "SENT"), (6, "DELIVERED"), (95, "READ")],
        dict(
            channel="whatsapp",
            header="Order update",
            footer="Reply STOP to opt out",
            header_media={"type": "image", "url": "https://cdn.example.com/orders/banner.jpg"},
            buttons=[
                {
                    "type": "QUICK_REPLY",
                    "text": "Track order",
                    "value": None,
                    "postbackData": "track_order",
                },
                {
                    "type": "URL",
                    "text": "Open the shop",
                    "value": "https://shop.example.com/o/48213",
                    "postbackData": None,
                },
            ],
        ),
    ),
    (
        Provider.SENTDM,
        [(0, "QUEUED"), (0.4, "BLOCKED")],
        dict(error=("BUSINESS_003", "Insufficient balance")),
    ),
    (
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "PROCESSED"), (2.5, "FILTERED")],
        dict(error=("DELIVERY_007", "The carrier filtered the message as unwanted content")),
    ),
    (
        Provider.SENTDM,
        [(0, "QUEUED"), (0.3, "SCHEDULED"), (1800, "CANCELLED")],
        dict(scheduled_at_offset=3600.0),
    ),
    (
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "PROCESSED"), (5, "SENT"), (30, "FAILED")],
        dict(
            error=("DELIVERY_003", "The recipient is not registered on this channel"),
            legacy_reason=True,
        ),
    ),
    (
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "PROCESSED"), (4, "SENT"), (70, "FAILED")],
        dict(
            error=("DELIVERY_007", "The carrier reported the handset as unreachable"),
            legacy_reason=True,
        ),
    ),
    (
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "ROUTED"), (5, "SENT"), (14, "DELIVERED")],
        dict(
            channel="mms",
            subject="Your spring lookbook",
            media=[
                {
                    "url": "https://cdn.example.com/mms/lookbook.jpg",
                    "mimeType": "image/jpeg",
                    "mediaType": "image",
                    "sizeBytes": 48213,
                    "sourceHashSha256": None,
                }
            ],
        ),
    ),
    (Provider.SENDO, [(0, "CREATED"), (1, "QUEUED"), (3, "SENT"), (9, "DELIVERED")], {}),
    (
        Provider.SENDO,
        [(0, "CREATED"), (1, "QUEUED"), (3, "SENT"), (9, "DELIVERED"), (140, "READ")],
        dict(channel="mms", media=[{"url": "https://cdn.example.com/spring-sale.jpg"}]),
    ),
    (Provider.SENDO, [(0, "CREATED"), (1, "QUEUED"), (3, "SENT"), (420, "EXPIRED")], {}),
    (
        Provider.SENDO,
        [(0, "CREATED"), (1, "QUEUED"), (3, "SENT"), (25, "FAILED")],
        dict(error=(1009, "Unreachable handset")),
    ),
    (
        Provider.SENDO,
        [(0, "CREATED"), (1, "QUEUED"), (2, "SENT"), (6, "FAILED")],
        dict(error=("1360", "Destination is a landline")),
    ),
    (Provider.SENDO, [(0, "CREATED"), (1, "QUEUED"), (4, "SENT")], dict(channel="mms")),
    (
        Provider.SENDO,
        [(0, "CREATED"), (0.5, "SCHEDULED"), (900, "QUEUED"), (902, "SENT"), (911, "DELIVERED")],
        dict(scheduled_at_offset=900.0),
    ),
]


def build_world(
    seed: int = 7, campaign_size: int = 240, *, epoch: float | None = None, rich: bool = True
) -> tuple[SimWorld, list[SimMessage]]:
    """A world with settled history (created hours ago), the telling cases and a live campaign.

    Deterministic for a seed and epoch: screenshots and snapshot tests depend on it. `rich` (the
    demo's default, so its summary has something to draw) makes the campaign the richer one of
    rich.py (countries, channels, prices, hours of history, one dominant failure cause); off,
    the plain campaign of the world's own stream. Everything before the campaign is the same.
    """
    world = SimWorld(seed, epoch=epoch)
    if epoch is not None:
        world.freeze(at=0.0)  # a fixed epoch means a reproducible world: exact times, no drift
    tracked: list[SimMessage] = []
    for i in range(8):  # settled history: every step in the past
        provider = Provider.SENTDM if i % 2 == 0 else Provider.SENDO
        tracked.append(
            world.add_message(
                provider, created=-3600.0 * (i + 1), channel="whatsapp" if i == 4 else "sms"
            )
        )
    for i, (provider, steps, options) in enumerate(_TELLING):
        options = dict(options)
        created = (
            -86400.0 * (3 + i % 2) if options.get("legacy_reason") else -1800.0 * (i + 1) - 600.0
        )
        if "scheduled_at_offset" in options:
            options["scheduled_at"] = created + options.pop("scheduled_at_offset")
        tracked.append(world.add_message(provider, steps, created=created, **options))
    tracked.append(
        world.add_message(  # in flight: ROUTED for ten minutes, then it goes on
            Provider.SENTDM,
            [(0, "QUEUED"), (1, "PROCESSED"), (4, "ROUTED"), (600, "SENT"), (640, "DELIVERED")],
            created=-20.0,
        )
    )
    tracked.append(
        world.add_message(  # hostile text: shown literally, never interpreted
            Provider.SENDO,
            [(0, "CREATED"), (1, "QUEUED"), (3, "SENT"), (9, "DELIVERED")],
            body=HOSTILE_BODY,
            created=-5400.0,
        )
    )
    if rich:
        tracked += add_rich_campaign(world, campaign_size, name="spring-sale")
    else:
        tracked += world.add_campaign(campaign_size, name="spring-sale", spread=0.0)
    return world, tracked


def start_demo(
    seed: int = 7,
    campaign_size: int = 240,
    port: int = 0,
    sentdm_per_minute: float = 200.0,
    *,
    rich: bool = True,
) -> tuple[Simulator, list[SimMessage]]:
    world, tracked = build_world(seed, campaign_size, rich=rich)
    config = SimConfig(
        error_rate=0.01,
        sentdm_per_minute=sentdm_per_minute,
        sentdm_burst=max(1, int(sentdm_per_minute / 4)),
    )
    sim = Simulator(world, config).start(port)
    return sim, tracked
