"""The platform table of the README ("The platform"), row by row, on both simulators: what each region allows
(fetch, load, store), the CSRs, the timer and its interrupt, misaligned accesses, and what traps with which
cause and value. Every row runs one program on Spike and on the RTL; both must give the row's outcome."""
from __future__ import annotations

import pytest

from edge_sdk import sim
from edge_sdk.platform import CLINT_BASE, memory_map
from edge_sdk.toolchain import FIRMWARE, compile_elf
from tests.conftest import SIMS

MEM = memory_map("default")
UNMAPPED = 0x1000_0000          # between the CLINT and IMEM: no device
PRELUDE = """#include <stdint.h>
#include <stdio.h>
#include "edge_platform.h"
#include "timer.h"
static const uint32_t flash_table[4] EDGE_FLASH = {0x11223344u, 0xA5A5F00Fu, 0x80000001u, 0x7F00FF80u};
static uint32_t ram_word[2] = {0x01020304u, 0x05060708u};
typedef void (*fn_t)(void);
"""

def _access(insn: str, symbol: str, offset: int) -> str:
    """A body of main that does one `insn` (a load or store) at symbol + offset."""
    if insn.startswith("l"):
        asm = f'"{insn} %0, {offset}(%1)" : "=r"(v) : "r"({symbol})'
    else:
        asm = f'"{insn} zero, {offset}(%0)" : : "r"({symbol})'
    return f'uint32_t v = 0; __asm__ volatile({asm} : "memory"); return (int)v;'



