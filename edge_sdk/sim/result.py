"""What every simulator back-end returns, and the checks and parsing both back-ends share."""
from __future__ import annotations

import re
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import EXT_SYMBOL_PREFIX, MemoryMap
from riscv_ext.spec import EXTENSIONS

TRAP_CAUSES = {0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
               3: "breakpoint", 4: "load address misaligned", 5: "load access fault",
               6: "store address misaligned", 7: "store access fault", 11: "environment call",
               0x8000_0003: "machine software interrupt without a handler",
               0x8000_0007: "machine timer interrupt without a handler",
               0x8000_000B: "machine external interrupt without a handler"}

_EXIT_RE = re.compile(r"\n?@edge-sdk-exit((?: \w+=\d+)+)\n")
_TRAP_RE = re.compile(r"\n?@edge-sdk-trap mcause=(\d+) mepc=0x([0-9a-f]+) mtval=0x([0-9a-f]+)"
                      r"(?: sp=0x([0-9a-f]+) stack=0x([0-9a-f]+)-0x([0-9a-f]+))?\n")


class SimLimitError(EdgeSdkError):
    """The program did not exit within a limit of the run; `limit` names the option: "max-instructions",
    "max-cycles" or "timeout" (wall seconds)."""

    def __init__(self, message: str, limit: str):
        super().__init__(message)
        self.limit = limit


def limit_message(elf: Path, within: str, limit: str) -> str:
    return (f"'{elf}' did not exit within {within} (--{limit}); raise the limit with --{limit} or check the "
            "program for an endless loop")


def decode_console(data: bytes) -> str:
    """The simulator's output as text: bytes that are not UTF-8 (a `printf("\\xff")`, the garbage of a broken
    program) are kept, shown as escapes (`\\xff`), instead of failing the run."""
    return data.decode("utf-8", errors="backslashreplace")


def check_trace_path(trace: str | Path) -> Path:
    """The path a commit trace may be written to, or an EdgeSdkError that says why it cannot."""
    trace = Path(trace)
    if trace.is_dir():
        raise EdgeSdkError(f"--trace '{trace}' is a directory; give a file name, e.g. '{trace / 'run.trace'}'")
    if not trace.parent.is_dir():
        raise EdgeSdkError(f"cannot write the trace to '{trace}': the directory '{trace.parent}' does not exist "
                           "(create it first)")
    existed = trace.exists()
    try:
        with open(trace, "a"):
            pass
    except OSError as err:
        raise EdgeSdkError(f"cannot write the trace to '{trace}': {err.strerror}") from None
    if not existed:
        trace.unlink()   # the simulator writes it; nothing is left behind if the run fails before that
    return trace


@dataclass
class Trap:
    mcause: int
    mepc: int
    mtval: int
    sp: int | None = None             # the program's stack pointer when it trapped
    stack_bottom: int | None = None   # its stack region [stack_bottom, stack_top) (firmware/runtime/link.ld)
    stack_top: int | None = None

    @property
    def cause(self) -> str:
        return TRAP_CAUSES.get(self.mcause, f"mcause {self.mcause}")

    @property
    def stack_overflow(self) -> bool:
        """The stack grew below its region: the first access beyond it faulted (nothing was overwritten; the
        region sits at the bottom of the data memory, so below it there is no memory)."""
        return self.sp is not None and self.stack_bottom is not None and self.sp < self.stack_bottom

    def __str__(self) -> str:
        what = f"instruction 0x{self.mtval:08x}" if self.mcause == 2 else f"mtval 0x{self.mtval:08x}"
        where = f"{self.cause} at pc 0x{self.mepc:08x} ({what})"
        if not self.stack_overflow:
            return where
        size = self.stack_top - self.stack_bottom
        return (f"stack overflow: the stack pointer 0x{self.sp:08x} went {self.stack_bottom - self.sp} bytes below "
                f"the bottom (0x{self.stack_bottom:08x}) of the {size}-byte stack; the {where} stopped the program "
                "before it overwrote anything. Use less stack (deep recursion, big local arrays) or link a bigger "
                "one with `edge-sdk cc --stack-size BYTES`")


