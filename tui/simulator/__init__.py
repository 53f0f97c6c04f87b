"""A loopback imitation of the Sent.dm v3 and Sendo v1 APIs, for tests, the demo and benchmarks."""

from tui.simulator.server import SENDO_KEY, SENTDM_KEY, SimConfig, Simulator
from tui.simulator.world import SimWorld

__all__ = ["SENDO_KEY", "SENTDM_KEY", "SimConfig", "SimWorld", "Simulator"]
