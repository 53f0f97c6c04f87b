"""A loopback imitation of the Sent.dm v3 and Sendo v1 APIs, for tests, the demo and benchmarks.

Domain code: imports only `tui.model`, the standard library and httpx (webhook delivery).
"""

from tui.simulator.accounts import (
    ALLOWED_PROFILE,
    SENDO_KEY,
    SENTDM_KEY,
    SENTDM_PROFILE_KEY,
)
from tui.simulator.server import SimConfig, Simulator
from tui.simulator.world import SimMessage, SimWorld

__all__ = [
    "ALLOWED_PROFILE",
    "SENDO_KEY",
    "SENTDM_KEY",
    "SENTDM_PROFILE_KEY",
    "SimConfig",
    "SimMessage",
    "SimWorld",
    "Simulator",
]
