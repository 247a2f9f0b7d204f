"""The RTL core in-process (edge_sdk/sim/rtlcore.py) and its command-line debugger: breakpoints stop before
the right instruction; registers and memory agree with Spike's commit log at every step of a program (a
picolibc program up to its first console write, where Spike's host starts answering later than the RTL's,
and a random program with traps and post-increment stores to its exit); stepping a whole program gives what
running it does, trace included; bad use is one clear EdgeSdkError."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from edge_sdk import EdgeSdkError, sim
from edge_sdk.platform import memory_map
from edge_sdk.sim import RTLCore, SimLimitError, randprog
from edge_sdk.sim.rtlcore import Stop
from edge_sdk.sim.trace import read_trace
from edge_sdk.toolchain import FIRMWARE, compile_elf

MEM = memory_map("default")
_STORE = re.compile(r"mem 0x([0-9a-f]+) 0x([0-9a-f]+)")


@pytest.fixture(scope="module")
def hello(build_dir):
    return compile_elf([FIRMWARE / "apps" / "hello.c"], build_dir / "rtlcore_hello.elf")


@pytest.fixture(scope="module")
def random_elf(build_dir):
    src = build_dir / "rtlcore_rand.S"
    src.write_text(randprog.generate(3, 80))
    return compile_elf([src], build_dir / "rtlcore_rand.elf", isa="xdec")


def _spike_log(elf, tmp_path, stop: str):
    """Spike's commit records from `_start` up to (not including) the first instruction at `stop`."""
    run = sim.run(elf, "spike", trace=tmp_path / "spike.trace")
    with RTLCore(elf) as core:
        return read_trace(run.trace, start_pc=core.symbol("_start"), stop_pc=core.symbol(stop))


def _host_bytes(core) -> set[int]:
    """Bytes the host writes too (its answers are not in a commit log): tohost, fromhost, the syscall block."""
    out = set()
    for name, size in (("tohost", 8), ("fromhost", 8), ("magic_mem", 64)):
        if name in core.symbols():
            out |= set(range(core.symbol(name), core.symbol(name) + size))
    return out


