"""Lock-step co-simulation of the RTL against Spike in this process (edge_sdk/sim/cosim.py): random programs of
the differential test (edge_sdk/sim/randprog.py) and firmware run to their exit with every instruction compared
as it retires; it compares what the commit-trace comparison compares; a difference planted on either side (the
RTL's data memory, Spike's registers, Spike's code) stops it at the first instruction it shows in, with both
states; interrupts (the timer sampling app) are taken by both at the same instruction."""
from __future__ import annotations

import pytest
from elftools.elf.elffile import ELFFile

from edge_sdk import EdgeSdkError
from edge_sdk.sim import CoSim, RTLCore, SimLimitError, lockstep
from edge_sdk.sim.differential import build_random, cosim_random, diff_elf
from edge_sdk.sim.randprog import HANDLER
from edge_sdk.sim.trace import UNCOMPARED_CSRS, parse_line, read_trace
from edge_sdk.toolchain import FIRMWARE, compile_elf

SEEDS = range(32)   # the programs of tests/test_differential.py (same generator, seeds and size)
BLOCKS = 80
NOP = (0x00000013).to_bytes(4, "little")


@pytest.fixture(scope="module")
def rand_elf(tmp_path_factory):
    """rand_elf(seed): the random program of `seed`, built once per module."""
    cache = {}

    def get(seed: int):
        if seed not in cache:
            cache[seed] = build_random(seed, BLOCKS, tmp_path_factory.mktemp(f"cosim{seed}"))
        return cache[seed]

    return get


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_in_lockstep(seed):
    result = cosim_random(seed, n_blocks=BLOCKS)
    assert result.ok, str(result)
    assert result.stop == "exit" and result.exit_codes == (0, 0) and result.console_equal
    assert "@edge-sdk-exit code=0" in result.consoles[1]   # the exit report (counters from the RTL) is compared
    assert result.compared > 1000 and result.traps > 0 and result.synced > 0
    assert result.divergence is None and result.interrupts == 0


def test_compares_what_the_trace_comparison_compares(rand_elf, tmp_path):
    """Up to `_exit`, lock step compares exactly the records the trace comparison does, and Spike in-process
    logs the same commit trace as the Spike binary there (from `_start`: the binary runs a boot ROM first)."""
    elf = rand_elf(0)
    traced = diff_elf(elf, tmp_path)
    assert traced.ok
    result = lockstep(elf, until="_exit", spike_trace=tmp_path / "cosim_spike.trace")
    assert result.ok and result.stop == "until"
    assert result.compared == traced.retired
    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        start, stop = (symtab.get_symbol_by_name(n)[0]["st_value"] for n in ("_start", "_exit"))
    binary, in_process = (read_trace(tmp_path / name, start, stop) for name in ("spike.trace", "cosim_spike.trace"))
    assert [r.line for r in in_process] == [r.line for r in binary]


def test_rtl_memory_difference_is_caught(rand_elf):
    """The RTL's copy of the data block changed: the first load of it differs in the loaded register; the RTL
    stops before that load, and the report shows both records, disassembly and register files."""
    with CoSim(rand_elf(1)) as cs:
        data = cs.rtl.symbol("edge_rand_data")
        cs.rtl.mem.write(data, bytes(b ^ 0x5A for b in cs.rtl.mem.read(data, 1024)))
        result = cs.run()
        d = result.divergence
        assert result.stop == "divergence" and not result.ok and d is not None
        assert d.reason == "register write", str(d)
        assert d.spike.pc == d.rtl.pc == cs.rtl.pc and d.spike.record.insn == d.rtl.record.insn
        assert d.index == result.compared > 0
        (reg, rtl_value), = d.rtl.record.writes
        (_, spike_value), = d.spike.record.writes
        assert rtl_value != spike_value and d.rtl.record.mem[0][0] - data < 1024
        assert d.registers == [(f"x{reg}/{cs.rtl.regs.names[reg]}", rtl_value, spike_value)]
        assert d.registers_before == []
        assert d.spike.regs_before == d.rtl.regs_before
        text = str(d)
        assert f"after {d.index} equal instructions: register write" in text
        assert d.spike.line in text and d.rtl.line in text and d.rtl.disassembly in text
        assert "<main+" in d.rtl.disassembly
        with pytest.raises(EdgeSdkError, match="diverged"):
            cs.run()


