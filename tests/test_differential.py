"""Differential testing of the RTL against Spike on random programs: commit traces must match exactly.
CI runs a few dozen programs; `benchmarks/soak_differential.py` runs ten thousand."""
from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
from elftools.elf.elffile import ELFFile

from edge_sdk.sim.differential import diff_random
from edge_sdk.sim.randprog import CSR_OPS, HANDLER, RW_CSRS, generate
from edge_sdk.sim.trace import compare, logs_csr_writes, parse_line, read_trace
from riscv_ext import spec

SEEDS = range(32)
BLOCKS = 80
TRAP_CAUSES = {1, 2, 3, 4, 5, 6, 7, 11}   # every exception the platform can raise (0 needs a misaligned pc)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """run(seed) -> (DiffResult, {"spike"/"rtl": trace records from _start to _exit}, {symbol: address}): one
    build and run per seed, kept for every test of the module."""
    cache = {}

    def get(seed: int):
        if seed not in cache:
            work = tmp_path_factory.mktemp(f"diff{seed}")
            result = diff_random(seed, n_blocks=BLOCKS, workdir=work)
            with open(work / f"rand_{seed}.elf", "rb") as f:
                symtab = ELFFile(f).get_section_by_name(".symtab")
                syms = {s.name: s["st_value"] for s in symtab.iter_symbols() if s.name}
            traces = {s: read_trace(work / f"{s}.trace", syms["_start"], syms["_exit"]) for s in ("spike", "rtl")}
            cache[seed] = result, traces, syms
        return cache[seed]

    return get


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_traces_match(seed, run):
    result, _, _ = run(seed)
    assert result.divergence is None, str(result.divergence)
    assert result.console_equal and result.exit_codes == (0, 0)
    assert result.retired > 300


def test_programs_take_every_trap_and_return(run):
    """The handler runs for every exception cause; mret, c.jal, c.jalr, c.jr and c.addi4spn retire."""
    causes, retired = Counter(), Counter()
    for seed in SEEDS:
        _, traces, syms = run(seed)
        for rec in traces["rtl"]:
            if rec.pc == syms[HANDLER]:
                causes[rec.writes[0][1]] += 1   # its first instruction reads mcause
            if rec.insn == 0x30200073:
                retired["mret"] += 1
            elif rec.insn & 3 != 3:
                name = {0x2001: "c.jal", 0x0000: "c.addi4spn"}.get(rec.insn & 0xE003)
                if rec.insn & 0xF07F in (0x8002, 0x9002) and rec.insn & 0x0F80:
                    name = "c.jr" if rec.insn & 0xF000 == 0x8000 else "c.jalr"
                retired[name] += 1
    assert set(causes) == TRAP_CAUSES, causes
    assert min(causes.values()) >= 5, causes
    for name in ("mret", "c.jal", "c.jalr", "c.jr", "c.addi4spn"):
        assert retired[name] >= 10, (name, retired)


def _instructions(text: str) -> list[str]:
    """The program's instruction lines (labels and .option directives left out)."""
    return [line.split("#")[0].strip() for line in text.splitlines()
            if line.startswith("    ") and not line.strip().startswith((".option", ".align"))]


def test_generator_covers_every_feature():
    text = "\n".join(generate(seed, 80) for seed in range(40))
    for insn in spec.INSNS:
        assert insn.directive in text, insn.name
    mnemonics = Counter(line.split()[0] for line in _instructions(text))
    for m in ("c.lw", "c.swsp", "div", "mulhsu", "jalr", "c.beqz", "ecall", "ebreak", "c.ebreak", "mret", "call",
              "c.jal", "c.jalr", "c.jr", "jr", "c.addi4spn", ".2byte", ".4byte", *CSR_OPS):
        assert mnemonics[m] >= 10, (m, mnemonics[m])
    for csr in RW_CSRS:  # each written by each CSR instruction form
        for op in CSR_OPS:
            assert re.search(rf"^    {op} \w+, {csr}, ", text, re.M), (op, csr)
    for csr in ("mscratch", "mepc", "mtvec", "mie", "mstatus", "mcountinhibit", "mcause", "mtval", "minstret"):
        assert re.search(rf"^    csrr x\d+, {csr}$", text, re.M), csr   # read back into a compared register


