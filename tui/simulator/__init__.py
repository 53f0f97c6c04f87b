"""A loopback imitation of the Sent.dm v3 and Sendo v1 APIs, for tests, the demo and benchmarks.

Domain code: imports only `tui.model`, the standard library, httpx (webhook delivery) and
phonenumbers (the rich demo world's numbers).
"""

from tui.simulator.accounts import (
    ALLOWED_PROFILE,
    SECOND_PROFILE,
    SENDO_KEY,
    SENDO_KEY_2,
    SENTDM_KEY,
    SENTDM_PROFILE_KEY,
    SENTDM_USER_KEY,
)
from tui.simulator.server import SimConfig, Simulator
from tui.simulator.world import SimMessage, SimWorld

__all__ = [
    "ALLOWED_PROFILE",
    "SECOND_PROFILE",
    "SENDO_KEY",
    "SENDO_KEY_2",
    "SENTDM_KEY",
    "SENTDM_PROFILE_KEY",
    "SENTDM_USER_KEY",
    "SimConfig",
    "SimMessage",
    "SimWorld",
    "Simulator",
]
