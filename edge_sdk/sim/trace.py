"""Commit traces in Spike's --log-commits format: parse, and compare two of them record by record.

A record is (pc, instruction bits, x-register writes, memory accesses, CSR writes). A trapping instruction
leaves no record on either simulator (it does not retire); the handler's first instruction comes next.

CSR writes (`c773_mtvec 0x...`: explicit ones of CSR instructions, and mret's `c768_mstatus ...
c784_mstatush 0x00000000`) are compared too, in log order, by default. Spike logs them after the x register,
with the CSR's value after the write (legalized); the RTL harness (hw/sim/edge_sim_main.cpp, `print_trace`)
prints the same from the core's retire ports (`retire_csr_*`, edge_csr.sv's `trace_*` says which writes Spike
logs and which it does not). Traps and interrupts leave no record, so the CSRs they write are compared through
the registers the handler reads them into. Writes to the cycle and hpm counters and to mip are never compared:
their values differ by design between a functional and a cycle-accurate simulator (mip's MTIP follows mtime).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"core\s+\d+: \d+ 0x([0-9a-f]+) \(0x([0-9a-f]+)\)(.*)")
_CSR = re.compile(r"c(\d+)_\w+")
# mcycle, mcycleh, mhpmcounter3..31 and their high halves: written values derive from the cycle count; mip:
# its timer bit from mtime.
UNCOMPARED_CSRS = frozenset({0xB00, 0xB80, *range(0xB03, 0xB20), *range(0xB83, 0xBA0), 0x344})


@dataclass(frozen=True)
class Record:
    pc: int
    insn: int
    writes: tuple[tuple[int, int], ...]        # (register, value), ascending register
    mem: tuple[tuple[int, int | None], ...]    # (address, stored value or None for a load)
    csrs: tuple[tuple[int, int], ...]          # (CSR number, value written), in log order; counters left out
    line: str

    def same_as(self, other: "Record", csrs: bool = True) -> bool:
        return ((self.pc, self.insn, self.writes, self.mem) == (other.pc, other.insn, other.writes, other.mem)
                and (not csrs or self.csrs == other.csrs))


def parse_line(line: str) -> Record | None:
    m = _LINE.match(line)
    if not m:
        return None
    tokens = m.group(3).split()
    writes, mem, csrs, i = [], [], [], 0
    while i < len(tokens):
        tok = tokens[i]
        if re.fullmatch(r"x\d+", tok):
            writes.append((int(tok[1:]), int(tokens[i + 1], 16) & 0xFFFF_FFFF))
            i += 2
        elif tok == "mem":
            addr = int(tokens[i + 1], 16)
            value = None
            if i + 2 < len(tokens) and tokens[i + 2].startswith("0x"):
                value = int(tokens[i + 2], 16)
                i += 1
            mem.append((addr, value))
            i += 2
        else:  # a CSR write ("c773_mtvec 0x...") or another register file's: name and value
            csr = _CSR.fullmatch(tok)
            if csr and int(csr.group(1)) not in UNCOMPARED_CSRS:
                csrs.append((int(csr.group(1)), int(tokens[i + 1], 16) & 0xFFFF_FFFF))
            i += 2
    return Record(int(m.group(1), 16), int(m.group(2), 16), tuple(sorted(writes)), tuple(mem), tuple(csrs),
                  line.rstrip())


def read_trace(path: str | Path, start_pc: int = 0, stop_pc: int | None = None) -> list[Record]:
    """Records from the first at `start_pc` or above, up to (not including) the first at `stop_pc`."""
    out = []
    with open(path) as f:
        for line in f:
            rec = parse_line(line)
            if rec is None or rec.pc < start_pc:
                continue
            if stop_pc is not None and rec.pc == stop_pc:
                break
            out.append(rec)
    return out


def logs_csr_writes(trace: list[Record]) -> bool:
    """Whether a trace logs CSR writes at all (any program's trace from `_start` has some: crt0 writes mtvec)."""
    return any(rec.csrs for rec in trace)


@dataclass
class Divergence:
    index: int
    expected: Record | None
    actual: Record | None

    def __str__(self) -> str:
        exp = self.expected.line if self.expected else "(trace ended)"
        act = self.actual.line if self.actual else "(trace ended)"
        return f"first divergence at retired instruction {self.index}:\n  spike: {exp}\n  rtl:   {act}"


def compare(expected: list[Record], actual: list[Record], csrs: bool = True) -> Divergence | None:
    """The first record where the traces differ, or None if they match exactly. CSR writes are compared unless
    `csrs` is false (a trace without them then differs at the first record of the other that has one)."""
    for i, (e, a) in enumerate(zip(expected, actual)):
        if not e.same_as(a, csrs):
            return Divergence(i, e, a)
    if len(expected) != len(actual):
        n = min(len(expected), len(actual))
        return Divergence(n, expected[n] if n < len(expected) else None, actual[n] if n < len(actual) else None)
    return None
