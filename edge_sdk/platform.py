"""The simulated MCU platform: memory configurations shared by the linker script, Spike and the RTL.

Three regions (the README's platform table): IMEM, the code memory (fetch and load: firmware reads constant
tables such as weights straight from it, with `imem_load_wait_states` extra cycles per load on the RTL; no
stores), DMEM, the data SRAM (load and store, no fetch), and the CLINT at Spike's address (mtime, mtimecmp,
msip; load and store). Any other access is an access fault. The RTL's bus implements that map; Spike's
memory is flat, so crt0 programs the same map into its PMP as locked entries (`pmp_entries`), which are also
the RTL's hard-wired PMP registers: both simulators fault alike and read the same CSRs. `tohost`/`fromhost`
sit in DMEM at the addresses of the ELF's symbols, so one ELF runs unchanged on Spike and on the RTL.
"""
from __future__ import annotations

from dataclasses import dataclass

from edge_sdk.errors import EdgeSdkError

KIB = 1024
MIB = 1024 * KIB

CLINT_BASE = 0x0200_0000   # Spike's CLINT: msip +0x0, mtimecmp +0x4000, mtime +0xBFF8
CLINT_BYTES = 0x000C_0000
PMP_REGIONS = 8            # Spike's --pmpregions: every entry is used (and locked) by crt0
# pmpcfg bytes: L (locked, binding in M-mode too) | A (OFF 0, TOR 1, NAPOT 3) | X W R.
_PMP_OFF, _PMP_TOR, _PMP_NAPOT, _PMP_L, _PMP_R, _PMP_W, _PMP_X = 0, 1 << 3, 3 << 3, 0x80, 1, 2, 4


@dataclass(frozen=True)
class MemoryMap:
    name: str
    imem_bytes: int
    dmem_bytes: int
    imem_base: int = 0x8000_0000
    dmem_base: int = 0x9000_0000
    imem_load_wait_states: int = 1   # extra core cycles of a data load from IMEM (the code flash), RTL only
    timer_divider: int = 100         # core cycles per mtime tick on the RTL (1 MHz timebase at 100 MHz)

    def pmp_entries(self) -> list[tuple[int, int]]:
        """(pmpcfg byte, pmpaddr) of entries 0..7: the CLINT (RW), IMEM (RX), DMEM (RW) as top-of-range
        pairs, then the whole address space without permission (so any other access faults), then an unused
        entry; every entry locked. The RTL's edge_csr.sv hard-wires the same values (a test compares them)."""
        out = []
        for base, size, perms in ((CLINT_BASE, CLINT_BYTES, _PMP_R | _PMP_W),
                                  (self.imem_base, self.imem_bytes, _PMP_R | _PMP_X),
                                  (self.dmem_base, self.dmem_bytes, _PMP_R | _PMP_W)):
            out += [(_PMP_L | _PMP_OFF, base >> 2), (_PMP_L | _PMP_TOR | perms, (base + size) >> 2)]
        return out + [(_PMP_L | _PMP_NAPOT, 0xFFFF_FFFF), (_PMP_L | _PMP_OFF, 0)]

    def linker_memory(self) -> str:
        entries = self.pmp_entries()
        cfg = [sum(c << (8 * i) for i, (c, _) in enumerate(entries[k:k + 4])) for k in (0, 4)]
        pmp = "".join(f"__edge_pmpaddr{i} = {a:#x};\n" for i, (_, a) in enumerate(entries))
        return (f"/* memory configuration '{self.name}' (edge_sdk/platform.py) */\n"
                "MEMORY\n{\n"
                f"  IMEM (rx) : ORIGIN = {self.imem_base:#x}, LENGTH = {self.imem_bytes:#x}\n"
                f"  DMEM (rw) : ORIGIN = {self.dmem_base:#x}, LENGTH = {self.dmem_bytes:#x}\n"
                "}\n"
                f"__edge_clint_base = {CLINT_BASE:#x};\n"
                "/* the platform's protection map, locked into the PMP by crt0 */\n"
                f"__edge_pmpcfg0 = {cfg[0]:#x};\n__edge_pmpcfg1 = {cfg[1]:#x};\n{pmp}")

    def spike_memory_arg(self) -> str:
        return f"-m{self.imem_base:#x}:{self.imem_bytes:#x},{self.dmem_base:#x}:{self.dmem_bytes:#x}"

    def rtl_parameters(self) -> dict[str, int]:
        return {"ImemBase": self.imem_base, "ImemBytes": self.imem_bytes,
                "DmemBase": self.dmem_base, "DmemBytes": self.dmem_bytes, "ClintBase": CLINT_BASE,
                "ImemLoadWaitStates": self.imem_load_wait_states, "TimerDivider": self.timer_divider}


MEMORY_MAPS = {
    # Big enough for the networks of the SDK (a dense int8 ResNet-18 has 11 MB of weights).
    "default": MemoryMap("default", imem_bytes=512 * KIB, dmem_bytes=16 * MIB),
    # A small MCU: what a microcontroller-class part would carry on chip.
    "mcu": MemoryMap("mcu", imem_bytes=64 * KIB, dmem_bytes=256 * KIB),
}

# --isa values -> the custom extensions (riscv_ext/spec.py) the core implements and the code may use.
ISAS = {
    "xedge": ("xedge",),
    "xdec": ("xedge", "xdec"),   # xedge + the decimating load of the N:M sparse kernels
    "base": (),                  # plain RV32IMC
}
# The toolchain marks an ELF with one absolute symbol per extension it was built for (`__edge_ext_xdec`);
# the simulators read them to run it on a core that has those extensions.
EXT_SYMBOL_PREFIX = "__edge_ext_"


def memory_map(name: str) -> MemoryMap:
    try:
        return MEMORY_MAPS[name]
    except KeyError:
        raise EdgeSdkError(f"unknown memory configuration '{name}'; choose one of: "
                           + ", ".join(MEMORY_MAPS)) from None
