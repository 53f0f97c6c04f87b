"""`sendwatch simulate`: run the provider simulator on its own, for trying the CLI, scripts or webhooks."""

from __future__ import annotations

import base64
import binascii
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from tui.simulator import SENDO_KEY, SENTDM_KEY
from tui.simulator.demo import start_demo
from tui.simulator.webhooks import (
    SIM_WEBHOOK_SECRET,
    SIM_WEBHOOK_TOKEN,
    WebhookConfig,
    WebhookSender,
)


def _webhook_config(
    url: str, secret: str | None, token: str | None
) -> tuple[WebhookConfig | None, str | None]:
    """(config, None) or (None, a problem to print); the secret and token never appear in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, f"--webhook-url must be an http(s) URL, got {url[:80]!r}"
    secret = secret or os.environ.get("SENT_DM_WEBHOOK_SECRET") or SIM_WEBHOOK_SECRET
    token = token or os.environ.get("SENDO_WEBHOOK_TOKEN") or SIM_WEBHOOK_TOKEN
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < 16:
        return (
            None,
            "the Sent.dm webhook secret must be whsec_ followed by base64 of at least 16 bytes",
        )
    return WebhookConfig(url, secret=secret, token=token), None


def run(
    port: int,
    seed: int,
    campaign: int,
    ids_file: Path | None,
    rate: float = 200.0,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_token: str | None = None,
    rich: bool = False,
) -> int:
    """Serve the demo world (`rich`: the richer campaign of tui/simulator/rich.py) until Ctrl+C."""
    config = None
    if webhook_url:
        config, problem = _webhook_config(webhook_url, webhook_secret, webhook_token)
        if config is None:
            print(f"sendwatch: {problem}")
            return 2
    try:
        sim, tracked = start_demo(
            seed=seed, campaign_size=campaign, port=port, sentdm_per_minute=rate, rich=rich
        )
    except OSError as exc:
        print(f"sendwatch: cannot listen on 127.0.0.1:{port}: {exc.strerror}")
        return 5
    if ids_file:
        ids_file.write_text("".join(f"{m.provider.value}:{m.id}\n" for m in tracked))
    url = sim.base_url
    print(
        f"Simulating Sent.dm v3 and Sendo v1 at {url} (seed {seed}); Ctrl+C stops it.\n", flush=True
    )
    print("Point sendwatch at it (these keys are the simulator's, not secrets):")
    print(f"  export SENT_DM_API_KEY={SENTDM_KEY}")
    print(f"  export SENDO_API_KEY={SENDO_KEY}")
    print(f"  export SENDWATCH_SENTDM_URL={url}")
    print(f"  export SENDWATCH_SENDO_URL={url}\n")
    sender = WebhookSender(sim.world, config, since=sim.world.now()).start() if config else None
    if sender and config:
        print(f"Posting every status change to {sender.url_for_display()}")
        if config.secret == SIM_WEBHOOK_SECRET:
            print(
                f"  signed with the simulator's own secret: export SENT_DM_WEBHOOK_SECRET={SIM_WEBHOOK_SECRET}"
            )
        if config.token == SIM_WEBHOOK_TOKEN:
            print(
                f"  Sendo token (the simulator's own):      export SENDO_WEBHOOK_TOKEN={SIM_WEBHOOK_TOKEN}"
            )
        print()
    print("Some message IDs:")
    for msg in tracked[-6:]:
        print(f"  {msg.provider.value}:{msg.id}")
    if ids_file:
        print(
            f"All {len(tracked)} IDs were written to {ids_file} (for `sendwatch watch`).",
            flush=True,
        )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if sender:
            sender.stop()
            ok = sum(1 for a in sender.attempts if a.status is not None and 200 <= a.status < 300)
            print(
                f"Webhooks: {ok} delivered, {len(sender.attempts) - ok} failed attempts, {len(sender.given_up)} given up."
            )
        sim.stop()
    return 0
