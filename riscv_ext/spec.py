"""The single source of truth of the edge-sdk custom instructions: "xedge" and "xdec".

Two extensions: `xedge` (Xpulp-like SIMD dot products, register-offset and post-increment memory access, the
bdnz loop close) and `xdec` (the decimating load of N:M sparse kernels, on top of xedge). Every custom
instruction is described here once: name, extension, encoding (major opcode, funct3, funct7), operand
format, the class its performance counter counts, and its semantics in words. `riscv_ext.golden` gives the
bit-exact semantics; `riscv_ext.gen` turns this table into the C macros, the SystemVerilog decode package and
the Spike decode table.

All instructions live in the RISC-V custom opcode spaces (custom-0..3), so they never collide with a
standard extension.
"""
from __future__ import annotations

from dataclasses import dataclass

# Major opcodes of the custom spaces (bits [6:0]).
CUSTOM_0 = 0b0001011
CUSTOM_1 = 0b0101011
CUSTOM_2 = 0b1011011
CUSTOM_3 = 0b1111011

# The extensions (Spike extension / ISA-string names), each with what it is for.
EXTENSIONS = {
    "xedge": "SIMD int8 dot products, register-offset and post-increment loads/stores, bdnz",
    "xdec": "decimating byte load for N:M sparse kernels (needs xedge)",
}

# Instruction classes; each has one hardware performance counter (mhpmcounter<N>).
CLASSES = {"simd": 6, "mem": 7, "loop": 8}

# Base-pipeline event counters (mhpmcounter<N>), shared by RTL and firmware/include/perf.h.
EVENT_COUNTERS = {"load_use_stall": 3, "branch_penalty": 4, "muldiv_stall": 5}


@dataclass(frozen=True)
class Insn:
    name: str          # assembler-style mnemonic
    fmt: str           # "R", "I", "S" or "B": the standard RISC-V operand layout reused; "RS": R-type
                       # whose funct7 field is a 7-bit selector operand (sel)
    opcode: int        # custom major opcode
    funct3: int
    funct7: int | None  # R-type only
    cls: str           # key of CLASSES
    semantics: str     # one line, for people; golden.py is the executable version
    rs2_zero: bool = False  # B-type loop instruction: rs2 field must be zero
    ext: str = "xedge"      # key of EXTENSIONS

    @property
    def match(self) -> int:
        m = self.opcode | (self.funct3 << 12)
        if self.funct7 is not None:
            m |= self.funct7 << 25
        return m

    @property
    def mask(self) -> int:
        m = 0x7F | (0x7 << 12)
        if self.funct7 is not None:
            m |= 0x7F << 25
        if self.rs2_zero:
            m |= 0x1F << 20
        return m

    @property
    def ident(self) -> str:
        """Identifier form of the mnemonic: `lw.pi` -> `LW_PI`."""
        return self.name.replace(".", "_").upper()

    @property
    def directive(self) -> str:
        """The `.insn` directive that encodes it, ready for operands in its format's standard order
        (R: rd, rs1, rs2; I: rd, rs1, imm; S: rs2, imm(rs1); B: rs1, rs2, label)."""
        fields = f"{self.opcode:#x}, {self.funct3}" + (f", {self.funct7}" if self.fmt == "R" else "")
        return f".insn {self.fmt[0].lower()} {fields},"

    @property
    def writes_rs1(self) -> bool:
        return self.fmt in ("I", "S", "B")

    @property
    def reads_rd(self) -> bool:
        return self.cls == "simd" or self.fmt == "RS"


# Memory access widths share the base ISA's funct3 load/store codes.
_LOAD_WIDTHS = {"b": 0, "h": 1, "w": 2, "bu": 4, "hu": 5}
_STORE_WIDTHS = {"b": 0, "h": 1, "w": 2}

INSNS: tuple[Insn, ...] = (
    Insn("sdotsp.b", "R", CUSTOM_0, 0, 0, "simd",
         "rd += sum_i sext8(rs1.byte[i]) * sext8(rs2.byte[i]), i = 0..3 (signed x signed)"),
    Insn("sdotusp.b", "R", CUSTOM_0, 0, 1, "simd",
         "rd += sum_i zext8(rs1.byte[i]) * sext8(rs2.byte[i]), i = 0..3 (unsigned x signed)"),
    *(Insn(f"l{w}.rr", "R", CUSTOM_0, 4, f3, "mem",
           f"rd = {'sign' if not w.endswith('u') else 'zero'}-extended mem[rs1 + rs2] ({w[0]})")
      for w, f3 in _LOAD_WIDTHS.items()),
    *(Insn(f"l{w}.pi", "I", CUSTOM_1, f3, None, "mem",
           f"rd = {'sign' if not w.endswith('u') else 'zero'}-extended mem[rs1] ({w[0]}); rs1 += sext(imm12);"
           " when rd == rs1 the loaded value wins")
      for w, f3 in _LOAD_WIDTHS.items()),
    *(Insn(f"s{w}.pi", "S", CUSTOM_2, f3, None, "mem",
           f"mem[rs1] = rs2 ({w}); rs1 += sext(imm12)")
      for w, f3 in _STORE_WIDTHS.items()),
    Insn("bdnz", "B", CUSTOM_3, 0, None, "loop",
         "rs1 -= 1; if rs1 != 0: pc += sext(imm13) (branch-and-decrement loop close)", rs2_zero=True),
    # Decimating loads: funct3 = log2(M) - 1, sel = funct7 = log2(N) << 4 | k (riscv_ext/nm_format.py).
    *(Insn(f"dlb.m{m}", "RS", CUSTOM_0, m.bit_length() - 2, None, "mem",
           f"f = offset field k of rs2 ({m.bit_length() - 1} bits); rd = (rd >> 8) | "
           f"mem8[rs1 + (k >> log2 N) * {m} + f] << 24 (k = sel[3:0], log2 N = sel[5:4])", ext="xdec")
      for m in (4, 8, 16)),
)

BY_NAME = {i.name: i for i in INSNS}


DLB_M = {i.name: 1 << (i.funct3 + 1) for i in INSNS if i.fmt == "RS"}  # decimating load -> its M


def width_bytes(insn: Insn) -> int:
    """Access size of a memory instruction (1, 2 or 4)."""
    if insn.fmt == "RS":
        return 1
    code = insn.funct7 if insn.fmt == "R" else insn.funct3
    return {0: 1, 1: 2, 2: 4, 4: 1, 5: 2}[code]


def is_unsigned_load(insn: Insn) -> bool:
    return insn.fmt == "RS" or insn.name.split(".")[0].endswith("u")


def extension_insns(ext: str) -> tuple[Insn, ...]:
    return tuple(i for i in INSNS if i.ext == ext)


def decode(word: int) -> Insn | None:
    """The custom instruction a 32-bit word encodes, or None."""
    for insn in INSNS:
        if word & insn.mask == insn.match:
            return insn
    return None


def _check_unique() -> None:
    for a in INSNS:
        for b in INSNS:
            if a is not b and (a.match & b.mask) == b.match and (b.match & a.mask) == a.match:
                raise AssertionError(f"encodings of {a.name} and {b.name} overlap")


_check_unique()
