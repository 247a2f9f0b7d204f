"""The single source of truth of the edge-sdk custom instructions ("xedge").

Every custom instruction is described here once: name, encoding (major opcode, funct3, funct7), operand
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

# Spike extension / ISA-string name.
EXTENSION = "xedge"

# Instruction classes; each has one hardware performance counter (mhpmcounter<N>).
CLASSES = {"simd": 6, "mem": 7, "loop": 8}

# Base-pipeline event counters (mhpmcounter<N>), shared by RTL and firmware/include/perf.h.
EVENT_COUNTERS = {"load_use_stall": 3, "branch_penalty": 4, "muldiv_stall": 5}


@dataclass(frozen=True)
class Insn:
    name: str          # assembler-style mnemonic
    fmt: str           # "R", "I", "S" or "B": the standard RISC-V operand layout reused
    opcode: int        # custom major opcode
    funct3: int
    funct7: int | None  # R-type only
    cls: str           # key of CLASSES
    semantics: str     # one line, for people; golden.py is the executable version
    rs2_zero: bool = False  # B-type loop instruction: rs2 field must be zero

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
        return f".insn {self.fmt.lower()} {fields},"

    @property
    def writes_rs1(self) -> bool:
        return self.fmt in ("I", "S", "B")

    @property
    def reads_rd(self) -> bool:
        return self.cls == "simd"


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
)

BY_NAME = {i.name: i for i in INSNS}


def width_bytes(insn: Insn) -> int:
    """Access size of a memory instruction (1, 2 or 4)."""
    code = insn.funct7 if insn.fmt == "R" else insn.funct3
    return {0: 1, 1: 2, 2: 4, 4: 1, 5: 2}[code]


def is_unsigned_load(insn: Insn) -> bool:
    return insn.name.split(".")[0].endswith("u")


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