@dataclass
class SimResult:
    sim: str                      # "spike" or "rtl"
    exit_code: int
    console: str                  # what the program wrote (stdout and stderr), without the runtime's reports
    instret: int | None           # retired instructions up to exit() (runtime's minstret read)
    cycles: int | None            # core cycles up to exit() (RTL mcycle); None on Spike
    sim_seconds: float            # wall time of the simulator process
    counters: dict[str, int] = field(default_factory=dict)  # event counters at exit (RTL)
    trap: Trap | None = None
    total_cycles: int | None = None   # RTL: every cycle simulated, to the tohost exit
    trace: str | None = None          # path of the commit trace, when one was asked for

    def to_json(self) -> dict:
        d = asdict(self)
        d["trap"] = None if self.trap is None else {**asdict(self.trap), "cause": self.trap.cause,
                                                    "stack_overflow": self.trap.stack_overflow}
        return d


def check_elf(path: str | Path, mem: MemoryMap) -> dict[str, int]:
    """Validate an ELF for the platform; return its tohost/fromhost addresses and, under "extensions", a
    bit set of the custom extensions it was built for (use `extensions_of`)."""
    path = Path(path)
    if path.is_dir():
        raise EdgeSdkError(f"'{path}' is a directory, not an ELF file; build one with `edge-sdk cc SRC.c -o FILE`")
    if not path.is_file():
        raise EdgeSdkError(f"ELF file '{path}' does not exist; build one with `edge-sdk cc SRC.c -o {path}`")
    try:
        with path.open("rb") as f:
            elf = ELFFile(f)
            if elf.get_machine_arch() != "RISC-V" or elf.elfclass != 32:
                raise EdgeSdkError(
                    f"'{path}' is a {elf.elfclass}-bit ELF for {elf.get_machine_arch()}; the edge-sdk MCU runs "
                    "32-bit RISC-V (RV32IMC) ELFs: build it with `edge-sdk cc`")
            _check_file_bounds(path, elf, path.stat().st_size)
            symtab = elf.get_section_by_name(".symtab")
            syms = {}
            for name in ("tohost", "fromhost"):
                found = symtab.get_symbol_by_name(name) if symtab else None
                if not found:
                    raise EdgeSdkError(f"'{path}' has no '{name}' symbol, so it cannot exit or print: link it "
                                       "with the edge-sdk runtime (`edge-sdk cc`)")
                syms[name] = found[0]["st_value"]
            syms["extensions"] = sum(1 << k for k, ext in enumerate(EXTENSIONS)
                                     if symtab.get_symbol_by_name(EXT_SYMBOL_PREFIX + ext))
            for name, what in (("__stack_top", "puts its stack at"), ("__heap_end", "ends its heap at")):
                found = symtab.get_symbol_by_name(name)
                if found and not mem.dmem_base < found[0]["st_value"] <= mem.dmem_base + mem.dmem_bytes:
                    raise EdgeSdkError(f"'{path}' {what} 0x{found[0]['st_value']:08x}, outside the data memory "
                                       f"of configuration '{mem.name}' (0x{mem.dmem_base:08x}+{mem.dmem_bytes:#x}): "
                                       f"build it for this configuration (`edge-sdk cc --memory {mem.name}`)")
            for seg in elf.iter_segments():
                if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
                    continue
                lo, hi = seg["p_paddr"], seg["p_paddr"] + seg["p_memsz"]
                if not (mem.imem_base <= lo and hi <= mem.imem_base + mem.imem_bytes) and \
                        not (mem.dmem_base <= lo and hi <= mem.dmem_base + mem.dmem_bytes):
                    raise EdgeSdkError(
                        f"'{path}' loads 0x{lo:08x}..0x{hi:08x}, outside the memories of configuration "
                        f"'{mem.name}' (IMEM 0x{mem.imem_base:08x}+{mem.imem_bytes:#x}, DMEM "
                        f"0x{mem.dmem_base:08x}+{mem.dmem_bytes:#x}): build it for this configuration")
            return syms
    except OSError as err:
        raise EdgeSdkError(f"cannot read the ELF file '{path}': {err.strerror}") from None
    except (ELFError, ValueError, IndexError, struct.error) as err:
        raise EdgeSdkError(f"'{path}' is not a valid ELF file ({err}); build one with `edge-sdk cc`") from None


