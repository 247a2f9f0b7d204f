"""C programs on both simulators: the same ELF gives the same console, exit code and instruction count."""
from __future__ import annotations

import pytest

from edge_sdk import EdgeSdkError, sim
from edge_sdk.demo import DEMO_SOURCES, kernel_figures
from edge_sdk.toolchain import FIRMWARE, compile_elf
from tests.conftest import SIMS


@pytest.fixture(scope="module")
def hello(build_dir):
    return compile_elf([FIRMWARE / "apps" / "hello.c"], build_dir / "hello.elf")


def test_picolibc_program_identical_on_both(hello):
    runs = {b: sim.run(hello, b) for b in SIMS}
    spike, rtl = runs["spike"], runs["rtl"]
    assert spike.exit_code == rtl.exit_code == 0
    assert spike.console == rtl.console
    assert "sorted: -471 -455" in spike.console and " 390\n" in spike.console
    assert "20! = 2432902008176640000" in spike.console
    assert "1000000007 / 97 = 10309278 rem 41" in spike.console
    assert "errno after overflow = ERANGE" in spike.console
    # Same retired-instruction count: the runtime stops the counters while it waits for the host.
    assert spike.instret == rtl.instret > 1000
    assert spike.cycles is None and rtl.cycles >= rtl.instret


def test_small_mcu_memory_configuration(build_dir):
    """The `mcu` configuration (64 KiB code, 256 KiB data) links, runs on both and rejects a too-big program."""
    elf = compile_elf([FIRMWARE / "apps" / "hello.c"], build_dir / "hello_mcu.elf", memory="mcu")
    outputs = {sim.run(elf, b, memory="mcu").console for b in SIMS}
    assert len(outputs) == 1 and "heap ok" in outputs.pop()
    with pytest.raises(EdgeSdkError, match="DMEM' overflowed"):
        _big_program(build_dir, memory="mcu")
    with pytest.raises(EdgeSdkError, match="configuration 'mcu'"):
        sim.run(_big_program(build_dir), "spike", memory="mcu")
    # A program built for the default configuration has its heap outside the small one.
    with pytest.raises(EdgeSdkError, match="heap at 0x91000000, outside the data memory of configuration 'mcu'"):
        sim.run(compile_elf([FIRMWARE / "apps" / "hello.c"], build_dir / "hello_default.elf"), "rtl", memory="mcu")


def _big_program(build_dir, memory="default"):
    src = build_dir / "big.c"
    src.write_text("static volatile char big[1 << 20] = {1};\nint main(void) { return big[12345]; }\n")
    return compile_elf([src], build_dir / f"big_{memory}.elf", memory=memory)


@pytest.mark.parametrize("isa", ["xedge", "base"])
def test_matmul_kernel_correct_on_both(isa, build_dir):
    elf = compile_elf(DEMO_SOURCES, build_dir / f"matmul_{isa}.elf", isa=isa, defines={"MM_M": 6, "MM_N": 10, "MM_K": 12})
    for backend in SIMS:
        r = sim.run(elf, backend)
        assert r.exit_code == 0, r.console
        assert "0 mismatches" in r.console
        assert kernel_figures(r.console)["macs"] == 6 * 10 * 12


def test_xedge_counters_count_custom_instructions(build_dir):
    elf = compile_elf(DEMO_SOURCES, build_dir / "matmul_counters.elf", defines={"MM_M": 2, "MM_N": 4, "MM_K": 16})
    r = sim.run(elf, "rtl")
    # One 2x4 block, K/4 = 4 iterations of 8 dot products, 6 post-increment loads and one bdnz.
    assert r.counters["simd_insns"] == 32
    assert r.counters["mem_insns"] == 24
    assert r.counters["loop_insns"] == 4


def test_stack_overflow_same_on_both(build_dir):
    """The stack sits at the bottom of DMEM (16 KiB in `mcu`): overflowing it faults at the same instruction
    with the same report on both simulators, and .data is untouched."""
    src = build_dir / "overflow.c"
    src.write_text("int data_word = 7;\n"
                   "__attribute__((noinline)) static int f(int n) { volatile int pad[8]; pad[n & 7] = n;\n"
                   "  return n ? f(n - 1) + pad[n & 7] : data_word; }\n"
                   "int main(void) { return f(1000) == 0; }\n")
    elf = compile_elf([src], build_dir / "overflow_mcu.elf", memory="mcu")
    runs = [sim.run(elf, b, memory="mcu") for b in SIMS]
    assert runs[0].trap == runs[1].trap and runs[0].trap.stack_overflow
    assert runs[0].trap.stack_top - runs[0].trap.stack_bottom == 16 * 1024
    assert runs[0].exit_code == runs[1].exit_code == 128 + 7
    assert "stack overflow" in str(runs[0].trap) and "--stack-size" in str(runs[0].trap)
    ok = compile_elf([src], build_dir / "overflow_ok.elf", memory="mcu", stack_size=64 * 1024)
    assert [sim.run(ok, b, memory="mcu").exit_code for b in SIMS] == [0, 0]


def test_instruction_limit_same_on_both(build_dir):
    """max_instructions bounds the same count on both simulators: hello runs ~22k instructions."""
    for b in SIMS:
        with pytest.raises(sim.SimLimitError, match="did not exit within 5000 instructions") as err:
            sim.run(_hello_elf(build_dir), b, max_instructions=5000)
        assert err.value.limit == "max-instructions"
        assert sim.run(_hello_elf(build_dir), b, max_instructions=100_000).exit_code == 0


def _hello_elf(build_dir):
    elf = build_dir / "hello.elf"
    return elf if elf.exists() else compile_elf([FIRMWARE / "apps" / "hello.c"], elf)
