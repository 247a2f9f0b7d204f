"""Disassembly of an ELF's code for the RTL debugger: the toolchain's objdump, run once per ELF, with the
custom instructions it cannot name (xedge, xdec: riscv_ext/spec.py) decoded here."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from edge_sdk.errors import EdgeSdkError
from riscv_ext import spec

OBJDUMP = "riscv64-unknown-elf-objdump"
ABI_NAMES = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
             "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6")

_LINE = re.compile(r"\s*([0-9a-f]+):\t([0-9a-f]+)\s+\t(\S+)(?:\t(.*))?$")


def _sext(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def custom(word: int, pc: int) -> str | None:
    """The assembly of a custom instruction (operands in its format's standard order), or None."""
    insn = spec.decode(word)
    if insn is None:
        return None
    rd, rs1, rs2 = (ABI_NAMES[word >> s & 31] for s in (7, 15, 20))
    if insn.fmt == "R":
        return f"{insn.name} {rd}, {rs1}, {rs2}"
    if insn.fmt == "RS":
        return f"{insn.name} {rd}, {rs1}, {rs2}, {word >> 25}"
    if insn.fmt == "I":
        return f"{insn.name} {rd}, {_sext(word >> 20, 12)}({rs1})"
    if insn.fmt == "S":
        return f"{insn.name} {rs2}, {_sext((word >> 25) << 5 | (word >> 7 & 31), 12)}({rs1})"
    imm = (word >> 31 & 1) << 12 | (word >> 7 & 1) << 11 | (word >> 25 & 63) << 5 | (word >> 8 & 15) << 1
    return f"{insn.name} {rs1}, 0x{(pc + _sext(imm, 13)) & 0xFFFF_FFFF:x}"


class Disassembly:
    """pc -> assembly text of every instruction in an ELF's code sections."""

    def __init__(self, elf: str | Path):
        self.elf = Path(elf)
        self._lines: dict[int, str] | None = None

    def _load(self) -> dict[int, str]:
        if self._lines is None:
            objdump = shutil.which(OBJDUMP)
            if objdump is None:
                raise EdgeSdkError(f"{OBJDUMP} not found: install the Debian package binutils-riscv64-unknown-elf "
                                   "(or run `make setup`)")
            proc = subprocess.run([objdump, "-d", str(self.elf)], capture_output=True, text=True, errors="replace")
            if proc.returncode != 0:
                raise EdgeSdkError(f"{OBJDUMP} could not disassemble '{self.elf}': {proc.stderr.strip()}")
            lines = {}
            for line in proc.stdout.splitlines():
                m = _LINE.match(line)
                if m:
                    pc, word = int(m.group(1), 16), int(m.group(2), 16)
                    text = f"{m.group(3)} {m.group(4) or ''}".strip()
                    if text.startswith((".4byte", ".word", ".insn")):
                        text = custom(word, pc) or text
                    lines[pc] = text
            self._lines = lines
        return self._lines

    def at(self, pc: int) -> str:
        """The instruction at `pc`, or a note that there is none there."""
        return self._load().get(pc, "(no instruction here in the ELF's code)")
