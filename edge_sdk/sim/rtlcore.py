"""The RTL core in this process: step, break, inspect and run the Verilated edge SoC from Python.

    core = RTLCore("kernel.elf")                 # builds (or reuses) the model, loads the ELF, stops before
    core.run_until(pc=core.symbol("inner_loop")) #   the first instruction
    core.regs["a0"], core.mem.read(addr, 64), core.counters["mcycle"]
    core.step()                                  # one retired instruction, with its cycle cost
    core.step_cycles(100)
    result = core.run()                          # to the exit: a SimResult, as sim.run(elf, "rtl") returns

The model is the shared library of rtl.core_library: the same C++ core driver (hw/sim/edge_core_driver.h)
the subprocess harness links, called through its small C API with ctypes. A run stops between two clock
edges. Stopped before an instruction (`pc` is its address: after a step, at a breakpoint, at the start), the
registers, memory and counters show the state before it; stopped elsewhere by `step_cycles` (`pc` is None),
the state after every retired instruction. `mcycle` and the hpm counters are the core's own, which the
runtime stops while it waits for the host; `cycles` and `instret` count everything from reset.
"""
from __future__ import annotations

import ctypes
import difflib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from edge_sdk.errors import EdgeSdkError, positive_int
from edge_sdk.platform import memory_map
from edge_sdk.sim import rtl
from edge_sdk.sim.disasm import ABI_NAMES, Disassembly
from edge_sdk.sim.native import NativeHandle
from edge_sdk.sim.result import (EVENT_NAMES, SimLimitError, SimResult, check_elf, check_trace_path,
                                 decode_console, extensions_of, limit_message)

# edge::Stop (hw/sim/edge_core_driver.h)
EXIT, CYCLE_LIMIT, INSTRET_LIMIT, PAUSE, BREAKPOINT, HOOK = range(6)
NO_PAUSE = (1 << 64) - 1
# Cycles per call into the model: between calls Ctrl-C and a timeout take effect (about half a second).
CHUNK_CYCLES = 1 << 22
IMEM, DMEM = 0, 1
COUNTERS = {"mcycle": 0, "minstret": 2, **{f"mhpmcounter{i}": i for i in range(3, 3 + len(EVENT_NAMES))}}
COUNTER_ALIASES = {name: f"mhpmcounter{3 + k}" for k, name in enumerate(EVENT_NAMES)}


class _Status(ctypes.Structure):
    """edge_core_status (hw/sim/edge_core_capi.cpp)."""
    _fields_ = [("cycles", ctypes.c_uint64), ("instret", ctypes.c_uint64),
                ("exited", ctypes.c_int32), ("exit_code", ctypes.c_int32),
                ("pending_valid", ctypes.c_int32), ("pending_compressed", ctypes.c_int32),
                ("pending_pc", ctypes.c_uint32), ("pending_insn", ctypes.c_uint32),
                ("last_pc", ctypes.c_uint32), ("last_insn", ctypes.c_uint32),
                ("last_compressed", ctypes.c_int32), ("last_valid", ctypes.c_int32),
                ("last_cycle", ctypes.c_uint64), ("last_cost", ctypes.c_uint64)]


class RetireRecord(ctypes.Structure):
    """edge::RetireRecord (hw/sim/edge_core_driver.h): what the commit trace logs of a retiring instruction."""
    _fields_ = [("pc", ctypes.c_uint32), ("insn", ctypes.c_uint32), ("compressed", ctypes.c_int32),
                ("rd_we", ctypes.c_int32), ("rd", ctypes.c_uint32), ("rd_wdata", ctypes.c_uint32),
                ("base_we", ctypes.c_int32), ("base", ctypes.c_uint32), ("base_wdata", ctypes.c_uint32),
                ("csr_we", ctypes.c_int32), ("csr_addr", ctypes.c_uint32), ("csr_wdata", ctypes.c_uint32),
                ("mstatush_we", ctypes.c_int32), ("mem", ctypes.c_int32), ("mem_we", ctypes.c_int32),
                ("mem_addr", ctypes.c_uint32), ("mem_size", ctypes.c_uint32), ("mem_wdata", ctypes.c_uint32),
                ("cycle", ctypes.c_uint64), ("instret", ctypes.c_uint64)]


_LIBRARIES: dict[Path, ctypes.CDLL] = {}