LOAD = re.compile(r"(?:c\.lw|lw|lh|lhu|lb|lbu|\.insn i 0x2b, \d+,) (x\d+), ")


def test_generator_plants_load_use_hazards():
    """A load's rd used by the very next instruction: as an ALU operand, a branch operand, store data, a load or
    store address, a jump target."""
    uses = Counter()
    for seed in range(8):
        lines = _instructions(generate(seed, 80))
        for load, nxt in zip(lines, lines[1:]):
            m = LOAD.match(load)
            if not m or " " not in nxt:
                continue
            rd, (op, operands) = m.group(1), nxt.split(None, 1)
            regs = re.findall(r"x\d+", operands)
            if f"({rd})" in operands:
                uses["jump" if op == "jalr" else "address"] += 1
            elif op == "c.jalr" and regs == [rd]:
                uses["jump"] += 1
            elif rd in regs and (op.startswith("b") or op.startswith("c.b")):
                uses["branch"] += 1
            elif op in ("sw", "sh", "sb") and regs[0] == rd:
                uses["store data"] += 1
            elif rd in regs[1:]:
                uses["operand"] += 1
    for use in ("branch", "jump", "address", "store data", "operand"):
        assert uses[use] >= 5, (use, uses)


def test_generator_is_deterministic():
    assert generate(5) == generate(5) != generate(6)


def test_comparator_reports_first_divergence():
    a = [parse_line("core   0: 3 0x80000000 (0x00a00513) x10 0x0000000a"),
         parse_line("core   0: 3 0x80000004 (0x0002a283) x5  0x00000001 mem 0x90000000")]
    b = [a[0], parse_line("core   0: 3 0x80000004 (0x0002a283) x5  0x00000002 mem 0x90000000")]
    d = compare(a, b)
    assert d.index == 1 and "x5  0x00000002" in str(d)
    assert compare(a, a) is None
    assert compare(a, a[:1]).index == 1
    # Stores compare address and value; CSR writes are parsed, the counters' left out.
    assert parse_line("core   0: 3 0x80000034 (0x0002a023) mem 0x90000758 0x00000000").mem == ((0x90000758, 0),)
    rec = parse_line("core   0: 3 0x80000020 (0x30529073) c773_mtvec 0x80000058")
    assert rec.writes == () and rec.csrs == ((0x305, 0x80000058),)
    assert parse_line("core   0: 3 0x80000528 (0x30200073) c768_mstatus 0x00001880 c784_mstatush 0x00000000").csrs \
        == ((0x300, 0x1880), (0x310, 0))
    assert parse_line("core   0: 3 0x8000009c (0xb0001073) c2816_mcycle 0x00000005").csrs == ()


def test_planted_differences_are_caught(run):
    """A wrong mcause in the handler, a wrong load address, a lost record, a wrong CSR write: each is reported
    at its record."""
    _, traces, syms = run(SEEDS[0])
    spike, rtl = traces["spike"], traces["rtl"]
    assert compare(spike, rtl) is None
    i = next(k for k, rec in enumerate(rtl) if rec.pc == syms[HANDLER])
    (reg, cause), = rtl[i].writes
    planted = rtl[:i] + [dataclasses.replace(rtl[i], writes=((reg, cause ^ 1),))] + rtl[i + 1:]
    assert compare(spike, planted).index == i
    j = next(k for k, rec in enumerate(rtl) if rec.mem and rec.mem[0][1] is None)
    planted = rtl[:j] + [dataclasses.replace(rtl[j], mem=((rtl[j].mem[0][0] + 4, None),))] + rtl[j + 1:]
    assert compare(spike, planted).index == j
    assert compare(spike, rtl[:i] + rtl[i + 1:]).index == i
    # CSR writes: compared when both traces log them (Spike's do; the RTL harness logs none).
    k = next(k for k, rec in enumerate(spike) if rec.csrs)
    (csr, value), *rest = spike[k].csrs
    planted = spike[:k] + [dataclasses.replace(spike[k], csrs=((csr, value ^ 4), *rest))] + spike[k + 1:]
    assert compare(spike, planted).index == k
    assert compare(spike, planted, csrs=False) is None
    assert logs_csr_writes(spike)