# (row, body of main, outcome): an int exit code, or ("trap", mcause, mtval) where mtval may be a C-free
# expression of the names below (evaluated in Python against the ELF's symbols).
ROWS = {
    # IMEM: fetch and load (every width, any aligned address), no store.
    "imem-load": ("""volatile const uint32_t *t = flash_table;
        if (t[0] != 0x11223344u || t[3] != 0x7F00FF80u) return 1;
        if (((volatile const int16_t *)t)[3] != (int16_t)0xA5A5) return 2;
        if (((volatile const int8_t *)t)[8] != 1 || ((volatile const uint8_t *)t)[11] != 0x80) return 3;
        return 0;""", 0),
    "imem-store": ("*(volatile uint32_t *)flash_table = 1; return 0;", ("trap", 7, "flash_table")),
    "imem-store-byte": ("((volatile uint8_t *)flash_table)[5] = 1; return 0;", ("trap", 7, "flash_table+5")),
    # DMEM: load and store, no fetch.
    "dmem-load-store": ("""volatile uint32_t *w = ram_word;
        w[1] = w[0] + 1; ((volatile uint8_t *)w)[2] = 0xEE;
        return (w[1] == 0x01020305u && w[0] == 0x01EE0304u) ? 0 : 1;""", 0),
    "dmem-fetch": ("ram_word[0] = 0x00008067u; ((fn_t)ram_word)(); return 0;", ("trap", 1, "ram_word")),
    # CLINT: load and store (mtime, mtimecmp, msip; other offsets read 0), no fetch.
    "clint-registers": ("""CLINT_MTIMECMP_LO = 0x12345678u; CLINT_MTIMECMP_HI = 0x9u;
        if (CLINT_MTIMECMP_LO != 0x12345678u || CLINT_MTIMECMP_HI != 0x9u) return 1;
        uint32_t t0 = CLINT_MTIME_LO;
        for (volatile int i = 0; i < 2000; ++i) {}
        if ((int32_t)(CLINT_MTIME_LO - t0) <= 0) return 2;
        if (CLINT_REG(0x8000) != 0) return 3;
        CLINT_MSIP = 1; if (CLINT_MSIP != 1) return 4;
        CLINT_MSIP = 0; return CLINT_MSIP;""", 0),
    "clint-fetch": ("((fn_t)(uintptr_t)__edge_clint_base)(); return 0;", ("trap", 1, "CLINT")),
    # Nothing else is mapped.
    "unmapped-load": (f"return *(volatile uint32_t *){UNMAPPED:#x}u;", ("trap", 5, f"{UNMAPPED:#x}")),
    "unmapped-store": (f"*(volatile uint8_t *){UNMAPPED + 3:#x}u = 1; return 0;", ("trap", 7, f"{UNMAPPED + 3:#x}")),
    "unmapped-fetch": (f"((fn_t){UNMAPPED:#x}u)(); return 0;", ("trap", 1, f"{UNMAPPED:#x}")),
    "below-dmem-load": (f"return *(volatile uint32_t *){MEM.dmem_base - 4:#x}u;",
                        ("trap", 5, f"{MEM.dmem_base - 4:#x}")),
    "past-dmem-store": (f"*(volatile uint32_t *){MEM.dmem_base + MEM.dmem_bytes:#x}u = 1; return 0;",
                        ("trap", 7, f"{MEM.dmem_base + MEM.dmem_bytes:#x}")),
    # Misaligned accesses trap (they are not split), before any access check. (Inline assembly: given a
    # pointer it knows to be misaligned, GCC would split the access into bytes itself.)
    "misaligned-load": (_access("lw", "ram_word", 2), ("trap", 4, "ram_word+2")),
    "misaligned-half-load-imem": (_access("lhu", "flash_table", 1), ("trap", 4, "flash_table+1")),
    "misaligned-store": (_access("sh", "ram_word", 3), ("trap", 6, "ram_word+3")),
    "misaligned-store-imem": (_access("sw", "flash_table", 2), ("trap", 6, "flash_table+2")),
    # Exceptions of the instruction itself.
    "ecall": ('__asm__ volatile("ecall"); return 0;', ("trap", 11, "0")),
    "illegal": ('__asm__ volatile(".word 0xffffffff"); return 0;', ("trap", 2, "0xffffffff")),
    # CSRs: the time CSR is mtime; the PMP holds the platform's map, locked (writes are ignored).
    "csr-time": ("""uint32_t a = CLINT_MTIME_LO, b = (uint32_t)timer_now(), c = CLINT_MTIME_LO;
        return (a <= b && b <= c) ? 0 : 1;""", 0),
    "csr-pmp-locked": ("""uint32_t before = EDGE_CSR_READ(pmpcfg0), addr = EDGE_CSR_READ(pmpaddr3);
        __asm__ volatile(".option push\\n.option arch, +zicsr\\ncsrw pmpcfg0, zero\\ncsrw pmpaddr3, zero\\n.option pop");
        if (EDGE_CSR_READ(pmpcfg0) != before || EDGE_CSR_READ(pmpaddr3) != addr) return 1;
        printf("%08lx %08lx %08lx\\n", (unsigned long)before, (unsigned long)EDGE_CSR_READ(pmpcfg1),
               (unsigned long)addr);
        return 0;""", 0),
    "csr-mie-mask": ("""EDGE_CSR_SET(mie, 0xFFFFFFFFu); uint32_t v = EDGE_CSR_READ(mie); EDGE_CSR_CLEAR(mie, 0xFFFFFFFFu);
        return v == 0x1888u ? 0 : 1;""", 0),
    # An interrupt without a handler is fatal, and names itself.
    "timer-irq-no-handler": ("timer_set_deadline(timer_now() + 5); timer_irq_enable(); for (;;) {} return 0;",
                             ("trap", 0x8000_0007, "0")),
}


def _expected_mtval(expr: str, symbols: dict[str, int]) -> int:
    names = {**symbols, "CLINT": CLINT_BASE}
    return eval(expr, {"__builtins__": {}}, names)   # noqa: S307 - the table's own expressions


def _symbols(elf) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in table.iter_symbols() if s.name in ("flash_table", "ram_word")}


@pytest.fixture(scope="module")
def platform_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("platform")


