"""cocotb tests of the core's units with constrained-random stimulus, checked against riscv_ext/golden.py
(custom instructions, their encodings) or a Python model of the RISC-V specification (base ALU, M, CSRs).
Driven from tests/hw/test_units.py through cocotb's Python runner; each test names its toplevel."""
from __future__ import annotations

import random
import re
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, Timer

from riscv_ext import golden, spec

M32 = 0xFFFF_FFFF
N_RANDOM = 400
RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"


def s32(v: int) -> int:
    return golden.sext(v, 32)


# ----------------------------------------------------------------------------- reference models
ALU_OPS = ["AluAdd", "AluSub", "AluSll", "AluSlt", "AluSltu", "AluXor", "AluSrl", "AluSra", "AluOr", "AluAnd",
           "AluPassB"]


def alu_model(op: str, a: int, b: int) -> int:
    sh = b & 31
    return {
        "AluAdd": a + b, "AluSub": a - b, "AluSll": a << sh, "AluSlt": int(s32(a) < s32(b)),
        "AluSltu": int(a < b), "AluXor": a ^ b, "AluSrl": a >> sh, "AluSra": s32(a) >> sh, "AluOr": a | b,
        "AluAnd": a & b, "AluPassB": b,
    }[op] & M32


def muldiv_model(funct3: int, a: int, b: int) -> int:
    sa, sb = s32(a), s32(b)
    if funct3 == 0:
        return (a * b) & M32
    if funct3 == 1:
        return ((sa * sb) >> 32) & M32
    if funct3 == 2:
        return ((sa * b) >> 32) & M32
    if funct3 == 3:
        return ((a * b) >> 32) & M32
    if funct3 == 4:  # div
        if b == 0:
            return M32
        if sa == -2**31 and sb == -1:
            return a
        q = abs(sa) // abs(sb)
        return (q if (sa < 0) == (sb < 0) else -q) & M32
    if funct3 == 5:
        return M32 if b == 0 else a // b
    if funct3 == 6:  # rem
        if b == 0:
            return a
        if sa == -2**31 and sb == -1:
            return 0
        r = abs(sa) % abs(sb)
        return (r if sa >= 0 else -r) & M32
    return a if b == 0 else a % b


def operand(rng: random.Random) -> int:
    """Random 32-bit operands with the corner values over-represented."""
    return rng.choice([rng.getrandbits(32), rng.getrandbits(32), rng.choice([0, 1, M32, 0x80000000, 0x7FFFFFFF,
                                                                           0x80, 0x7F, 0xFF, 0xFFFFFF80])])


# ----------------------------------------------------------------------------- packed struct access
def struct_fields() -> dict[str, tuple[int, int]]:
    """(lsb, width) of each field of edge_core_pkg::decoded_t, read from the package source."""
    text = (RTL / "edge_core_pkg.sv").read_text()
    enum_width = {m.group(2): int(m.group(1)) + 1
                  for m in re.finditer(r"typedef enum logic \[(\d+):0\] \{[^}]*\} (\w+);", text)}
    body = re.search(r"typedef struct packed \{(.*?)\} decoded_t;", text, re.S).group(1)
    fields = []
    for line in body.splitlines():
        m = re.match(r"\s*(logic(?:\s*\[(\d+):(\d+)\])?|\w+_e)\s+(\w+);", line)
        if m:
            width = int(m.group(2)) - int(m.group(3)) + 1 if m.group(2) else enum_width.get(m.group(1), 1)
            fields.append((m.group(4), width))
    out, lsb = {}, 0
    for name, width in reversed(fields):
        out[name] = (lsb, width)
        lsb += width
    return out


def field(value: int, fields: dict, name: str) -> int:
    lsb, width = fields[name]
    return (value >> lsb) & ((1 << width) - 1)


# ----------------------------------------------------------------------------- tests
@cocotb.test()
async def alu_random(dut):
    rng = random.Random(1)
    for _ in range(N_RANDOM):
        op_index = rng.randrange(len(ALU_OPS))
        a, b = operand(rng), operand(rng)
        dut.op_i.value, dut.a_i.value, dut.b_i.value = op_index, a, b
        await Timer(1, unit="ns")
        assert int(dut.result_o.value) == alu_model(ALU_OPS[op_index], a, b), (ALU_OPS[op_index], hex(a), hex(b))