def _library(path: Path) -> ctypes.CDLL:
    """The core library at `path`, loaded once per process with the C API's signatures declared."""
    if path not in _LIBRARIES:
        lib = ctypes.CDLL(str(path))
        p, u8p, u32, u64, size, cp = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_uint32,
                                      ctypes.c_uint64, ctypes.c_size_t, ctypes.c_char_p)
        for name, res, args in (
                ("edge_core_new", p, [cp, cp, cp, size]),
                ("edge_core_free", None, [p]),
                ("edge_core_run", ctypes.c_int, [p, u64, u64, u64, ctypes.c_int, ctypes.c_int, cp, size]),
                ("edge_core_run_hooked", ctypes.c_int, [p, u64, u64, ctypes.c_int, p, p, cp, size]),
                ("edge_core_pending_record", ctypes.c_int, [p, ctypes.POINTER(RetireRecord)]),
                ("edge_core_set_breakpoints", None, [p, ctypes.POINTER(u32), size]),
                ("edge_core_get_status", None, [p, ctypes.POINTER(_Status)]),
                ("edge_core_reg", u32, [p, ctypes.c_uint]),
                ("edge_core_counter", u64, [p, ctypes.c_uint]),
                ("edge_core_read", None, [p, ctypes.c_int, u32, u8p, size]),
                ("edge_core_write", None, [p, ctypes.c_int, u32, u8p, size]),
                ("edge_core_console_size", size, [p]),
                ("edge_core_take_console", size, [p, cp, size])):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        _LIBRARIES[path] = lib
    return _LIBRARIES[path]


class RegisterError(EdgeSdkError, KeyError):
    """An unknown register name (a KeyError too, so `"a0" in core.regs` and `.get` work)."""

    def __str__(self) -> str:
        return str(self.args[0])


def register_index(name: str | int) -> int:
    """x0..x31 by ABI name (`a0`, `fp`), as `x10`, or as a number."""
    if isinstance(name, int) and not isinstance(name, bool) and 0 <= name < 32:
        return name
    if isinstance(name, str):
        if name in ABI_NAMES:
            return ABI_NAMES.index(name)
        if name == "fp":
            return 8
        if name[:1] == "x" and name[1:].isdigit() and int(name[1:]) < 32:
            return int(name[1:])
    raise RegisterError(f"no register {name!r}: use an ABI name (zero, ra, sp, ..., a0..a7, s0..s11, t0..t6, fp) "
                        "or x0..x31")


@dataclass(frozen=True)
class Retired:
    """An instruction that retired: its address, bits (16 for a compressed one), the cycles since the
    instruction before it retired (stalls, a branch's refill and a division's latency show here) and the cycle
    it retired in (from reset)."""
    pc: int
    insn: int
    compressed: bool
    cycles: int
    retired_at: int

    def __str__(self) -> str:
        bits = f"0x{self.insn:04x}" if self.compressed else f"0x{self.insn:08x}"
        return f"0x{self.pc:08x} ({bits}), {self.cycles} cycle{'s' if self.cycles != 1 else ''}"


@dataclass(frozen=True)
class Stop:
    """Where run_until stopped: "breakpoint" (before the instruction at `pc`) or "exit"."""
    reason: str
    pc: int | None


class _View(Mapping):
    """A stopped core's named values (`names`, in order), read one at a time by `__getitem__`."""
    names: tuple[str, ...] = ()

    def __init__(self, core: RTLCore):
        self._core = core

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


class Registers(_View):
    """x0..x31 of a stopped core, by ABI name (`regs["a0"]`), `xN` or number; iterates over the ABI names."""
    names = ABI_NAMES

    def __getitem__(self, name: str | int) -> int:
        return self._core._call("edge_core_reg", register_index(name))

    def __str__(self) -> str:
        cells = [f"{f'x{i}/{n}':>8} 0x{self[i]:08x}" for i, n in enumerate(ABI_NAMES)]
        return "\n".join("  ".join(cells[r::8]) for r in range(8))


class Counters(_View):
    """mcycle, minstret and mhpmcounter3..8 (also by event name: `counters["load_use_stall"]`), 64 bits."""
    names = tuple(COUNTERS)

    def __getitem__(self, name: str) -> int:
        index = COUNTERS.get(COUNTER_ALIASES.get(name, name))
        if index is None:
            raise RegisterError(f"no counter {name!r}: choose one of {', '.join(COUNTERS)} or an event name "
                                f"({', '.join(EVENT_NAMES)})")
        return self._core._call("edge_core_counter", index)

    def __str__(self) -> str:
        events = {v: k for k, v in COUNTER_ALIASES.items()}
        return "\n".join(f"{name:>14} {self[name]:>14,}" + (f"  ({events[name]})" if name in events else "")
                         for name in COUNTERS)


