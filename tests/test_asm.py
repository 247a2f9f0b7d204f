"""Per-instruction self-checking assembly tests (tests/asm/*.S) on both simulators: exit code 0 means every
check passed; otherwise the exit code is the number of the failing check."""
from __future__ import annotations

import pytest

from edge_sdk import sim
from edge_sdk.toolchain import compile_elf
from tests.conftest import ROOT, SIMS

ASM_DIR = ROOT / "tests" / "asm"
ASM_TESTS = sorted(p.name for p in ASM_DIR.glob("*.S"))


def test_every_instruction_group_has_a_test():
    groups = {"rv32i_alu.S", "rv32i_mem.S", "rv32i_ctrl.S", "rv32m.S", "rv32c.S", "zicsr.S", "xedge_simd.S",
              "xedge_mem.S", "xedge_loop.S"}
    assert groups <= set(ASM_TESTS)


def test_every_custom_instruction_is_exercised():
    import re

    from riscv_ext import spec
    text = "".join((ASM_DIR / n).read_text() for n in ASM_TESTS if n.startswith(tuple(spec.EXTENSIONS)))
    for insn in spec.INSNS:
        assert re.search(rf"\b{insn.ident}\b", text), insn.name


@pytest.mark.parametrize("name", ASM_TESTS)
@pytest.mark.parametrize("backend", SIMS)
def test_asm(name, backend, build_dir):
    elf = build_dir / f"asm_{name}.elf"
    if not elf.exists():
        compile_elf([ASM_DIR / name], elf, include_dirs=(ASM_DIR,), isa="xdec" if name.startswith("xdec_") else "xedge")
    result = sim.run(elf, backend, max_cycles=2_000_000)
    assert result.trap is None, f"{name} trapped on {backend}: {result.trap}"
    assert result.exit_code == 0, f"{name}: check {result.exit_code} failed on {backend}"


def test_decimating_load_is_illegal_on_the_xedge_core(build_dir):
    """Code built for --isa xedge runs on the core without the sparse extension: dlb traps on both simulators."""
    elf = compile_elf([ASM_DIR / "xdec_load.S"], build_dir / "xdec_on_xedge.elf", include_dirs=(ASM_DIR,))
    for backend in SIMS:
        trap = sim.run(elf, backend, max_cycles=100_000).trap
        assert trap is not None and trap.mcause == 2, backend


def test_a_wrong_expectation_fails(build_dir, tmp_path):
    """The harness of these tests can fail: a planted wrong expected value is reported with its number."""
    src = tmp_path / "wrong.S"
    src.write_text('#include "test_macros.h"\nTEST_BEGIN\n  TEST_RR(7, add, 4, 1, 2)\nTEST_END\n')
    elf = compile_elf([src], build_dir / "wrong.elf", include_dirs=(ASM_DIR,))
    assert [sim.run(elf, b).exit_code for b in SIMS] == [7, 7]