def test_spike_register_difference_is_caught(rand_elf):
    """Both stopped before `main` in step; Spike's sp changed by hand: main's first instruction (sp -= FRAME)
    differs, and the report shows sp differing before and after it."""
    with CoSim(rand_elf(2)) as cs:
        main = cs.rtl.symbol("main")
        first = cs.run(until="main")
        assert first.ok and first.stop == "until" and cs.rtl.pc == cs.spike_pc == main
        assert all(cs.spike_regs[i] == cs.rtl.regs[i] for i in range(32))
        sp = cs.rtl.regs["sp"]
        cs.spike_regs["sp"] += 16
        result = cs.run()
        d = result.divergence
        assert d.index == first.compared and d.rtl.pc == d.spike.pc == main
        assert d.reason == "register write"
        assert d.registers_before == [("x2/sp", sp, sp + 16)]
        assert [name for name, _, _ in d.registers] == ["x2/sp"]
        assert d.spike.regs_after[2] - d.rtl.regs_after[2] == 16


def test_spike_code_difference_is_caught(rand_elf):
    """Spike's copy of the code differs (main's first instruction a nop): the instruction bits differ, each
    side disassembled as executed."""
    with CoSim(rand_elf(2)) as cs:
        main = cs.rtl.symbol("main")
        cs.spike_mem.write(main, NOP)
        assert cs.spike_mem.read(main, 4) == NOP and cs.rtl.mem.read(main, 4) != NOP
        d = cs.run().divergence
        assert d.reason == "instruction" and d.spike.pc == d.rtl.pc == main
        assert d.spike.record.insn == 0x13 and d.spike.disassembly.startswith("nop")
        assert d.rtl.record.insn != 0x13 and "sp" in d.rtl.disassembly


def test_traps_before_a_divergence_are_reported(rand_elf):
    """Spike's copy of the trap handler's first instruction a nop: both take the program's first trap, and the
    divergence at the handler names it (cause, mepc) among Spike's traps before it."""
    with CoSim(rand_elf(3)) as cs:
        handler = cs.rtl.symbol(HANDLER)
        cs.spike_mem.write(handler, NOP)
        d = cs.run().divergence
        assert d.reason == "instruction" and d.rtl.pc == d.spike.pc == handler
        cause = cs.spike_csr(0x342)
        assert cause in (1, 2, 3, 4, 5, 6, 7, 11)
        assert d.spike_traps.startswith(f"trap mcause=0x{cause:08x} mepc=0x{cs.spike_csr(0x341):08x}")
        assert "Spike before it: trap mcause=" in str(d)
        with pytest.raises(EdgeSdkError, match="no CSR 0x7c0"):
            cs.spike_csr(0x7C0)


def test_console_and_interrupts(build_dir):
    """Firmware: printf through the host calls (both hosts answer at once), and the timer sampling app, whose 16
    interrupts the RTL takes and Spike takes at the same instructions (wfi included)."""
    hello = lockstep(compile_elf([FIRMWARE / "apps" / "hello.c"], build_dir / "cosim_hello.elf"))
    assert hello.ok and hello.stop == "exit" and hello.console_equal and hello.interrupts == 0, str(hello)
    timer = lockstep(compile_elf([FIRMWARE / "apps" / "timer_sample.c"], build_dir / "cosim_timer.elf"))
    assert timer.ok and timer.stop == "exit" and timer.exit_codes == (0, 0), str(timer)
    assert timer.interrupts == 16 and "samples 16, early 0" in timer.consoles[0]
    assert timer.consoles[0] == timer.consoles[1]


# Software and timer interrupts enabled together; mtime read by loads from the CLINT.
IRQ_PROGRAM = r"""
#include <stdint.h>
#include <stdio.h>
#include "timer.h"
static volatile uint32_t soft, ticks, t_lo;
void __attribute__((interrupt("machine"))) edge_irq_software(void) { CLINT_MSIP = 0; soft = soft + 1; }
void __attribute__((interrupt("machine"))) edge_irq_timer(void) {
  ticks = ticks + 1;
  if (ticks == 5) timer_irq_disable(); else timer_set_deadline(timer_now() + 7);
}
int main(void) {
  uint32_t sum = 0;
  EDGE_CSR_SET(mie, MIP_MSIP);
  timer_set_deadline(timer_now() + 7);
  timer_irq_enable();
  for (int i = 0; i < 6; ++i) {
    CLINT_MSIP = 1;   /* taken some instructions later on the RTL: Spike takes it there too */
    for (int k = 0; k < 200; ++k) sum += (uint32_t)(k * i);
  }
  while (ticks < 5) t_lo = CLINT_MTIME_LO;
  printf("soft %lu ticks %lu sum %lu\n", (unsigned long)soft, (unsigned long)ticks, (unsigned long)sum);
  return !(soft == 6 && ticks == 5);
}
"""


