"""The ISA's single source of truth: generated files are fresh, encodings are sound, and the golden semantics
agree with an independent model and with the Spike extension, the RTL and the C macros on random operands."""
from __future__ import annotations

import random

import numpy as np
import pytest

from edge_sdk import sim
from edge_sdk.toolchain import compile_elf
from riscv_ext import gen, golden, spec
from tests.conftest import SIMS

CUSTOM_OPCODES = {spec.CUSTOM_0, spec.CUSTOM_1, spec.CUSTOM_2, spec.CUSTOM_3}


def test_generated_files_are_fresh():
    assert gen.main(["--check"]) == 0


def test_stale_generated_file_is_detected(tmp_path, monkeypatch):
    stale = tmp_path / "edge_insn.h"
    stale.write_text("/* hand-edited */\n")
    monkeypatch.setitem(gen.GENERATED, stale, gen.c_header)
    assert gen.main(["--check"]) == 1


def test_encodings_live_in_custom_space_and_decode_back():
    for insn in spec.INSNS:
        assert insn.opcode in CUSTOM_OPCODES
        assert spec.decode(insn.match) is insn
        assert insn.match & ~insn.mask == 0
    assert spec.decode(0x00000033) is None  # add x0, x0, x0


def _np_dot(acc, a, b, a_signed):
    av = np.frombuffer(a.to_bytes(4, "little"), dtype=np.int8 if a_signed else np.uint8).astype(np.int64)
    bv = np.frombuffer(b.to_bytes(4, "little"), dtype=np.int8).astype(np.int64)
    return (acc + int(av @ bv)) & golden.MASK32


def test_golden_dot_products_match_numpy():
    rng = random.Random(1)
    for _ in range(2000):
        acc, a, b = (rng.getrandbits(32) for _ in range(3))
        assert golden.sdotsp_b(acc, a, b) == _np_dot(acc, a, b, True)
        assert golden.sdotusp_b(acc, a, b) == _np_dot(acc, a, b, False)


def _state(data: bytearray, base: int):
    def load(addr, size):
        return int.from_bytes(data[addr - base:addr - base + size], "little")

    def store(addr, size, value):
        data[addr - base:addr - base + size] = value.to_bytes(size, "little")
    return golden.State(load=load, store=store)


def _encode_i(insn, rd, rs1, imm):
    return insn.match | (rd << 7) | (rs1 << 15) | ((imm & 0xFFF) << 20)


def test_golden_post_increment_load_and_rd_equal_rs1():
    data = bytearray(range(16))
    st = _state(data, 0x1000)
    st.x[5] = 0x1004
    golden.execute(_encode_i(spec.BY_NAME["lw.pi"], 6, 5, -4), st)
    assert (st.x[6], st.x[5], st.pc) == (0x07060504, 0x1000, 4)
    golden.execute(_encode_i(spec.BY_NAME["lh.pi"], 5, 5, 8), st)  # rd == rs1: the loaded value wins
    assert st.x[5] == 0x0100


def test_golden_bdnz():
    assert golden.bdnz(3, 0x100, -8) == (2, 0xF8)
    assert golden.bdnz(1, 0x100, -8) == (0, 0x104)
    assert golden.bdnz(0, 0x100, -8) == (0xFFFFFFFF, 0xF8)


def test_execute_rejects_base_instruction():
    with pytest.raises(ValueError, match="not a custom"):
        golden.execute(0x00000033, _state(bytearray(4), 0))


def _operand_program(seed: int, n: int = 24):
    """C code that runs every custom instruction on random operands through the generated macros and prints
    the results; and the same results from the golden model."""
    rng = random.Random(seed)
    data = bytes(rng.getrandbits(8) for _ in range(320))
    lines, expected = [], []
    for _ in range(n):
        acc, a, b = (rng.getrandbits(32) for _ in range(3))
        for name, fn in (("SDOTSP_B", golden.sdotsp_b), ("SDOTUSP_B", golden.sdotusp_b)):
            lines.append(f"{{ uint32_t acc = {acc}u; EDGE_{name}(acc, {a}u, {b}u); show(acc); }}")
            expected.append(fn(acc, a, b))
    for insn in spec.INSNS:
        if insn.fmt == "RS":  # decimating load: any offsets word, every selector field
            m = spec.DLB_M[insn.name]
            for _ in range(6):
                old, offsets, sel = rng.getrandbits(32), rng.getrandbits(32), rng.randrange(64)
                base = rng.randrange(0, len(data) - golden.dlb_address(0, offsets, sel, m))
                addr = golden.dlb_address(base, offsets, sel, m)
                lines.append(f"{{ uint32_t v = {old}u; EDGE_{insn.ident}(v, data + {base}, {offsets}u, {sel}); show(v); }}")
                expected.append(golden.dlb_merge(old, data[addr]))
            continue
        if insn.cls != "mem":
            continue
        size = spec.width_bytes(insn)
        for _ in range(4):
            off = rng.randrange(0, 32, size)
            raw = int.from_bytes(data[off:off + size], "little")
            value = golden.extend_load(raw, size, spec.is_unsigned_load(insn))
            step = rng.choice([size, -size, rng.randint(-64, 64)])
            if insn.fmt == "R":
                lines.append(f"{{ uint32_t v; EDGE_{insn.ident}(v, data, {off}); show(v); }}")
                expected.append(value)
            elif insn.fmt == "I":
                lines.append(f"{{ uint32_t v; const uint8_t *p = data + {off}; EDGE_{insn.ident}(v, p, {step}); "
                             f"show(v); show((uint32_t)(p - data)); }}")
                expected += [value, (off + step) & golden.MASK32]
            else:
                new = rng.getrandbits(32)
                lines.append(f"{{ uint8_t *p = scratch + {off}; EDGE_{insn.ident}({new}u, p, {step}); "
                             f"show(*(uint32_t *)(scratch + {off - off % 4})); show((uint32_t)(p - scratch)); "
                             f"*(uint32_t *)(scratch + {off - off % 4}) = 0; }}")
                word = (new & ((1 << (8 * size)) - 1)) << (8 * (off % 4))
                expected += [word, (off + step) & golden.MASK32]
    src = "\n".join([
        "#include <stdint.h>", "#include <stdio.h>", '#include "edge_insn.h"',
        f"static uint8_t data[320] __attribute__((aligned(4))) = {{{', '.join(map(str, data))}}};",
        "static uint8_t scratch[64] __attribute__((aligned(4)));",
        'static void show(uint32_t v) { printf("%08lx\\n", (unsigned long)v); }',
        "int main(void) {", *lines, "return 0; }", ""])
    return src, [f"{v:08x}" for v in expected]


@pytest.mark.parametrize("seed", [11, 12])
def test_macros_spike_and_rtl_match_golden(seed, tmp_path):
    src, expected = _operand_program(seed)
    (tmp_path / "ops.c").write_text(src)
    elf = compile_elf([tmp_path / "ops.c"], tmp_path / "ops.elf", isa="xdec")
    for backend in SIMS:
        result = sim.run(elf, backend)
        assert result.exit_code == 0
        assert result.console.split() == expected, backend
