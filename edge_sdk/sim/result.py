"""What every simulator back-end returns, and the checks and parsing both back-ends share."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import EXT_SYMBOL_PREFIX, MemoryMap
from riscv_ext.spec import EXTENSIONS

TRAP_CAUSES = {0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
               3: "breakpoint", 4: "load address misaligned", 5: "load access fault",
               6: "store address misaligned", 7: "store access fault", 11: "environment call"}

_EXIT_RE = re.compile(r"\n?@edge-sdk-exit((?: \w+=\d+)+)\n")
_TRAP_RE = re.compile(r"\n?@edge-sdk-trap mcause=(\d+) mepc=0x([0-9a-f]+) mtval=0x([0-9a-f]+)\n")


@dataclass
class Trap:
    mcause: int
    mepc: int
    mtval: int

    @property
    def cause(self) -> str:
        return TRAP_CAUSES.get(self.mcause, f"mcause {self.mcause}")

    def __str__(self) -> str:
        what = f"instruction 0x{self.mtval:08x}" if self.mcause == 2 else f"mtval 0x{self.mtval:08x}"
        return f"{self.cause} at pc 0x{self.mepc:08x} ({what})"


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
        d["trap"] = None if self.trap is None else {**asdict(self.trap), "cause": self.trap.cause}
        return d


def check_elf(path: str | Path, mem: MemoryMap) -> dict[str, int]:
    """Validate an ELF for the platform; return its tohost/fromhost addresses and, under "extensions", a
    bit set of the custom extensions it was built for (use `extensions_of`)."""
    path = Path(path)
    if not path.is_file():
        raise EdgeSdkError(f"ELF file '{path}' does not exist; build one with `edge-sdk cc SRC.c -o {path}`")
    try:
        with path.open("rb") as f:
            elf = ELFFile(f)
            if elf.get_machine_arch() != "RISC-V" or elf.elfclass != 32:
                raise EdgeSdkError(
                    f"'{path}' is a {elf.elfclass}-bit ELF for {elf.get_machine_arch()}; the edge-sdk MCU runs "
                    "32-bit RISC-V (RV32IMC) ELFs: build it with `edge-sdk cc`")
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
            top = symtab.get_symbol_by_name("__stack_top")
            if top and not mem.dmem_base < top[0]["st_value"] <= mem.dmem_base + mem.dmem_bytes:
                raise EdgeSdkError(f"'{path}' puts its stack at 0x{top[0]['st_value']:08x}, outside the data memory "
                                   f"of configuration '{mem.name}': build it for this configuration "
                                   f"(`edge-sdk cc --memory {mem.name}`)")
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
    except ELFError as err:
        raise EdgeSdkError(f"'{path}' is not a valid ELF file ({err}); build one with `edge-sdk cc`") from None


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
        trap = Trap(int(t.group(1)), int(t.group(2), 16), int(t.group(3), 16))
        console = console[:t.start()] + console[t.end():]
    return console, exit_fields, trap


EVENT_NAMES = ("load_use_stall", "branch_penalty", "muldiv_stall", "simd_insns", "mem_insns", "loop_insns")