def test_software_and_timer_interrupts(tmp_path):
    src = tmp_path / "irq.c"
    src.write_text(IRQ_PROGRAM)
    result = lockstep(compile_elf([src], tmp_path / "irq.elf"))
    assert result.ok and result.exit_codes == (0, 0), str(result)
    assert result.interrupts == 11 and "soft 6 ticks 5" in result.consoles[0]
    assert result.synced > 5                 # the time CSR and mtime loads


def test_retire_records_are_the_commit_trace(rand_elf, tmp_path):
    """What the retire hook sees (RTLCore.pending_record, the same record) is what the commit trace logs."""
    elf = rand_elf(4)
    with RTLCore(elf, trace=tmp_path / "rtl.trace") as core:
        records = []
        while not core.exited and len(records) < 600:
            records.append(core.pending_record)
            core.step()
    lines = [line for line in (tmp_path / "rtl.trace").read_text().splitlines()][:len(records)]
    assert len(lines) == len(records) == 600
    for k, (rec, line) in enumerate(zip(records, lines)):
        traced = parse_line(line)
        writes = sorted([(rec.rd, rec.rd_wdata)] * rec.rd_we + [(rec.base, rec.base_wdata)] * rec.base_we)
        mask = (1 << (8 << rec.mem_size)) - 1
        mem = [(rec.mem_addr, rec.mem_wdata & mask if rec.mem_we else None)] * rec.mem
        csrs = [(rec.csr_addr, rec.csr_wdata)] * (rec.csr_we and rec.csr_addr not in UNCOMPARED_CSRS) \
            + [(0x310, 0)] * rec.mstatush_we
        assert (rec.pc, rec.insn, tuple(writes), tuple(mem), tuple(csrs)) == \
            (traced.pc, traced.insn, traced.writes, traced.mem, traced.csrs), line
        assert rec.instret == k


def test_limits(rand_elf):
    elf = rand_elf(0)
    with pytest.raises(SimLimitError) as err:
        lockstep(elf, max_instructions=100)
    assert err.value.limit == "max-instructions"
    with CoSim(elf) as cs:
        with pytest.raises(SimLimitError):
            cs.run(max_instructions=50)
        assert cs.compared == 50 and cs.rtl.instret == 50
        assert cs.run().ok                       # in step where the limit stopped it: it goes on
    with pytest.raises(EdgeSdkError, match="no symbol"):
        lockstep(elf, until="no_such_function")


def test_cli_cosim(rand_elf, tmp_path):
    """`edge-sdk sim --sim cosim`: the RTL's console, the comparison on stderr, JSON, a limit's status 4 (JSON
    too), a trapping program's status 3 with its trap named and the runtime's reports kept off the console."""
    import json
    import subprocess
    import sys
    elf = rand_elf(2)
    cli = [sys.executable, "-m", "edge_sdk.cli", "sim", str(elf), "--sim", "cosim"]
    ok = subprocess.run(cli, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "instructions equal on the RTL and Spike, stopped at exit" in ok.stderr
    out = json.loads(subprocess.run([*cli, "--json"], capture_output=True, text=True, timeout=300).stdout)
    assert out["ok"] and out["stop"] == "exit" and out["compared"] > 1000 and out["process_status"] == 0
    assert out["exit_codes"] == {"spike": 0, "rtl": 0} and out["divergence"] is None
    limited = subprocess.run([*cli, "--max-instructions", "100"], capture_output=True, text=True, timeout=300)
    assert limited.returncode == 4 and "error:" in limited.stderr and "Traceback" not in limited.stderr
    limited = subprocess.run([*cli, "--max-instructions", "100", "--json"], capture_output=True, text=True,
                             timeout=300)
    assert limited.returncode == 4 and json.loads(limited.stdout)["limit"] == "max-instructions"
    src = tmp_path / "trap.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("before"); return *(volatile int *)0x10; }\n')
    trap = compile_elf([src], tmp_path / "trap.elf")
    trapped = subprocess.run([sys.executable, "-m", "edge_sdk.cli", "sim", str(trap), "--sim", "cosim"],
                             capture_output=True, text=True, timeout=300)
    assert trapped.returncode == 3, trapped.stderr
    assert trapped.stdout == "before\n" and "the program trapped: load access fault" in trapped.stderr
    assert "Traceback" not in trapped.stderr
