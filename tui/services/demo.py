"""Settings for the embedded demo: both providers pointed at a running simulator.

Lives with the services, not in the simulator, because it builds the app's `Settings`: the
simulator is a test double of the providers and knows nothing of sendwatch's configuration.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tui.config import Secret, Settings, load
from tui.simulator import SENDO_KEY, SENTDM_KEY, Simulator


def demo_settings(sim: Simulator, history_path: Path, base: Settings | None = None) -> Settings:
    """Settings that point both providers at the simulator, with its (public, fake) keys."""
    base = base or load(Path("/nonexistent/sendwatch-demo.toml"), env={})
    sentdm = replace(
        base.sentdm,
        api_key=Secret(SENTDM_KEY),
        base_url=sim.base_url,
        profile_id="",
        key_source="demo",
    )
    sendo = replace(base.sendo, api_key=Secret(SENDO_KEY), base_url=sim.base_url, key_source="demo")
    return replace(
        base,
        sentdm=sentdm,
        sendo=sendo,
        history=replace(base.history, path=str(history_path)),
        path=Path("(demo)"),
    )
