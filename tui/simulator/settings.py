"""How a simulator behaves: rate limits, fault switches, webhook timing (`SimConfig`).

Its own module so the server, the handler and the webhook dispatcher can all read it without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.model import Provider


@dataclass
class SimConfig:
    sentdm_per_minute: float = 200.0
    sentdm_burst: int = 50
    sentdm_429_style: str = "envelope"  # "envelope" (BUSINESS_002) | "problem" (older problem+json)
    sendo_limit: int = 20  # requests per window (documented: 20 per second)
    sendo_window: float = 1.0  # seconds: 1.0 = per second (documented), 60.0 = per minute
    sendo_reset_unit: str = (
        "epoch"  # X-RateLimit-Reset: "epoch" s | "epoch_ms" | "delta" (from now)
    )
    sendo_retry_after: bool = False  # Sendo documents no Retry-After; on: test a client with it
    sendo_per_minute: float | None = None  # instead of the window: per minute with `sendo_burst`
    sendo_burst: int = 20
    send_seconds: float = 0.0  # how long a Sent.dm send takes (a concurrent duplicate meets a 409)
    error_rate: float = 0.0  # share of requests answered with a random 500
    latency: float = 0.0  # seconds added to every answer
    hang_seconds: float = 30.0  # how long the "hang" fault stalls
    faults: dict[Provider, str | None] = field(
        default_factory=dict
    )  # down|malformed|wrong_shape|hang|close
    fail_next: dict[Provider, int] = field(
        default_factory=dict
    )  # answer the next N requests with a 500
    # Registered webhooks (hooks.py, dispatch.py):
    webhook_timeout_scale: float = 1.0  # real seconds per unit of a webhook's timeout_seconds
    webhook_log_ids_match: bool = True  # a delivery-log row's id is its X-Webhook-Event-ID
    webhook_interval: float = 0.02  # real seconds between the dispatcher's looks at the world