@pytest.mark.parametrize("row", sorted(ROWS))
def test_platform_row_on_both_simulators(row, platform_dir):
    body, outcome = ROWS[row]
    src = platform_dir / f"{row}.c"
    src.write_text(PRELUDE + f"int main(void) {{\n  {body}\n}}\n")
    elf = compile_elf([src], platform_dir / f"{row}.elf", opt="-O1")
    results = {b: sim.run(elf, b, max_instructions=2_000_000) for b in SIMS}
    for backend, r in results.items():
        if isinstance(outcome, int):
            assert r.trap is None, f"{row} on {backend}: {r.trap}"
            assert r.exit_code == outcome, f"{row} on {backend}: exit {r.exit_code}"
        else:
            _, cause, mtval = outcome
            assert r.trap is not None, f"{row} on {backend}: no trap, exit {r.exit_code}"
            assert (r.trap.mcause, r.trap.mtval) == (cause, _expected_mtval(mtval, _symbols(elf))), \
                f"{row} on {backend}: {r.trap}"
    assert results["spike"].console == results["rtl"].console


def test_pmp_csrs_hold_the_platform_map(platform_dir):
    """The locked PMP entries read back on both simulators as edge_sdk/platform.py describes the map."""
    src = platform_dir / "pmp_dump.c"
    reads = "\n".join(f'  printf("%08lx\\n", (unsigned long)EDGE_CSR_READ(pmpaddr{i}));' for i in range(8))
    src.write_text(PRELUDE + "int main(void) {\n"
                   '  printf("%08lx %08lx\\n", (unsigned long)EDGE_CSR_READ(pmpcfg0), (unsigned long)EDGE_CSR_READ(pmpcfg1));\n'
                   f"{reads}\n  return 0;\n}}\n")
    elf = compile_elf([src], platform_dir / "pmp_dump.elf")
    entries = MEM.pmp_entries()
    cfg = [sum(c << (8 * i) for i, (c, _) in enumerate(entries[k:k + 4])) for k in (0, 4)]
    expected = f"{cfg[0]:08x} {cfg[1]:08x}\n" + "".join(f"{a & 0xFFFF_FFFF:08x}\n" for _, a in entries)
    for backend in SIMS:
        assert sim.run(elf, backend).console == expected, backend


def test_imem_loads_cost_their_wait_states_on_the_rtl(platform_dir):
    """A load from IMEM takes the platform's wait states more than the same load from DMEM (RTL cycles)."""
    src = platform_dir / "wait_states.c"
    src.write_text(PRELUDE + """
static uint32_t ram_table[4] = {1, 2, 3, 4};
static __attribute__((noinline)) uint32_t sum(const uint32_t *p, int n) {
  uint32_t s = 0;
  for (int i = 0; i < n; ++i) s += ((volatile const uint32_t *)p)[i & 3];
  return s;
}
int main(void) {
  uint64_t c0 = perf_cycles(); uint32_t a = sum(ram_table, 256);
  uint64_t c1 = perf_cycles(); uint32_t b = sum(flash_table, 256);
  uint64_t c2 = perf_cycles();
  printf("%lu %lu %lu\\n", (unsigned long)(c1 - c0), (unsigned long)(c2 - c1), (unsigned long)(a + b));
  return 0;
}
""")
    elf = compile_elf([src], platform_dir / "wait_states.elf")
    dmem, imem, _ = map(int, sim.run(elf, "rtl").console.split())
    assert imem - dmem == 256 * MEM.imem_load_wait_states, (dmem, imem)


def test_timer_interrupt_sampling_example_identical_on_both(build_dir):
    """firmware/apps/timer_sample.c: 16 samples on a periodic timer interrupt, wfi between them; the same
    samples and result on Spike and the RTL, no handler before its deadline."""
    elf = compile_elf([FIRMWARE / "apps" / "timer_sample.c"], build_dir / "timer_sample.elf")
    runs = {b: sim.run(elf, b, max_instructions=5_000_000) for b in SIMS}
    for backend, r in runs.items():
        assert r.trap is None and r.exit_code == 0, (backend, r.trap, r.console)
        assert "samples 16, early 0" in r.console, backend
    assert runs["spike"].console == runs["rtl"].console
    # wfi sleeps: the RTL spends most of the 16 periods of 2,000 cycles asleep, not executing.
    rtl = runs["rtl"]
    assert rtl.cycles > 16 * 2000 > 0 and rtl.instret < rtl.cycles / 2
