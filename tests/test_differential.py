"""Differential testing of the RTL against Spike on random programs: commit traces must match exactly.
CI runs a few dozen programs; `benchmarks/soak_differential.py` runs ten thousand."""
from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
from elftools.elf.elffile import ELFFile

from edge_sdk.sim.differential import diff_elf, diff_random
from edge_sdk.sim.randprog import CSR_OPS, HANDLER, RW_CSRS, generate
from edge_sdk.sim.trace import compare, logs_csr_writes, parse_line, read_trace
from edge_sdk.toolchain import compile_elf
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
    # CSR writes are compared by default: a record that lacks one differs.
    w = [parse_line("core   0: 3 0x80000020 (0x34029373) x6  0x00000000 c832_mscratch 0x00001234")]
    assert compare(w, [dataclasses.replace(w[0], csrs=())]).index == 0
    assert compare(w, [dataclasses.replace(w[0], csrs=())], csrs=False) is None


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
    # CSR writes, which both traces log: a wrong value (of each CSR the program writes), a lost one, mret's
    # lost mstatush.
    assert logs_csr_writes(spike) and logs_csr_writes(rtl)
    for csr in {c for rec in rtl for c, _ in rec.csrs}:
        k = next(k for k, rec in enumerate(rtl) if any(c == csr for c, _ in rec.csrs))
        wrong = tuple((c, v ^ 4 if c == csr else v) for c, v in rtl[k].csrs)
        planted = rtl[:k] + [dataclasses.replace(rtl[k], csrs=wrong)] + rtl[k + 1:]
        assert compare(spike, planted).index == k, hex(csr)
        assert compare(spike, planted, csrs=False) is None
    k = next(k for k, rec in enumerate(rtl) if rec.csrs and rec.writes)
    assert compare(spike, rtl[:k] + [dataclasses.replace(rtl[k], csrs=())] + rtl[k + 1:]).index == k
    k = next(k for k, rec in enumerate(rtl) if rec.insn == 0x30200073)
    assert compare(spike, rtl[:k] + [dataclasses.replace(rtl[k], csrs=rtl[k].csrs[:1])] + rtl[k + 1:]).index == k


def test_rtl_traces_log_csr_writes(run):
    """The RTL's commit trace logs the CSR writes the programs make (so the comparison covers them): every CSR
    of RW_CSRS, with each instruction form, mret's mstatus and mstatush, crt0's PMP and counter set-up."""
    written, forms, mrets = Counter(), Counter(), 0
    for seed in SEEDS:
        _, traces, _ = run(seed)
        for rec in traces["rtl"]:
            written.update(c for c, _ in rec.csrs)
            if rec.insn & 0x7F == 0x73 and rec.insn & 0x3000 and rec.csrs:
                forms[rec.insn >> 12 & 7] += 1
            if rec.insn == 0x30200073:
                assert [c for c, _ in rec.csrs] == [0x300, 0x310] and rec.csrs[1][1] == 0, rec.line
                mrets += 1
    numbers = {"mstatus": 0x300, "mie": 0x304, "mtvec": 0x305, "mcountinhibit": 0x320, "mscratch": 0x340,
               "mepc": 0x341, "mcause": 0x342, "mtval": 0x343}
    for name in RW_CSRS:
        assert written[numbers[name]] >= 10, (name, written)
    # crt0's set-up: pmpcfg0/1 (the programs write them again), pmpaddr0..7 (only crt0's writes are logged: the
    # programs' come after the entries are locked), minstret(h).
    for csr in (0x3A0, 0x3A1):
        assert written[csr] > len(SEEDS), (hex(csr), written)
    for csr in (*range(0x3B0, 0x3B8), 0xB02, 0xB82):
        assert written[csr] == len(SEEDS), (hex(csr), written)
    assert set(forms) == {1, 2, 3, 5, 6, 7} and mrets >= 10, (forms, mrets)


