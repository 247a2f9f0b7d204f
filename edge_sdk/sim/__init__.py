"""Simulator back-ends behind one interface: `run(elf, sim="spike"|"rtl")` returns a `SimResult`; `RTLCore` is
the RTL in this process, to step, break and inspect (edge_sdk/sim/rtlcore.py); `lockstep` / `CoSim` run the RTL
and Spike side by side in this process, comparing every instruction as it retires (edge_sdk/sim/cosim.py)."""
from __future__ import annotations

from pathlib import Path

from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import memory_map
from edge_sdk.sim import rtl, spike
from edge_sdk.sim.cosim import CoSim, CosimResult, lockstep
from edge_sdk.sim.result import SimLimitError, SimResult, Trap
from edge_sdk.sim.rtlcore import RTLCore

BACKENDS = {"spike": spike.run, "rtl": rtl.run}

__all__ = ["BACKENDS", "CoSim", "CosimResult", "RTLCore", "SimLimitError", "SimResult", "Trap", "lockstep", "run"]


def run(elf: str | Path, sim: str = "spike", max_cycles: int | None = None, trace: str | Path | None = None,
        memory: str = "default", timeout_s: float | None = None, max_instructions: int | None = None) -> SimResult:
    """Run `elf` to its exit on `sim`; no limit unless one is given (the CLI gives defaults).

    `max_instructions` bounds the instructions executed, on both simulators alike. `max_cycles` bounds core
    cycles on the RTL; Spike models no cycles and stops after as many instructions (a looser bound: every
    instruction takes at least one cycle on the core). `timeout_s` bounds wall time.
    A run that reaches a limit raises SimLimitError (an EdgeSdkError) naming it."""
    if sim not in BACKENDS:
        raise EdgeSdkError(f"unknown simulator '{sim}'; choose one of: {', '.join(BACKENDS)}")
    for flag, value in (("--max-cycles", max_cycles), ("--max-instructions", max_instructions),
                        ("--timeout", timeout_s)):
        if value is not None and not value > 0:
            raise EdgeSdkError(f"{flag} must be a positive number, got {value}")
    return BACKENDS[sim](elf, memory_map(memory), max_cycles=max_cycles, trace=trace, timeout_s=timeout_s,
                         max_instructions=max_instructions)