@cocotb.test()
async def dotp_random(dut):
    rng = random.Random(2)
    for _ in range(N_RANDOM):
        acc, a, b, uns = operand(rng), operand(rng), operand(rng), rng.getrandbits(1)
        dut.acc_i.value, dut.a_i.value, dut.b_i.value, dut.a_unsigned_i.value = acc, a, b, uns
        await Timer(1, unit="ns")
        expected = (golden.sdotusp_b if uns else golden.sdotsp_b)(acc, a, b)
        assert int(dut.result_o.value) == expected, (hex(acc), hex(a), hex(b), uns)


@cocotb.test()
async def decimate_random(dut):
    """The decimating load's displacement against golden.dlb_address, every M and selector, random offsets."""
    rng = random.Random(5)
    for _ in range(N_RANDOM):
        m = rng.choice(list(spec.DLB_M.values()))
        offsets, sel = operand(rng), rng.randrange(128)
        dut.offsets_i.value, dut.sel_i.value, dut.bits_i.value = offsets, sel, m.bit_length() - 1
        await Timer(1, unit="ns")
        assert int(dut.disp_o.value) == golden.dlb_address(0, offsets, sel, m), (hex(offsets), sel, m)


@cocotb.test()
async def loop_unit_random(dut):
    rng = random.Random(3)
    for counter in [0, 1, 2, M32] + [operand(rng) for _ in range(N_RANDOM)]:
        dut.counter_i.value = counter
        await Timer(1, unit="ns")
        new, next_pc = golden.bdnz(counter, 0x1000, -16)
        assert int(dut.counter_o.value) == new
        assert int(dut.taken_o.value) == (next_pc == 0x1000 - 16)


@cocotb.test()
async def decoder_custom_random(dut):
    """Every custom instruction with random operand fields decodes as riscv_ext/spec.py says."""
    rng = random.Random(4)
    fields = struct_fields()
    for _ in range(N_RANDOM):
        insn = rng.choice(spec.INSNS)
        word = insn.match | (rng.getrandbits(32) & ~insn.mask & M32)
        dut.instr_i.value = word
        await Timer(1, unit="ns")
        dec = int(dut.dec_o.value)
        f = lambda name: field(dec, fields, name)  # noqa: E731
        assert f("illegal") == 0, insn.name
        assert (f("cls_simd"), f("cls_mem"), f("cls_loop")) == tuple(int(insn.cls == c) for c in spec.CLASSES)
        assert f("rs1_we") == int(insn.writes_rs1), insn.name
        assert f("use_rd") == int(insn.reads_rd), insn.name
        assert f("rs1") == golden.rs1(word) and f("rd") == golden.rd(word)
        if insn.cls == "mem":
            assert f("load") == int(insn.fmt != "S") and f("store") == int(insn.fmt == "S")
            assert [1, 2, 4][f("mem_size")] == spec.width_bytes(insn)
            assert f("mem_unsigned") == int(spec.is_unsigned_load(insn))
            assert f("mem_post_inc") == int(insn.fmt in ("I", "S"))
            assert f("dlb_merge") == int(insn.fmt == "RS")
            assert f("dlb_bits") == (spec.DLB_M[insn.name].bit_length() - 1 if insn.fmt == "RS" else 0)
        imm = {"I": golden.imm_i, "S": golden.imm_s, "B": golden.imm_b}.get(insn.fmt)
        if imm is not None:
            assert f("imm") == imm(word) & M32, insn.name


@cocotb.test()
async def decoder_base_and_illegal(dut):
    """Base-ISA encodings decode to the right unit; unused encodings are illegal."""
    fields = struct_fields()
    cases = {  # word: expected (illegal, load, store, branch, jal, jalr, muldiv, csr)
        0x00A28293: (0, 0, 0, 0, 0, 0, 0, 0),  # addi t0, t0, 10
        0x0002A283: (0, 1, 0, 0, 0, 0, 0, 0),  # lw t0, 0(t0)
        0x0062A023: (0, 0, 1, 0, 0, 0, 0, 0),  # sw t1, 0(t0)
        0x00628463: (0, 0, 0, 1, 0, 0, 0, 0),  # beq t0, t1, 8
        0x008000EF: (0, 0, 0, 0, 1, 0, 0, 0),  # jal ra, 8
        0x000280E7: (0, 0, 0, 0, 0, 1, 0, 0),  # jalr ra, 0(t0)
        0x026282B3: (0, 0, 0, 0, 0, 0, 1, 0),  # mul t0, t0, t1
        0x34029073: (0, 0, 0, 0, 0, 0, 0, 1),  # csrw mscratch, t0
        0x0000700B: (1, 0, 0, 0, 0, 0, 0, 0),  # custom-0, funct3 7: not in the spec
        0x0002B283: (1, 0, 0, 0, 0, 0, 0, 0),  # ld (RV64 only)
        0x40029293: (1, 0, 0, 0, 0, 0, 0, 0),  # slli with funct7 0100000
        0x00000000: (1, 0, 0, 0, 0, 0, 0, 0),  # all zeros (as a 32-bit word: opcode 0)
        0xFFFFFFFF: (1, 0, 0, 0, 0, 0, 0, 0),
    }
    for word, expected in cases.items():
        dut.instr_i.value = word
        await Timer(1, unit="ns")
        dec = int(dut.dec_o.value)
        got = tuple(field(dec, fields, n) for n in ("illegal", "load", "store", "branch", "jal", "jalr", "muldiv",
                                                      "csr"))
        if expected[0]:  # an illegal instruction traps: only the illegal flag matters
            assert got[0] == 1, hex(word)
        else:
            assert got == expected, hex(word)


