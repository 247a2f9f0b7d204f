"""Bit-exact semantics of the custom instructions (xedge and xdec).

This is the reference every other implementation (the RTL, the Spike extension, the firmware macros) is
tested against. Registers are unsigned 32-bit Python ints; `execute` applies one instruction to a `State`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from riscv_ext import spec

MASK32 = 0xFFFF_FFFF


def sext(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def rd(word: int) -> int:
    return (word >> 7) & 0x1F


def rs1(word: int) -> int:
    return (word >> 15) & 0x1F


def rs2(word: int) -> int:
    return (word >> 20) & 0x1F


def imm_i(word: int) -> int:
    return sext(word >> 20, 12)


def imm_s(word: int) -> int:
    return sext(((word >> 25) << 5) | ((word >> 7) & 0x1F), 12)


def imm_b(word: int) -> int:
    v = (((word >> 31) & 1) << 12) | (((word >> 7) & 1) << 11) | (((word >> 25) & 0x3F) << 5) \
        | (((word >> 8) & 0xF) << 1)
    return sext(v, 13)


def _bytes(value: int, signed: bool) -> list[int]:
    out = [(value >> (8 * i)) & 0xFF for i in range(4)]
    return [sext(b, 8) for b in out] if signed else out


def sdotsp_b(acc: int, a: int, b: int) -> int:
    """acc + sum of the four signed x signed byte products."""
    return (acc + sum(x * y for x, y in zip(_bytes(a, True), _bytes(b, True)))) & MASK32


def sdotusp_b(acc: int, a: int, b: int) -> int:
    """acc + sum of the four unsigned(a) x signed(b) byte products."""
    return (acc + sum(x * y for x, y in zip(_bytes(a, False), _bytes(b, True)))) & MASK32


def extend_load(raw: int, size: int, unsigned: bool) -> int:
    return raw & MASK32 if unsigned or size == 4 else sext(raw, 8 * size) & MASK32


def dlb_address(base: int, offsets: int, sel: int, m: int) -> int:
    """Address of the decimating load: field k of `offsets` (log2(M) bits, LSB first; fields past bit 31 read
    as zero) plus the static displacement (k >> log2 N) * M of its group inside the offsets word."""
    bits = m.bit_length() - 1
    k, log2_n = sel & 0xF, (sel >> 4) & 0x3
    field = (offsets >> (k * bits)) & (m - 1)
    return (base + (k >> log2_n) * m + field) & MASK32


def dlb_merge(old: int, byte: int) -> int:
    """Shift the loaded byte in from the top: four loads leave the first one in byte 0 (a SIMD operand)."""
    return ((old >> 8) | ((byte & 0xFF) << 24)) & MASK32


def bdnz(counter: int, pc: int, offset: int) -> tuple[int, int]:
    """(new counter, next pc) of the branch-and-decrement loop close."""
    new = (counter - 1) & MASK32
    return new, ((pc + offset) & MASK32 if new != 0 else (pc + 4) & MASK32)


@dataclass
class State:
    """Architectural state the custom instructions touch."""
    load: Callable[[int, int], int]           # (addr, size) -> unsigned value
    store: Callable[[int, int, int], None]    # (addr, size, value)
    x: list[int] = field(default_factory=lambda: [0] * 32)
    pc: int = 0

    def write(self, reg: int, value: int) -> None:
        if reg:
            self.x[reg] = value & MASK32


def execute(word: int, state: State) -> None:
    """Execute one custom instruction on `state` (pc advanced). Raises ValueError if `word` is not one."""
    insn = spec.decode(word)
    if insn is None:
        raise ValueError(f"0x{word:08x} is not a custom (xedge/xdec) instruction")
    x, d, s1, s2 = state.x, rd(word), rs1(word), rs2(word)
    next_pc = (state.pc + 4) & MASK32
    if insn.name == "sdotsp.b":
        state.write(d, sdotsp_b(x[d], x[s1], x[s2]))
    elif insn.name == "sdotusp.b":
        state.write(d, sdotusp_b(x[d], x[s1], x[s2]))
    elif insn.fmt == "RS":  # decimating load
        addr = dlb_address(x[s1], x[s2], word >> 25, spec.DLB_M[insn.name])
        state.write(d, dlb_merge(x[d], state.load(addr, 1)))
    elif insn.name.endswith(".rr"):
        size = spec.width_bytes(insn)
        state.write(d, extend_load(state.load((x[s1] + x[s2]) & MASK32, size), size, spec.is_unsigned_load(insn)))
    elif insn.fmt == "I":  # post-increment load; the loaded value wins when rd == rs1
        size = spec.width_bytes(insn)
        value = extend_load(state.load(x[s1], size), size, spec.is_unsigned_load(insn))
        state.write(s1, x[s1] + imm_i(word))
        state.write(d, value)
    elif insn.fmt == "S":  # post-increment store
        size = spec.width_bytes(insn)
        state.store(x[s1], size, x[s2] & ((1 << (8 * size)) - 1))
        state.write(s1, x[s1] + imm_s(word))
    elif insn.name == "bdnz":
        counter, next_pc = bdnz(x[s1], state.pc, imm_b(word))
        state.write(s1, counter)
    else:  # pragma: no cover - spec and golden out of step
        raise AssertionError(f"no golden semantics for {insn.name}")
    state.pc = next_pc
