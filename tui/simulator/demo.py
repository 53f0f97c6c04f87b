"""The embedded demo: a simulator with a settled history, a live campaign and a few telling cases.

`sendwatch --demo` and the screenshot script both start from here, so what the README shows is
what a new user sees.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tui.config import Secret, Settings, load
from tui.model import Provider
from tui.simulator.server import SENDO_KEY, SENTDM_KEY, SimConfig, Simulator
from tui.simulator.world import SimMessage, SimWorld

HOSTILE_BODY = "Your code is [bold red]1234[/] \x1b[2J\x1b]52;c;cHduZWQ=\x07 [link=https://evil.example]click[/link]"


def build_world(seed: int = 7, campaign_size: int = 240, *, epoch: float | None = None) -> tuple[SimWorld, list[SimMessage]]:
    """A world with settled history (created hours ago) and a campaign that settles over ~2 minutes."""
    world = SimWorld(seed, epoch=epoch)
    if epoch is not None:
        world.freeze(at=0.0)  # a fixed epoch means a reproducible world: exact times, no drift
    tracked: list[SimMessage] = []
    for i in range(12):  # settled history: every step in the past
        provider = Provider.SENTDM if i % 2 == 0 else Provider.SENDO
        tracked.append(world.add_message(provider, created=-3600.0 * (i + 1), channel="whatsapp" if i == 4 else "sms"))
    tracked.append(world.add_message(
        Provider.SENTDM, [(0.0, "queued"), (1.5, "processed"), (4.0, "sent"), (44.0, "failed")],
        error=("30007", "Message filtered by carrier"), created=-7200.0))
    tracked.append(world.add_message(
        Provider.SENDO, [(0.0, "created"), (1.0, "queued"), (3.0, "sent"), (9.0, "delivered")],
        body=HOSTILE_BODY, created=-5400.0))
    tracked += world.add_campaign(campaign_size, name="spring-sale", spread=0.0)
    return world, tracked


def demo_settings(sim: Simulator, history_path: Path, base: Settings | None = None) -> Settings:
    """Settings that point both providers at the simulator, with its (public, fake) keys."""
    base = base or load(Path("/nonexistent/sendwatch-demo.toml"), env={})
    sentdm = replace(base.sentdm, api_key=Secret(SENTDM_KEY), base_url=sim.base_url, profile_id="", key_source="demo")
    sendo = replace(base.sendo, api_key=Secret(SENDO_KEY), base_url=sim.base_url, key_source="demo")
    return replace(base, sentdm=sentdm, sendo=sendo, history=replace(base.history, path=str(history_path)),
                   path=Path("(demo)"))


def start_demo(seed: int = 7, campaign_size: int = 240, port: int = 0,
               sentdm_per_minute: float = 200.0) -> tuple[Simulator, list[SimMessage]]:
    world, tracked = build_world(seed, campaign_size)
    config = SimConfig(error_rate=0.01, sentdm_per_minute=sentdm_per_minute, sentdm_burst=max(1, int(sentdm_per_minute / 4)))
    sim = Simulator(world, config).start(port)
    return sim, tracked