@cocotb.test()
async def decoder_without_xdec(dut):
    """The xedge core (EnableXdec = 0): every xdec instruction is illegal, every xedge one still decodes."""
    rng = random.Random(6)
    fields = struct_fields()
    for _ in range(N_RANDOM // 4):
        insn = rng.choice(spec.INSNS)
        dut.instr_i.value = insn.match | (rng.getrandbits(32) & ~insn.mask & M32)
        await Timer(1, unit="ns")
        assert field(int(dut.dec_o.value), fields, "illegal") == int(insn.ext == "xdec"), insn.name


async def _reset(dut):
    Clock(dut.clk_i, 10, unit="ns").start()
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 2)
    dut.rst_ni.value = 1
    await FallingEdge(dut.clk_i)


@cocotb.test()
async def muldiv_random(dut):
    rng = random.Random(5)
    dut.valid_i.value = 0
    await _reset(dut)
    for _ in range(N_RANDOM // 2):
        f3, a, b = rng.randrange(8), operand(rng), operand(rng)
        if rng.random() < 0.1:
            b = 0
        dut.op_i.value, dut.a_i.value, dut.b_i.value, dut.valid_i.value = f3, a, b, 1
        cycles = 0
        while True:
            await Timer(1, unit="ns")
            if int(dut.ready_o.value):
                break
            await FallingEdge(dut.clk_i)
            cycles += 1
            assert cycles < 40, "divider never finished"
        assert int(dut.result_o.value) == muldiv_model(f3, a, b), (f3, hex(a), hex(b))
        assert cycles == (33 if f3 >= 4 else 0)
        await FallingEdge(dut.clk_i)  # the result is consumed on this edge
        dut.valid_i.value = 0


async def _csr_access(dut, addr, op, wdata, write=True):
    """One CSR instruction in execute: returns the old value (read combinationally, written at the edge)."""
    dut.access_i.value, dut.addr_i.value, dut.op_i.value = 1, addr, op
    dut.write_i.value, dut.wdata_i.value = int(write), wdata
    await Timer(1, unit="ns")
    old, illegal = int(dut.rdata_o.value), int(dut.illegal_o.value)
    await FallingEdge(dut.clk_i)
    dut.access_i.value = 0
    return old, illegal


@cocotb.test()
async def csr_registers_and_counters(dut):
    rng = random.Random(6)
    for name in ("access_i", "write_i", "trap_i", "trap_irq_i", "mret_i", "retire_i", "retire_simd_i", "retire_mem_i",
                 "retire_loop_i", "load_use_stall_i", "branch_penalty_i", "muldiv_stall_i", "irq_timer_i",
                 "irq_software_i"):
        getattr(dut, name).value = 0
    await _reset(dut)
    model = {0x340: 0, 0x305: 0}
    for _ in range(100):  # csrrw / csrrs / csrrc on mscratch and mtvec against a model
        addr, op, wdata = rng.choice([0x340, 0x305]), rng.choice([1, 2, 3]), operand(rng)
        old, illegal = await _csr_access(dut, addr, op, wdata)
        assert (old, illegal) == (model[addr], 0)
        new = {1: wdata, 2: old | wdata, 3: old & ~wdata & M32}[op]
        model[addr] = new & ~2 if addr == 0x305 else new   # mtvec: mode 0 (direct) or 1 (vectored)
    assert (await _csr_access(dut, 0x7C0, 1, 0))[1] == 1, "an unknown CSR is illegal"
    assert (await _csr_access(dut, 0xF14, 1, 0))[1] == 1, "writing a read-only CSR is illegal"
    assert (await _csr_access(dut, 0xF14, 2, 0, write=False)) == (0, 0), "reading mhartid is legal"

    # Event counters: drive random events for a while and count them in the model.
    counts = {"retire_i": 0, "load_use_stall_i": 0, "branch_penalty_i": 0, "muldiv_stall_i": 0,
              "retire_simd_i": 0, "retire_mem_i": 0, "retire_loop_i": 0}
    start_instret = (await _csr_access(dut, 0xB02, 2, 0, write=False))[0]
    for _ in range(200):
        for name in counts:
            bit = rng.getrandbits(1)
            getattr(dut, name).value = bit
            counts[name] += bit
        await FallingEdge(dut.clk_i)
    for name in counts:
        getattr(dut, name).value = 0
    instret = (await _csr_access(dut, 0xB02, 2, 0, write=False))[0]
    assert instret - start_instret == counts["retire_i"]
    for hpm, name in ((3, "load_use_stall_i"), (4, "branch_penalty_i"), (5, "muldiv_stall_i"),
                      (6, "retire_simd_i"), (7, "retire_mem_i"), (8, "retire_loop_i")):
        assert (await _csr_access(dut, 0xB00 + hpm, 2, 0, write=False))[0] == counts[name], name

    # mcountinhibit stops minstret; a trap records pc, cause and value.
    await _csr_access(dut, 0x320, 1, 0x4)
    before = (await _csr_access(dut, 0xB02, 2, 0, write=False))[0]
    dut.retire_i.value = 1
    await ClockCycles(dut.clk_i, 5)
    await FallingEdge(dut.clk_i)
    dut.retire_i.value = 0
    assert (await _csr_access(dut, 0xB02, 2, 0, write=False))[0] == before
    dut.trap_i.value, dut.trap_cause_i.value, dut.trap_pc_i.value, dut.trap_tval_i.value = 1, 2, 0x80000124, 0xB
    await FallingEdge(dut.clk_i)
    dut.trap_i.value = 0
    assert [(await _csr_access(dut, a, 2, 0, write=False))[0] for a in (0x341, 0x342, 0x343)] == \
        [0x80000124, 2, 0xB]
    assert int(dut.mepc_o.value) == 0x80000124
    await csr_interrupt_state(dut)
    await csr_trace_view(dut)


async def csr_interrupt_state(dut):
    """mie keeps only MSIE, MTIE, MEIE (and SGEIE, as Spike); mip follows the CLINT's lines; an interrupt is
    pending to the core only when enabled in mie and mstatus.MIE, wfi wakes on mie alone; the higher-priority
    cause wins (software over timer); a trap that is an interrupt sets mcause bit 31 and stacks MIE into MPIE,
    mret restores it."""
    assert (await _csr_access(dut, 0x304, 1, 0xFFFF_FFFF))[1] == 0
    assert (await _csr_access(dut, 0x304, 2, 0, write=False))[0] == 0x1888
    await _csr_access(dut, 0x304, 1, 0x80)                      # MTIE only
    for timer, software in ((0, 0), (1, 0), (0, 1), (1, 1)):
        dut.irq_timer_i.value, dut.irq_software_i.value = timer, software
        await Timer(1, unit="ns")
        assert (await _csr_access(dut, 0x344, 2, 0, write=False))[0] == timer << 7 | software << 3
        assert int(dut.wake_o.value) == timer, "wfi wakes only on an enabled interrupt"
        assert int(dut.irq_pending_o.value) == 0, "mstatus.MIE is clear"
    assert (await _csr_access(dut, 0x344, 1, 0))[1] == 0, "writing mip is legal (as on Spike)"
    assert (await _csr_access(dut, 0x344, 2, 0, write=False))[0] == 0x88, "and leaves MTIP, MSIP to the CLINT"
    await _csr_access(dut, 0x300, 1, 0x8)                      # mstatus.MIE
    await _csr_access(dut, 0x304, 1, 0x88)                     # MTIE | MSIE
    dut.irq_timer_i.value, dut.irq_software_i.value = 1, 1
    await Timer(1, unit="ns")
    assert (int(dut.irq_pending_o.value), int(dut.irq_cause_o.value)) == (1, 3), "software before timer"
    dut.irq_software_i.value = 0
    await Timer(1, unit="ns")
    assert (int(dut.irq_pending_o.value), int(dut.irq_cause_o.value)) == (1, 7)
    dut.trap_i.value, dut.trap_irq_i.value, dut.trap_cause_i.value = 1, 1, 7
    dut.trap_pc_i.value, dut.trap_tval_i.value = 0x80000200, 0
    await FallingEdge(dut.clk_i)
    dut.trap_i.value, dut.trap_irq_i.value = 0, 0
    await Timer(1, unit="ns")
    assert (await _csr_access(dut, 0x342, 2, 0, write=False))[0] == 0x8000_0007
    mstatus = (await _csr_access(dut, 0x300, 2, 0, write=False))[0]
    assert (mstatus >> 3 & 1, mstatus >> 7 & 1) == (0, 1), "MIE stacked into MPIE"
    assert int(dut.irq_pending_o.value) == 0 and int(dut.wake_o.value) == 1
    dut.mret_i.value = 1
    await FallingEdge(dut.clk_i)
    dut.mret_i.value = 0
    mstatus = (await _csr_access(dut, 0x300, 2, 0, write=False))[0]
    assert (mstatus >> 3 & 1, mstatus >> 7 & 1) == (1, 1), "mret restores MIE"
    dut.irq_timer_i.value = 0


async def _csr_trace(dut, addr, op, wdata, write=True):
    """One CSR instruction in execute: the write the commit trace shows (None if none), taken at the edge."""
    dut.access_i.value, dut.addr_i.value, dut.op_i.value = 1, addr, op
    dut.write_i.value, dut.wdata_i.value = int(write), wdata
    await Timer(1, unit="ns")
    shown = (int(dut.trace_addr_o.value), int(dut.trace_wdata_o.value)) if int(dut.trace_we_o.value) else None
    assert int(dut.trace_mstatush_o.value) == 0
    await FallingEdge(dut.clk_i)
    dut.access_i.value = 0
    return shown


async def csr_trace_view(dut):
    """The CSR write the commit trace shows, as Spike logs it: the value after the write; nothing without a
    write or for the hpm counters; mcontext as hcontext; pmpaddr until software locks its entry (crt0's
    pmpcfg writes), pmpcfg0/1 always (the map); mret: mstatus, then mstatush."""
    assert await _csr_trace(dut, 0x304, 1, M32) == (0x304, 0x1888)
    assert await _csr_trace(dut, 0x304, 2, 0, write=False) is None
    assert await _csr_trace(dut, 0x305, 1, M32) == (0x305, 0xFFFF_FFFD)
    assert await _csr_trace(dut, 0x341, 1, 0x8000_0125) == (0x341, 0x8000_0124)
    assert await _csr_trace(dut, 0x300, 1, M32) == (0x300, 0x8001_9888)
    assert await _csr_trace(dut, 0x7A8, 1, M32) == (0x6A8, 0x3F)
    assert await _csr_trace(dut, 0xB03, 1, 5) is None
    assert await _csr_trace(dut, 0x323, 1, 5) == (0x323, 0)
    assert await _csr_trace(dut, 0x3B4, 1, 0x2400_0000) == (0x3B4, 0x2400_0000)
    assert await _csr_trace(dut, 0x3A0, 1, 0x8D80_8B80) == (0x3A0, 0x8D80_8B80)
    assert await _csr_trace(dut, 0x3B0, 1, 0) is None, "entry 0 locked"
    assert await _csr_trace(dut, 0x3B4, 1, 0) == (0x3B4, 0x2400_0000), "entry 4 open: the map's value"
    assert await _csr_trace(dut, 0x3A1, 1, 0x8098_8B80) == (0x3A1, 0x8098_8B80)
    assert await _csr_trace(dut, 0x3B4, 1, 0) is None, "TOR entry 5 locked"
    assert await _csr_trace(dut, 0x3B8, 1, 0) is None and await _csr_trace(dut, 0x3A2, 1, 0) is None
    dut.mret_i.value = 1
    await Timer(1, unit="ns")
    assert (int(dut.trace_we_o.value), int(dut.trace_addr_o.value), int(dut.trace_mstatush_o.value)) == (1, 0x300, 1)
    assert int(dut.trace_wdata_o.value) == 0x8001_9888      # MIE = MPIE (1), MPIE = 1
    await FallingEdge(dut.clk_i)
    dut.mret_i.value = 0