class Memory:
    """The instruction and data memories of a stopped core, by address or symbol. Reads and writes must lie
    inside one of them; a write to IMEM changes instructions fetched after it."""

    def __init__(self, core: RTLCore):
        self._core = core

    def _region(self, addr: int | str, n: int) -> tuple[int, int]:
        addr = self._core.address(addr)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise EdgeSdkError(f"a memory access needs a byte count >= 0, got {n!r}")
        m = self._core.memory
        for which, base, size in ((IMEM, m.imem_base, m.imem_bytes), (DMEM, m.dmem_base, m.dmem_bytes)):
            if base <= addr and addr + n <= base + size:
                return which, addr
        raise EdgeSdkError(
            f"0x{addr:08x}+{n} is outside the core's memories (IMEM 0x{m.imem_base:08x}.."
            f"0x{m.imem_base + m.imem_bytes:08x}, DMEM 0x{m.dmem_base:08x}..0x{m.dmem_base + m.dmem_bytes:08x} in "
            f"memory configuration '{m.name}'); an access must lie inside one of them")

    def read(self, addr: int | str, n: int) -> bytes:
        which, addr = self._region(addr, n)
        buf = (ctypes.c_uint8 * n)()
        self._core._call("edge_core_read", which, addr, buf, n)
        return bytes(buf)

    def write(self, addr: int | str, data: bytes) -> None:
        data = bytes(data)
        which, addr = self._region(addr, len(data))
        self._core._call("edge_core_write", which, addr, (ctypes.c_uint8 * len(data)).from_buffer_copy(data),
                         len(data))


