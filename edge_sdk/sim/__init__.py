"""Simulator back-ends behind one interface: `run(elf, sim="spike"|"rtl")` returns a `SimResult`."""
from __future__ import annotations

from pathlib import Path

from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import memory_map
from edge_sdk.sim import rtl, spike
from edge_sdk.sim.result import SimResult, Trap

BACKENDS = {"spike": spike.run, "rtl": rtl.run}

__all__ = ["BACKENDS", "SimResult", "Trap", "run"]


def run(elf: str | Path, sim: str = "spike", max_cycles: int | None = None, trace: str | Path | None = None,
        memory: str = "default", timeout_s: float | None = None) -> SimResult:
    """Run `elf` to its exit on `sim`. `max_cycles` bounds cycles on the RTL and instructions on Spike."""
    if sim not in BACKENDS:
        raise EdgeSdkError(f"unknown simulator '{sim}'; choose one of: {', '.join(BACKENDS)}")
    if max_cycles is not None and max_cycles <= 0:
        raise EdgeSdkError(f"--max-cycles must be a positive number, got {max_cycles}")
    return BACKENDS[sim](elf, memory_map(memory), max_cycles=max_cycles, trace=trace, timeout_s=timeout_s)