def _check_every_step(elf, records):
    """Step through `records`: before each, all 32 registers equal Spike's after the ones before it, and the
    bytes a pending store is about to overwrite still hold their old value (from Spike's earlier stores or the
    loaded image). Returns how many such stores change their bytes (the data memory already holds them: the
    view puts the old ones back)."""
    core, image = RTLCore(elf), RTLCore(elf)
    regs, stored, skip = [0] * 32, {}, _host_bytes(core)
    in_memory = (lambda a: MEM.dmem_base <= a < MEM.dmem_base + MEM.dmem_bytes)
    changing_stores = 0
    for n, rec in enumerate(records):
        assert core.instret == n and core.pc == rec.pc, (n, rec.line)
        assert [core.regs[i] for i in range(32)] == regs, (n, rec.line)
        for m in _STORE.finditer(rec.line):
            addr, width = int(m.group(1), 16), len(m.group(2)) // 2
            if in_memory(addr) and not skip & set(range(addr, addr + width)):
                before = bytes(stored.get(a, image.mem.read(a, 1)[0]) for a in range(addr, addr + width))
                assert core.mem.read(addr, width) == before, (n, rec.line)
                changing_stores += before != int(m.group(2), 16).to_bytes(width, "little")
        retired = core.step()
        assert (retired.pc, retired.insn) == (rec.pc, rec.insn)
        for reg, value in rec.writes:
            regs[reg] = value
        for m in _STORE.finditer(rec.line):
            addr, value = int(m.group(1), 16), int(m.group(2), 16)
            for k in range(len(m.group(2)) // 2):
                stored[addr + k] = value >> 8 * k & 0xFF
    # Every byte stored so far reads back as Spike stored it.
    for addr, value in stored.items():
        if in_memory(addr) and addr not in skip:
            assert core.mem.read(addr, 1)[0] == value, hex(addr)
    core.close()
    image.close()
    return changing_stores


def test_views_agree_with_spike_at_every_step_of_a_c_program(hello, tmp_path):
    records = _spike_log(hello, tmp_path, stop="host_write")
    assert len(records) > 10_000
    assert _check_every_step(hello, records) > 500


def test_views_agree_with_spike_on_a_random_program_with_traps(random_elf, tmp_path):
    records = _spike_log(random_elf, tmp_path, stop="_exit")
    assert len(records) > 500
    assert _check_every_step(random_elf, records) > 25


def test_breakpoints_stop_before_the_right_instruction(hello, tmp_path):
    records = _spike_log(hello, tmp_path, stop="host_write")
    with RTLCore(hello) as core:
        assert core.pc == core.symbol("_start") and core.instret == 0 and core.last_retired is None
        main = core.symbol("main")
        assert core.run_until(pc="main") == Stop("breakpoint", main)
        assert core.pc == main and core.last_retired.pc != main
        assert core.instret == next(i for i, r in enumerate(records) if r.pc == main)
        assert core.disassemble() and "<main>" not in core.disassemble()
        # A breakpoint on the comparison function qsort calls stops before each call, in order.
        cmp = core.add_breakpoint("cmp_int")
        hits = []
        while len(hits) < 57:
            assert core.run_until() == Stop("breakpoint", cmp)
            hits.append(core.instret)
        assert hits == [i for i, r in enumerate(records) if r.pc == cmp]
        core.remove_breakpoint(cmp)
        assert core.run_until() == Stop("exit", None) and core.exit_code == 0
        assert "sorted: -471" in core.console


def test_step_costs_add_up_to_the_counters(hello):
    """A step's cycles are those since the previous instruction retired; minstret counts each step, mcycle
    every cycle (main's first instructions do not stop the counters)."""
    with RTLCore(hello) as core:
        core.run_until(pc="main")
        cycles, counters = core.cycles, dict(core.counters)
        steps = [core.step() for _ in range(200)]
        assert steps[0].retired_at == cycles and all(s.cycles >= 1 for s in steps)
        assert sum(s.cycles for s in steps[1:]) == steps[-1].retired_at - steps[0].retired_at
        assert core.counters["minstret"] - counters["minstret"] == 200
        assert core.counters["mcycle"] - counters["mcycle"] == core.cycles - cycles
        assert core.counters["load_use_stall"] == core.counters["mhpmcounter3"]
        assert set(core.counters) == {"mcycle", "minstret", *(f"mhpmcounter{i}" for i in range(3, 9))}
        assert core.regs["x2"] == core.regs["sp"] and core.regs["fp"] == core.regs["s0"]


def test_stepping_a_program_equals_running_it(hello, tmp_path):
    ref = sim.run(hello, "rtl", trace=tmp_path / "run.trace")
    fields = ("exit_code", "console", "instret", "cycles", "total_cycles", "counters", "trap")

    def same(result):
        return all(getattr(result, f) == getattr(ref, f) for f in fields)

    with RTLCore(hello, trace=tmp_path / "step.trace") as core:
        while not core.exited:
            core.step()
        assert same(core.run())
    assert (tmp_path / "step.trace").read_bytes() == (tmp_path / "run.trace").read_bytes()
    with RTLCore(hello) as core:
        while not core.exited:
            core.step_cycles(997)
        assert same(core.run())
    with RTLCore(hello) as core:
        result = core.run()
        assert same(result) and result.sim == "rtl" and result.sim_seconds > 0


def test_two_cores_in_one_process_are_independent(hello):
    a, b = RTLCore(hello), RTLCore(hello)
    a.run_until(pc="main")
    b.step(5)
    assert a.pc == a.symbol("main") and b.instret == 5
    b.run_until(pc="main")
    assert [a.regs[i] for i in range(32)] == [b.regs[i] for i in range(32)] and a.cycles == b.cycles
    a.mem.write("fromhost", b"\x07")
    assert b.mem.read("fromhost", 1) == b"\x00"
    a.close()
    b.close()


def test_memory_writes_land_before_the_pending_store(hello):
    """Stopped before a store, a write to its bytes lands under it (the store overwrites it); the bytes next
    to them keep the write."""
    with RTLCore(hello) as core:
        core.run_until(pc="main")
        while not re.match(r"sw\s+\w+,-?\d+\(sp\)", core.disassemble()):
            core.step()
        reg, offset = re.match(r"sw\s+(\w+),(-?\d+)\(sp\)", core.disassemble()).groups()
        addr, value = core.regs["sp"] + int(offset), core.regs[reg]
        core.mem.write(addr, b"\xaa" * 8)
        assert core.mem.read(addr, 8) == b"\xaa" * 8
        core.step()
        assert core.mem.read(addr, 8) == value.to_bytes(4, "little") + b"\xaa" * 4


def test_bad_use_is_one_clear_error(hello, tmp_path):
    with pytest.raises(EdgeSdkError, match="does not exist"):
        RTLCore(tmp_path / "missing.elf")
    core = RTLCore(hello)
    with pytest.raises(EdgeSdkError, match="no symbol 'mian'; did you mean main"):
        core.symbol("mian")
    with pytest.raises(EdgeSdkError, match="no symbol 'nosuch'"):
        core.run_until(pc="nosuch")
    with pytest.raises(EdgeSdkError, match="outside the core's memories"):
        core.mem.read(0x1000, 4)
    with pytest.raises(EdgeSdkError, match="outside the core's memories"):
        core.mem.write(MEM.dmem_base + MEM.dmem_bytes - 2, b"1234")
    with pytest.raises(EdgeSdkError, match="not an instruction address"):
        core.add_breakpoint(MEM.dmem_base)
    with pytest.raises(EdgeSdkError, match="not an instruction address"):
        core.run_until(pc=core.symbol("main") + 1)
    with pytest.raises(EdgeSdkError, match="no register 'q7'"):
        core.regs["q7"]
    assert "a0" in core.regs and "q7" not in core.regs
    with pytest.raises(EdgeSdkError, match="no counter"):
        core.counters["cycles"]
    with pytest.raises(EdgeSdkError, match="positive whole number"):
        core.step(0)
    with pytest.raises(SimLimitError, match="did not exit within 100 cycles") as err:
        core.run(max_cycles=100)
    assert err.value.limit == "max-cycles"
    with pytest.raises(EdgeSdkError, match=r"exited \(code 0\) before reaching"):
        core.run_until(pc="_start")
    for action in (core.step, lambda: core.step_cycles(1), core.run_until):
        with pytest.raises(EdgeSdkError, match="has exited"):
            action()
    assert core.run().exit_code == 0 and core.pc is None
    core.close()
    with pytest.raises(EdgeSdkError, match="closed"):
        core.regs["a0"]


def _debug(elf, commands, *flags):
    return subprocess.run([sys.executable, "-m", "edge_sdk.cli", "sim", str(elf), *flags], input=commands,
                          capture_output=True, text=True)


def test_cli_debugger_through_stdin(hello):
    proc = _debug(hello, "regs\nstep\n\nmem sp 16\ncounters\nx\nbreak cmp_int\ncontinue\ninfo\nbogus\n"
                         "delete cmp_int\ncontinue\nstep\nquit\n",
                  "--sim", "rtl", "--break", "main", "--interactive")
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert re.search(r"stopped at the breakpoint at 0x[0-9a-f]{8} <main>\n=> 0x[0-9a-f]{8} <main>: \S+", out)
    assert re.search(r"x2/sp 0x9001", out) and re.search(r"pc 0x[0-9a-f]{8} <main>", out)
    assert re.search(r"retired 0x[0-9a-f]{8} <main> in \d+ cycles?\n=> 0x[0-9a-f]{8} <main\+0x2>", out)
    assert out.count("retired 0x") == 2   # step and the repeated empty line (not the step after the exit)
    assert re.search(r"0x9000[0-9a-f]{4}: ([0-9a-f]{2} ){15}[0-9a-f]{2}", out)
    assert "mcycle" in out and "(load_use_stall)" in out
    assert re.search(r"stopped at the breakpoint at 0x[0-9a-f]{8} <cmp_int>", out)
    assert "breakpoints: 0x" in out and "error: unknown command 'bogus'" in out
    assert "sorted: -471" in out and "@edge-sdk-exit" not in out
    assert "the program exited with code 0" in out and "has exited" in out
    assert "[rtl] exit code 0" in proc.stderr


def test_cli_debugger_bad_use(hello):
    proc = _debug(hello, "", "--sim", "spike", "--interactive")
    assert proc.returncode == 2 and "add --sim rtl" in proc.stderr
    proc = _debug(hello, "", "--sim", "rtl", "--break", "main")
    assert proc.returncode == 2 and "add --interactive" in proc.stderr
    proc = _debug(hello, "", "--sim", "rtl", "--break", "nosuch", "--interactive")
    assert proc.returncode == 2 and "no symbol 'nosuch'" in proc.stderr and "Traceback" not in proc.stderr
    proc = _debug(hello, "quit\n", "--sim", "rtl", "--interactive")
    assert proc.returncode == 0 and "=> 0x80000000 <_start>" in proc.stdout