class RTLCore(NativeHandle):
    """The Verilated edge SoC in this process, loaded with `elf` and stopped before its first instruction.

    `memory` is the memory configuration (edge_sdk/platform.py); `trace` a file for the commit trace (Spike's
    --log-commits format, as `sim.run(..., trace=)` writes). Close it (or use `with`) to free the model (its
    trace file is complete from then on)."""
    _free_fn, _status_fn, _status_type = "edge_core_free", "edge_core_get_status", _Status
    _closed_message = "the RTL core of '{elf}' is closed: create a new RTLCore"

    def __init__(self, elf: str | Path, memory: str = "default", trace: str | Path | None = None):
        self.elf = Path(elf)
        self.memory = memory_map(memory)
        syms = check_elf(self.elf, self.memory)
        self.trace = check_trace_path(trace) if trace is not None else None
        self._lib = _library(rtl.core_library(self.memory, xdec="xdec" in extensions_of(syms)))
        err = ctypes.create_string_buffer(512)
        handle = self._lib.edge_core_new(str(self.elf).encode(), str(self.trace or "").encode(), err, len(err))
        if not handle:
            raise EdgeSdkError(f"the RTL core could not load '{self.elf}': {err.value.decode(errors='replace')}")
        self._handle = handle
        self._output = bytearray()
        self._breakpoints: set[int] = set()
        self._symbols: dict[str, int] | None = None
        self._disassembly = Disassembly(self.elf)
        self._sim_seconds = 0.0
        self._failure: str | None = None
        self.regs = Registers(self)
        self.mem = Memory(self)
        self.counters = Counters(self)
        self._advance(pause_instret=0, step_over=False)

    # ------------------------------------------------------------------ state
    @property
    def pc(self) -> int | None:
        """The address of the instruction the core is stopped before, or None (between instructions after
        step_cycles, or after the exit)."""
        s = self._status()
        return s.pending_pc if s.pending_valid else None

    @property
    def cycles(self) -> int:
        """Cycles simulated since reset."""
        return self._status().cycles

    @property
    def instret(self) -> int:
        """Instructions retired since reset."""
        return self._status().instret

    @property
    def exited(self) -> bool:
        return bool(self._status().exited)

    @property
    def exit_code(self) -> int | None:
        s = self._status()
        return s.exit_code if s.exited else None

    @property
    def last_retired(self) -> Retired | None:
        s = self._status()
        return Retired(s.last_pc, s.last_insn, bool(s.last_compressed), s.last_cost, s.last_cycle) \
            if s.last_valid else None

    @property
    def pending_record(self) -> RetireRecord | None:
        """What the instruction the core is stopped before will write (its retire ports: registers, CSR,
        memory access), or None between instructions."""
        rec = RetireRecord()
        return rec if self._call("edge_core_pending_record", ctypes.byref(rec)) else None

    @property
    def console(self) -> str:
        """Everything the program has written so far (its runtime's reports included)."""
        n = self._call("edge_core_console_size")
        if n:
            buf = ctypes.create_string_buffer(n)
            got = self._call("edge_core_take_console", buf, n)
            self._output += buf.raw[:got]
        return decode_console(bytes(self._output))

    # ------------------------------------------------------------------ symbols and code
    def symbols(self) -> dict[str, int]:
        """The ELF's named functions and objects: name -> address."""
        if self._symbols is None:
            with self.elf.open("rb") as f:
                symtab = ELFFile(f).get_section_by_name(".symtab")
                found = {}
                for sym in symtab.iter_symbols() if symtab else ():
                    kind = sym["st_info"]["type"]
                    # Not the assembler's local labels (.L) and mapping symbols ($x, $xrv32i2p1...).
                    if sym.name and not sym.name.startswith((".L", "$")) and \
                            kind in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE"):
                        if sym.name not in found or sym["st_info"]["bind"] == "STB_GLOBAL":
                            found[sym.name] = sym["st_value"]
            self._symbols = found
        return self._symbols

    def symbol(self, name: str) -> int:
        """The address of the ELF symbol `name`."""
        syms = self.symbols()
        if name not in syms:
            close = difflib.get_close_matches(name, syms, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise EdgeSdkError(f"'{self.elf}' has no symbol '{name}'{hint}")
        return syms[name]

    def where(self, addr: int) -> str:
        """`addr` as `symbol+offset` (the nearest symbol at or below it in the same memory), or ''."""
        best = None
        for name, value in self.symbols().items():
            if value <= addr and addr - value < 1 << 20 and (best is None or value > best[1]):
                best = (name, value)
        if best is None:
            return ""
        return best[0] if best[1] == addr else f"{best[0]}+0x{addr - best[1]:x}"

    def disassemble(self, pc: int | None = None) -> str:
        """The instruction at `pc` (default: the one the core is stopped before), from the toolchain's objdump."""
        pc = self.pc if pc is None else self.address(pc)
        if pc is None:
            return "(between instructions)"
        return self._disassembly.at(pc)

    def address(self, where: int | str) -> int:
        """`where` as an address: a symbol's value, or a 32-bit number as it is."""
        if isinstance(where, str):
            return self.symbol(where)
        if isinstance(where, bool) or not isinstance(where, int) or not 0 <= where < 1 << 32:
            raise EdgeSdkError(f"an address is a symbol name or a 32-bit number, got {where!r}")
        return where

    def code_address(self, where: int | str) -> int:
        """`where` (an address or symbol) checked to be an instruction address in IMEM."""
        addr = self.address(where)
        m = self.memory
        if not m.imem_base <= addr < m.imem_base + m.imem_bytes or addr % 2:
            raise EdgeSdkError(f"0x{addr:08x} is not an instruction address: code lies in IMEM "
                               f"(0x{m.imem_base:08x}..0x{m.imem_base + m.imem_bytes:08x}, memory configuration "
                               f"'{m.name}') at even addresses")
        return addr

    # ------------------------------------------------------------------ breakpoints
    @property
    def breakpoints(self) -> tuple[int, ...]:
        return tuple(sorted(self._breakpoints))

    def add_breakpoint(self, where: int | str) -> int:
        """Stop run_until before the instruction at `where` (an address or symbol); returns the address."""
        addr = self.code_address(where)
        self._breakpoints.add(addr)
        return addr

    def remove_breakpoint(self, where: int | str) -> None:
        addr = self.address(where)
        if addr not in self._breakpoints:
            raise EdgeSdkError(f"no breakpoint at 0x{addr:08x}")
        self._breakpoints.remove(addr)

    # ------------------------------------------------------------------ running
    def _check_running(self) -> None:
        if self._failure is not None:
            raise EdgeSdkError(f"the RTL core stopped with an error: {self._failure}")
        s = self._status()
        if s.exited:
            raise EdgeSdkError(f"'{self.elf}' has exited (code {s.exit_code}) after {s.instret} instructions: "
                               "create a new RTLCore to run it again")

    def _advance(self, cycles: int | None = None, instret: int | None = None, pause_instret: int = NO_PAUSE,
                 breakpoints: tuple[int, ...] | None = None, step_over: bool = True,
                 timeout_s: float | None = None, hook: tuple[int, int] | None = None) -> int:
        """Run the model (in chunks of CHUNK_CYCLES) to an edge::Stop; `cycles` and `instret` are limits from
        reset, `pause_instret` the retired count to stop before the next instruction at, `breakpoints` the
        addresses to stop before. `hook` is a retire hook, (address of an edge::RetireHook, its context), which
        replaces the pause and the breakpoints (the lock-step co-simulation's, edge_sdk/sim/cosim.py). Returns
        the stop (a limit's too: the callers say what it means)."""
        self._check_running()
        if breakpoints is not None:
            pcs = (ctypes.c_uint32 * len(breakpoints))(*breakpoints)
            self._call("edge_core_set_breakpoints", pcs, len(breakpoints))
        err = ctypes.create_string_buffer(512)
        start = time.perf_counter()
        try:
            while True:
                now = self._status().cycles
                chunk_end = now + CHUNK_CYCLES if cycles is None else min(cycles, now + CHUNK_CYCLES)
                if hook is not None:
                    stop = self._call("edge_core_run_hooked", chunk_end, instret or 0, step_over, hook[0], hook[1],
                                      err, len(err))
                else:
                    stop = self._call("edge_core_run", chunk_end, instret or 0, pause_instret,
                                      breakpoints is not None, step_over, err, len(err))
                step_over = False
                if stop < 0:
                    self._failure = err.value.decode(errors="replace")
                    raise EdgeSdkError(f"the RTL core could not run '{self.elf}': {self._failure}")
                if stop != CYCLE_LIMIT or chunk_end == cycles:
                    return stop
                if timeout_s is not None and time.perf_counter() - start > timeout_s:
                    raise SimLimitError(limit_message(self.elf, f"{timeout_s:g} s of wall time on the RTL",
                                                      "timeout"), "timeout")
        finally:
            self._sim_seconds += time.perf_counter() - start

    def step(self, n: int = 1) -> Retired:
        """Retire `n` instructions (breakpoints do not stop it) and stop before the next; returns the last one
        retired. Stops early at the program's exit."""
        n = positive_int("the number of instructions to step", n)
        self._advance(pause_instret=self.instret + n)
        return self.last_retired

    def step_cycles(self, n: int) -> int:
        """Simulate `n` clock cycles; returns how many instructions retired in them. Stops early at the exit."""
        n = positive_int("the number of cycles to step", n)
        before = self._status()
        self._advance(cycles=before.cycles + n)
        return self.instret - before.instret

    def run_until(self, pc: int | str | None = None, max_cycles: int | None = None,
                  max_instructions: int | None = None) -> Stop:
        """Run (at least one instruction) until the core is about to execute the instruction at `pc` (an
        address or symbol) or at a breakpoint; without `pc`, to a breakpoint or the exit. With `pc`, reaching
        the exit first is an error. `max_cycles` and `max_instructions` are limits from reset (SimLimitError)."""
        target = None if pc is None else self.code_address(pc)
        stops = self._breakpoints | ({target} if target is not None else set())
        stop = self._advance(cycles=max_cycles, instret=max_instructions, breakpoints=tuple(sorted(stops)))
        if stop in (CYCLE_LIMIT, INSTRET_LIMIT):
            raise rtl.limit_error(self.elf, "cycles" if stop == CYCLE_LIMIT else "instructions", max_cycles,
                                  max_instructions)
        if stop == EXIT:
            if target is not None:
                raise EdgeSdkError(f"'{self.elf}' exited (code {self.exit_code}) before reaching 0x{target:08x} "
                                   f"{self.where(target)}".rstrip())
            return Stop("exit", None)
        return Stop("breakpoint", self.pc)

    def run(self, max_cycles: int | None = None, max_instructions: int | None = None,
            timeout_s: float | None = None) -> SimResult:
        """Run to the exit (breakpoints do not stop it) and return the whole run's SimResult, as
        `sim.run(elf, "rtl")` does; `sim_seconds` is the wall time spent simulating in this core. The limits
        count from reset; reaching one raises SimLimitError."""
        if not self.exited:
            stop = self._advance(cycles=max_cycles, instret=max_instructions, timeout_s=timeout_s)
            if stop != EXIT:
                raise rtl.limit_error(self.elf, "cycles" if stop == CYCLE_LIMIT else "instructions", max_cycles,
                                      max_instructions)
        s = self._status()
        return rtl.result(self.elf, s.exit_code, self.console, s.cycles, self._sim_seconds, self.trace)