def _check_file_bounds(path: Path, elf: ELFFile, size: int) -> None:
    """Every header and every loaded byte must lie inside the file (a truncated or damaged ELF otherwise
    reaches the simulators' own loaders, which assert)."""
    h = elf.header
    rebuild = "rebuild it with `edge-sdk cc` (was it truncated while being copied?)"
    if h["e_phoff"] + h["e_phnum"] * h["e_phentsize"] > size:
        raise EdgeSdkError(f"'{path}' is truncated: its program headers end at byte "
                           f"{h['e_phoff'] + h['e_phnum'] * h['e_phentsize']}, the file has {size}; {rebuild}")
    for k, seg in enumerate(elf.iter_segments()):
        end = seg["p_offset"] + seg["p_filesz"]
        if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] and end > size:
            raise EdgeSdkError(
                f"'{path}' is truncated or damaged: its segment {k} (0x{seg['p_paddr']:08x}, {seg['p_filesz']} bytes "
                f"at file offset {seg['p_offset']}) ends at byte {end}, beyond the end of the file ({size} bytes); "
                f"{rebuild}")
        if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > seg["p_memsz"]:
            raise EdgeSdkError(f"'{path}' is damaged: its segment {k} has more bytes in the file ({seg['p_filesz']}) "
                               f"than in memory ({seg['p_memsz']}); {rebuild}")
    if h["e_shnum"] and h["e_shoff"] + h["e_shnum"] * h["e_shentsize"] > size:
        raise EdgeSdkError(f"'{path}' is truncated: its section headers end at byte "
                           f"{h['e_shoff'] + h['e_shnum'] * h['e_shentsize']}, the file has {size}; {rebuild}")
    for sec in elf.iter_sections():
        if sec["sh_type"] != "SHT_NOBITS" and sec["sh_offset"] + sec["sh_size"] > size:
            raise EdgeSdkError(f"'{path}' is truncated: its section {sec.name or sec['sh_name']} ends at byte "
                               f"{sec['sh_offset'] + sec['sh_size']}, the file has {size}; {rebuild}")


def extensions_of(syms: dict[str, int]) -> tuple[str, ...]:
    """The custom extensions an ELF checked by `check_elf` was built for, e.g. ("xedge", "xdec")."""
    return tuple(ext for k, ext in enumerate(EXTENSIONS) if syms["extensions"] >> k & 1)


def parse_reports(console: str) -> tuple[str, dict[str, int] | None, Trap | None]:
    """Split the runtime's exit and trap reports off the program's console output."""
    exit_fields = None
    m = _EXIT_RE.search(console)
    if m:
        exit_fields = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
        console = console[:m.start()] + console[m.end():]
    trap = None
    t = _TRAP_RE.search(console)
    if t:
        stack = [None if g is None else int(g, 16) for g in t.group(4, 5, 6)]
        trap = Trap(int(t.group(1)), int(t.group(2), 16), int(t.group(3), 16), *stack)
        console = console[:t.start()] + console[t.end():]
    return console, exit_fields, trap


EVENT_NAMES = ("load_use_stall", "branch_penalty", "muldiv_stall", "simd_insns", "mem_insns", "loop_insns")