# Every CSR the core can write (and some it ignores), each written by every instruction form; the read-backs of
# the counters go to x0 (their values differ by design). misa is only written its own value and a bit that does
# not exist (Spike lets software switch extensions off; the core's misa is read-only).
SWEEP_CSRS = [0x300, 0x304, 0x305, 0x310, 0x320, 0x323, 0x33F, 0x340, 0x341, 0x342, 0x343, 0x344,
              *range(0x3A0, 0x3B0), *range(0x3B0, 0x3B9), 0x3EF, *range(0x7A0, 0x7A5), 0x7A8,
              0xB00, 0xB80, 0xB02, 0xB82, 0xB03, 0xB08, 0xB09, 0xB1F, 0xB83, 0xB9F]


def _csr_sweep() -> str:
    lines = [".option arch, +zicsr", ".text", ".globl main", ".align 2", "main:",
             "  csrr t4, mtvec", "  csrr t5, mstatus"]
    for csr in SWEEP_CSRS:
        rd = "x0" if csr >= 0xB00 and csr not in (0xB02, 0xB82) else "t1"
        lines += ["  li t0, -1", f"  csrrw {rd}, {csr:#x}, t0", f"  csrr {rd}, {csr:#x}",
                  f"  csrrw {rd}, {csr:#x}, zero", "  li t0, 0x12345678", f"  csrrs {rd}, {csr:#x}, t0",
                  f"  csrrc {rd}, {csr:#x}, t0", f"  csrrs {rd}, {csr:#x}, zero", f"  csrrc {rd}, {csr:#x}, zero",
                  f"  csrrsi {rd}, {csr:#x}, 0", f"  csrrci {rd}, {csr:#x}, 0", f"  csrrsi {rd}, {csr:#x}, 5",
                  f"  csrrci {rd}, {csr:#x}, 3", f"  csrrwi {rd}, {csr:#x}, 31",
                  f"  csrrw {'t0' if rd == 't1' else 'x0'}, {csr:#x}, t0"]
        if csr in (0x300, 0x304, 0x305, 0x320):  # mstatus.MIE off, no interrupt enabled, handler back
            lines += ["  csrw mstatus, t5", "  csrw mie, zero", "  csrw mtvec, t4", "  csrw mcountinhibit, zero"]
    lines += ["  csrr t0, misa", "  csrw misa, t0", "  csrsi misa, 1", "  csrci misa, 1",
              "  la t0, 1f", "  csrw mepc, t0", "  li t0, 0x80", "  csrs mstatus, t0", "  mret",
              "1:", "  la t0, edge_sweep_trap", "  csrw mtvec, t0", "  ecall", "  csrw mtvec, t4",
              "  csrw mstatus, t5", "  li a0, 0", "  ret",
              ".align 2", "edge_sweep_trap:", "  csrr t0, mepc", "  addi t0, t0, 4", "  csrw mepc, t0", "  mret"]
    return "\n".join(lines) + "\n"


def test_csr_writes_logged_as_on_spike(tmp_path):
    """Each CSR instruction form on each CSR: the RTL logs the same CSR writes as Spike, in the same words
    (names, values after the write, counters included), and nothing where Spike logs nothing (no write; the
    hpm counters; locked or absent PMP entries; tdata1..3)."""
    src = tmp_path / "csr_sweep.S"
    src.write_text(_csr_sweep())
    result = diff_elf(compile_elf([src], tmp_path / "csr_sweep.elf"), tmp_path)
    assert result.ok, str(result.divergence)
    with open(tmp_path / "csr_sweep.elf", "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        start, stop = (symtab.get_symbol_by_name(n)[0]["st_value"] for n in ("_start", "_exit"))
    spike, rtl = (read_trace(tmp_path / f"{s}.trace", start, stop) for s in ("spike", "rtl"))
    logged = [re.findall(r" (c\d+_\w+ 0x[0-9a-f]+)", rec.line) for rec in rtl]
    assert logged == [re.findall(r" (c\d+_\w+ 0x[0-9a-f]+)", rec.line) for rec in spike]
    assert sum(map(len, logged)) > 150
    text = "\n".join(rec.line for rec in rtl)
    for entry in ("c772_mie 0x00001888", "c773_mtvec 0xfffffffd", "c833_mepc 0xfffffffe", "c1704_hcontext 0x0000003f",
                  "c928_pmpcfg0 0x8d808b80", "c2818_minstret 0xffffffff", "c803_mhpmevent3 0x00000000",
                  "c768_mstatus 0x00001888 c784_mstatush 0x00000000"):
        assert entry in text, entry
