"""Differential testing: run one ELF on Spike and on the RTL with commit traces and compare them exactly
(`diff_elf`, `diff_random`), or run it on both in lock step, in this process, comparing each instruction as it
retires (`cosim_random`; edge_sdk/sim/cosim.py)."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from edge_sdk import sim
from edge_sdk.sim import randprog
from edge_sdk.sim.cosim import CosimResult, lockstep
from edge_sdk.sim.trace import Divergence, compare, read_trace
from edge_sdk.toolchain import compile_elf


@dataclass
class DiffResult:
    retired: int                  # records compared
    divergence: Divergence | None
    console_equal: bool
    exit_codes: tuple[int, int]

    @property
    def ok(self) -> bool:
        return self.divergence is None and self.console_equal and self.exit_codes[0] == self.exit_codes[1]


def _symbol(elf: Path, name: str) -> int:
    with elf.open("rb") as f:
        return ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name(name)[0]["st_value"]


def diff_elf(elf: str | Path, workdir: str | Path, max_cycles: int = 10_000_000) -> DiffResult:
    """Traces from the ELF's entry up to `_exit` (where the counters, which differ by design, are read)."""
    elf, workdir = Path(elf), Path(workdir)
    runs = {s: sim.run(elf, s, max_cycles=max_cycles, trace=workdir / f"{s}.trace") for s in ("spike", "rtl")}
    entry, stop = _symbol(elf, "_start"), _symbol(elf, "_exit")
    spike_trace = read_trace(runs["spike"].trace, start_pc=entry, stop_pc=stop)
    rtl_trace = read_trace(runs["rtl"].trace, start_pc=entry, stop_pc=stop)
    return DiffResult(len(spike_trace), compare(spike_trace, rtl_trace),
                      runs["spike"].console == runs["rtl"].console,
                      (runs["spike"].exit_code, runs["rtl"].exit_code))


def build_random(seed: int, n_blocks: int, workdir: Path) -> Path:
    """Generate and build one random program: `workdir`/rand_SEED.elf."""
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / f"rand_{seed}.S"
    src.write_text(randprog.generate(seed, n_blocks))
    return compile_elf([src], workdir / f"rand_{seed}.elf", isa="xdec")


def diff_random(seed: int, n_blocks: int = 60, workdir: str | Path | None = None) -> DiffResult:
    """Generate, build and compare one random program."""
    with tempfile.TemporaryDirectory(prefix="edge-sdk-diff-") as tmp:
        work = Path(workdir or tmp)
        return diff_elf(build_random(seed, n_blocks, work), work)


def cosim_random(seed: int, n_blocks: int = 60, workdir: str | Path | None = None,
                 max_cycles: int = 10_000_000) -> CosimResult:
    """Generate and build one random program and run it in lock step on the RTL and Spike to its exit (the
    runtime's exit report included: the counter values it prints are the RTL's on both)."""
    with tempfile.TemporaryDirectory(prefix="edge-sdk-cosim-") as tmp:
        return lockstep(build_random(seed, n_blocks, Path(workdir or tmp)), max_cycles=max_cycles)
