"""Random test programs for differential testing of the RTL against Spike.

A program is a `main` that runs random code and returns 0: RV32IMC + Zicsr + every xedge and xdec instruction,
constrained so that it terminates (branches and jumps go forward, loops are counted by reserved registers,
subroutines never recurse) and runs identically on both simulators (no value of the cycle, time or hpm counters
reaches a compared register; no interrupt is ever taken: mie holds 0 except inside a CSR probe of mie, which
clears mstatus.MIE first). Registers and a 1 KiB data block start random. Each kind of code below is one method
of `_Gen`, picked by weight from the seed (`_Gen.BLOCK_KINDS`, `STRAIGHT_KINDS`, `TRAP_KINDS`):

- `alu`, `compressed`, `memory`, `custom`: arithmetic, compressed (c.addi4spn with sp in DMEM included) and
  memory instructions and every custom instruction on random registers and data;
- `hazard`: deliberate load-use hazards: a load (base, compressed or xedge) whose rd the next instruction, or
  the one after, uses as an ALU, custom or CSR operand, a branch operand, store data, or a load or store address
  (a pointer stored, loaded back and dereferenced);
- `csr`: csrrw/csrrs/csrrc and their immediate forms on mscratch, mepc, mcause, mtval, mtvec, mie, mstatus,
  mcountinhibit and the (locked) PMP registers, every write read back into a register (both commit traces log
  the write too; the read-back checks the CSR holds it), then the CSR restored where it matters,
  now and then with a trap right behind; reads of the identity, PMP, minstret and hpm event CSRs; reads of the
  cycle, time and hpm counters and mip into x0;
- `trap`: ecall, ebreak, c.ebreak, illegal instructions (reserved and absent opcodes, reserved compressed
  encodings, reserved funct fields of base and custom opcodes, missing CSRs, writes to read-only CSRs),
  misaligned loads and stores (base, compressed and xedge), loads and stores outside the memory map, stores to
  IMEM, and fetches outside IMEM (a jump whose link register the handler returns to); a faulting load is now
  and then followed by a use of its rd, which must still hold the old value;
- `hint`: HINT encodings, which must execute as no-ops; `mapped`: legal loads from IMEM and from the CLINT
  (msip, mtimecmp) and msip stores;
- `call`: calls to the subroutines defined so far with jal, jalr, call, c.jal, c.jalr, or through a function
  pointer loaded from memory, linking ra or t0;
- blocks: straight-line code; forward branches and jumps; counted loops (bdnz or addi/bnez), nested once;
  subroutines (jumped over where defined), leaf or saving their link register on the stack, returning with
  c.jr / jr / jalr (a reloaded link register: load -> jump hazard); mret used as a jump (mepc set to a label).

Every trap goes to the program's own handler (`edge_rand_trap`, installed in mtvec, direct or vectored, for the
duration of `main`): it reads mcause, mtval and mepc into registers (so they are compared), resumes after the
trapping instruction (2 or 4 bytes, told by the instruction's low bits, which it loads) or, for an instruction
access fault, at the return address in ra, and mrets.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from edge_sdk.platform import CLINT_BASE, CLINT_BYTES, memory_map
from riscv_ext import spec

POOL = [5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]
C_POOL = [10, 11, 12, 13, 14, 15]   # compressed-register-field registers that are free to write
BASE, PTR = 8, 9                    # data block base; post-increment pointer / register index
LOOP_COUNTERS = (18, 19)
LINKS = (1, 5)                      # link registers of subroutines: ra and t0 (never in a subroutine's pool)
DATA_BYTES = 1024
SAVED = [1, 8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]  # ra and s0..s11
# Stack frame of main: saved registers at 0..51, the caller's mtvec and mstatus at 52 and 56, one slot per link
# register for subroutines that save theirs, and scratch for c.swsp / c.lwsp / c.addi4spn at 80..140.
FRAME = 144
MTVEC_SLOT, MSTATUS_SLOT = 52, 56
LINK_SLOT = {1: 60, 5: 64}
SCRATCH = range(80, FRAME, 4)
HANDLER = "edge_rand_trap"
MEM = memory_map("default")         # the configuration `edge_sdk.sim.differential` runs

R_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
         "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"]
I_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi"]
SHIFT_OPS = ["slli", "srli", "srai"]
LOADS = {"lb": 1, "lh": 2, "lw": 4, "lbu": 1, "lhu": 2}
STORES = {"sb": 1, "sh": 2, "sw": 4}
BRANCHES = ["beq", "bne", "blt", "bge", "bltu", "bgeu"]
SPECIAL_VALUES = [0, 1, -1, 0x7FFFFFFF, -0x80000000, 0x80, 0x7F, 0xFF, -128]
CSR_OPS = ["csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"]

# CSRs written with random values and read back, and what is written afterwards (None: the value may stay).
# mtvec gets the handler back; mie and mcountinhibit their invariant 0.
RW_CSRS = {"mscratch": None, "mepc": None, "mcause": None, "mtval": None, "mstatus": None,
           "mtvec": "handler", "mie": "zero", "mcountinhibit": "zero"}
# PMP registers: crt0 locked every entry, so writes are ignored (the read-back shows it); entries 8+ are absent.
PMP_CSRS = ["pmpcfg0", "pmpcfg1", "pmpcfg2", "pmpaddr0", "pmpaddr3", "pmpaddr5", "pmpaddr7", "pmpaddr9"]
# CSRs whose values both simulators agree on: read into registers. (marchid differs by design; misa is only
# read: Spike lets software change it, the core does not; mip's timer bit follows mtime. 0xf15 is mconfigptr.)
READ_CSRS = ["misa", "mvendorid", "mimpid", "mhartid", "0xf15", "mstatush", "minstret", "minstreth", "instret",
             "instreth", "mhpmevent3", "mhpmevent31", "pmpcfg0", "pmpcfg1", "pmpcfg2", "pmpaddr0", "pmpaddr3",
             "pmpaddr6", "pmpaddr7", "pmpaddr15"]
# Counters that differ between a functional and a cycle-accurate simulator: read into x0 only.
COUNTER_CSRS = ["mcycle", "mcycleh", "cycle", "cycleh", "time", "timeh", "mhpmcounter3", "mhpmcounter8h",
                "hpmcounter5", "mhpmcounter31", "mip"]
# CSR addresses that exist on neither simulator (no S or U mode, no F, no debug mode, custom spaces unused).
ABSENT_CSRS = [0x001, 0x003, 0x100, 0x105, 0x141, 0x180, 0x306, 0x30A, 0x31A, 0x7B0, 0x7B1, 0x7C0, 0x800,
               0xBC0, 0xCC0, 0xFC0, 0x5A8, 0x600]
READ_ONLY_CSRS = [0xF11, 0xF12, 0xF13, 0xF14, 0xC00, 0xC01, 0xC02, 0xC80, 0xC03]

# Addresses outside the memory map (edge_sdk/platform.py): every access there faults.
UNMAPPED = [0x0, 0x4, 0x1000, CLINT_BASE - 4, CLINT_BASE + CLINT_BYTES, 0x4000_0000, MEM.imem_base - 4,
            MEM.imem_base + MEM.imem_bytes, MEM.dmem_base - 4, MEM.dmem_base + MEM.dmem_bytes, 0xC000_0000,
            0xFFFF_FFFC]
MSIP, MTIMECMP = CLINT_BASE, CLINT_BASE + 0x4000

# 32-bit major opcodes no extension of the platform uses: F/D loads, stores and arithmetic, A, V, the RV64
# word operations, and reserved ones. (0x1F, 0x3F, 0x5F, 0x7F would announce longer instructions.)
ABSENT_OPCODES = [0x07, 0x27, 0x2F, 0x43, 0x47, 0x4B, 0x4F, 0x53, 0x57, 0x1B, 0x3B, 0x6B, 0x77]
# Fixed encodings that must trap as illegal: fence.i (no Zifencei), sret, dret, sfence.vma, uret, ecall,
# ebreak and mret with non-zero register fields.
ILLEGAL_WORDS = [0x0000100F, 0x10200073, 0x7B200073, 0x12000073, 0x00200073, 0x00000473, 0x00028073,
                 0x00100573, 0x302000F3]


def _bits(rng: random.Random, value: int, lo: int, width: int) -> int:
    """`value` with `width` random bits from bit `lo` up."""
    return value | (rng.randrange(1 << width) << lo)


def illegal_word(rng: random.Random) -> int:
    """A 32-bit instruction word that no extension of the platform decodes."""
    k = rng.randrange(7)
    if k == 0:
        return _bits(rng, rng.choice(ABSENT_OPCODES), 7, 25)
    if k == 1:  # reserved funct3 of LOAD (ld, lwu, 7), STORE (sd..), BRANCH (2, 3), JALR (1..7)
        opcode, f3 = rng.choice([(0x03, 3), (0x03, 6), (0x03, 7), (0x23, 3), (0x23, 4), (0x23, 7), (0x63, 2),
                                 (0x63, 3), (0x67, rng.randint(1, 7))])
        return _bits(rng, opcode | f3 << 12, 7, 5) | _bits(rng, 0, 15, 17)
    if k == 2:  # OP with a funct7 of an absent extension (Zb*, Zicond, ...) or sub/sra's funct7 elsewhere
        f7 = rng.choice([0x02, 0x04, 0x05, 0x07, 0x10, 0x14, 0x24, 0x30, 0x40, 0x7F])
        f3 = rng.randrange(8)
        if rng.random() < 0.3:
            f7, f3 = 0x20, rng.choice([1, 2, 3, 4, 6, 7])
        return _bits(rng, 0x33 | f3 << 12 | f7 << 25, 7, 5) | _bits(rng, 0, 15, 10)
    if k == 3:  # RV32 shift immediates with shamt[5] or a reserved funct7
        f3, f7 = rng.choice([(1, rng.choice([0x01, 0x20, 0x30])), (5, rng.choice([0x01, 0x21, 0x40, 0x60]))])
        return _bits(rng, 0x13 | f3 << 12 | f7 << 25, 7, 5) | _bits(rng, 0, 15, 10)
    if k == 4:  # MISC-MEM other than fence, SYSTEM's reserved funct3 4
        return _bits(rng, rng.choice([0x0F | rng.randint(2, 7) << 12, 0x73 | 4 << 12]), 7, 5) | _bits(rng, 0, 15, 17)
    if k == 5:  # a custom opcode with funct fields no custom instruction uses
        while True:
            word = _bits(rng, rng.choice([spec.CUSTOM_0, spec.CUSTOM_1, spec.CUSTOM_2, spec.CUSTOM_3]), 7, 25)
            if spec.decode(word) is None:
                return word
    return rng.choice(ILLEGAL_WORDS)


def illegal_halfword(rng: random.Random) -> int:
    """A 16-bit compressed encoding that is reserved on RV32IMC (or belongs to F, D, RV64 or Zcb)."""
    rd = rng.choice([r for r in range(1, 32) if r != 2])
    forms = [
        0x0000,                                            # c.illegal
        rng.randint(1, 7) << 2,                            # c.addi4spn with a zero immediate
        _bits(rng, rng.choice([0x2000, 0x6000, 0xA000, 0xE000]), 2, 11),   # c.fld, c.flw, c.fsd, c.fsw
        _bits(rng, 0x8000, 2, 11),                         # quadrant 0, funct3 100 (Zcb)
        0x6001 | rd << 7,                                  # c.lui with a zero immediate
        0x6101,                                            # c.addi16sp with a zero immediate
        0x9C01 | rng.randrange(4) << 5 | rng.randrange(8) << 7 | rng.randrange(8) << 2,  # c.subw, c.addw, Zcb
        _bits(rng, 0x4002, 2, 5) | rng.randint(0, 1) << 12,   # c.lwsp to x0
        0x8002,                                            # c.jr x0
        _bits(rng, rng.choice([0x2002, 0x6002, 0xA002, 0xE002]), 2, 11),   # c.fldsp, c.flwsp, c.fsdsp, c.fswsp
        _bits(rng, 0x1002 | rd << 7, 2, 5),                # c.slli with shamt[5] (RV64 only)
        _bits(rng, 0x9001 | rng.randrange(8) << 7 | rng.randint(0, 1) << 10, 2, 5),  # c.srli/c.srai shamt[5]
    ]
    return rng.choice(forms)


def hint_encoding(rng: random.Random) -> tuple[int, int]:
    """(bytes, encoding) of a HINT: a legal instruction that writes x0 or does nothing, which must run as a no-op."""
    r = rng.randint(1, 31)
    forms16 = [0x0001 | rng.randint(1, 31) << 2,                 # c.nop with a non-zero immediate
               0x4001 | rng.randrange(32) << 2,                  # c.li x0
               0x6001 | rng.randint(1, 31) << 2,                 # c.lui x0
               0x8002 | r << 2, 0x9002 | r << 2,                 # c.mv x0, c.add x0
               0x0002 | rng.randint(1, 31) << 2,                 # c.slli x0
               0x0002 | r << 7,                                  # c.slli rd, 0 (c.slli64)
               0x8001 | rng.randrange(8) << 7 | rng.randint(0, 1) << 10]   # c.srli/c.srai rd', 0
    forms32 = [0x00000013 | _bits(rng, 0, 15, 17),              # addi x0, rs1, imm
               0x00000037 | _bits(rng, 0, 12, 20),              # lui x0
               0x00000033 | _bits(rng, 0, 15, 10),              # add x0, rs1, rs2
               0x0100000F, 0x8330000F, 0x0000000F | rng.randrange(16) << 24]   # pause, fence.tso, fence succ=0
    if rng.random() < 0.5:
        return 2, rng.choice(forms16)
    return 4, rng.choice(forms32)


@dataclass(frozen=True)
class _Sub:
    """A generated subroutine: what a call to it overwrites (link registers, link save slots) and where it is."""
    label: str
    link: int
    line: int            # index of its label in the program's lines (for c.jal's reach)
    clobbers: frozenset


class _Gen:
    """One program: `program()` emits `main` as random blocks; each method below emits one kind of code. The
    weights pick the kinds (a method of that name each)."""
    BLOCK_KINDS = {"straight": 55, "forward_branch": 20, "loop": 13, "subroutine": 8, "mret_jump": 4}
    STRAIGHT_KINDS = {"alu": 40, "compressed": 15, "memory": 15, "custom": 20, "csr": 6, "hazard": 10, "trap": 5,
                      "hint": 1, "mapped": 2, "call": 6}
    TRAP_KINDS = {"ecall": 2, "ebreak": 2, "illegal": 3, "csr_illegal": 2, "misaligned": 3, "unmapped": 3,
                  "imem_store": 1, "fetch_fault": 1}

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.lines: list[str] = []
        self.labels = 0
        self.pool = POOL
        self.subs: list[_Sub] = []
        self.reserved: frozenset = frozenset()   # what the code being generated must not overwrite
        self.clobbered: set = set()              # what it has overwritten (calls, jumps that link ra)
        self.vectored = self.rng.random() < 0.5
        # The handler's registers: never a link register, so a trap inside a subroutine keeps its return address.
        self.handler_regs = self.rng.sample([r for r in POOL if r not in LINKS], 4)

    # -- helpers
    def reg(self) -> str:
        return f"x{self.rng.choice(self.pool)}"

    def src(self) -> str:
        return f"x{self.rng.choice(self.pool + [0, BASE])}"

    def emit(self, text: str) -> None:
        self.lines.append("    " + text)

    def emit_norvc(self, *texts: str) -> None:
        """Instructions kept 32-bit (the assembler would compress some of them)."""
        self.lines += ["    .option push", "    .option norvc", *("    " + t for t in texts), "    .option pop"]

    def label(self) -> str:
        self.labels += 1
        return f".Lr{self.labels}"

    def offset(self, size: int) -> int:
        return self.rng.randrange(0, DATA_BYTES - 64, size)

    def imm12(self) -> int:
        return self.rng.choice([self.rng.randint(-2048, 2047), self.rng.randint(-16, 16)])

    def value(self) -> int:
        rng = self.rng
        return rng.choice([rng.randint(-2**31, 2**31 - 1), rng.choice(SPECIAL_VALUES)])

    def install_handler(self, tmp: str) -> None:
        self.emit(f"la {tmp}, {HANDLER}")
        if self.vectored:
            self.emit(f"ori {tmp}, {tmp}, 1")  # vectored: exceptions still go to the base
        self.emit(f"csrw mtvec, {tmp}")

    # -- instruction kinds (each emits one or a few instructions; control flow only inside the kind)
    def alu(self) -> None:
        rng = self.rng
        k = rng.random()
        if k < 0.35:
            self.emit(f"{rng.choice(R_OPS)} {self.reg()}, {self.src()}, {self.src()}")
        elif k < 0.6:
            self.emit(f"{rng.choice(I_OPS)} {self.reg()}, {self.src()}, {self.imm12()}")
        elif k < 0.75:
            self.emit(f"{rng.choice(SHIFT_OPS)} {self.reg()}, {self.src()}, {rng.randint(0, 31)}")
        elif k < 0.85:
            self.emit(f"{rng.choice(['lui', 'auipc'])} {self.reg()}, {rng.randint(0, 0xFFFFF)}")
        else:
            self.emit(f"li {self.reg()}, {rng.choice(SPECIAL_VALUES)}")

    def compressed(self) -> None:
        rng = self.rng
        rd, cd = rng.choice(self.pool), rng.choice(C_POOL)
        nz6 = rng.choice([v for v in range(-32, 32) if v])
        if rng.random() < 0.12:  # c.addi4spn: sp points into DMEM; the result is used as an address
            off = rng.choice(SCRATCH[:-2])
            self.emit(f"c.addi4spn x{cd}, sp, {off}")
            k = rng.randrange(0, FRAME - off, 4)
            self.emit(f"{rng.choice(['c.lw', 'c.sw'])} x{rng.choice(C_POOL)}, {k}(x{cd})")
            return
        forms = [
            f"c.addi x{rd}, {nz6}", f"c.li x{rd}, {rng.randint(-32, 31)}", f"c.lui x{rd}, {rng.randint(1, 31)}",
            f"c.mv x{rd}, x{rng.choice(self.pool)}", f"c.add x{rd}, x{rng.choice(self.pool)}",
            f"c.slli x{rd}, {rng.randint(1, 31)}", f"c.srli x{cd}, {rng.randint(1, 31)}",
            f"c.srai x{cd}, {rng.randint(1, 31)}", f"c.andi x{cd}, {rng.randint(-32, 31)}",
            f"c.{rng.choice(['sub', 'xor', 'or', 'and'])} x{cd}, x{rng.choice(C_POOL + [BASE])}",
            f"c.lw x{cd}, {rng.randrange(0, 128, 4)}(x{BASE})", f"c.sw x{rng.choice(C_POOL)}, {rng.randrange(0, 128, 4)}(x{BASE})",
            f"c.swsp x{rng.choice(self.pool)}, {rng.choice(SCRATCH)}(sp)",
            f"c.lwsp x{rd}, {rng.choice(SCRATCH)}(sp)",
        ]
        self.emit(rng.choice(forms))

    def memory(self) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            op, size = rng.choice(list(LOADS.items()))
            self.emit(f"{op} {self.reg()}, {self.offset(size)}(x{BASE})")
        else:
            op, size = rng.choice(list(STORES.items()))
            self.emit(f"{op} {self.src()}, {self.offset(size)}(x{BASE})")

    def custom(self) -> None:
        rng = self.rng
        insn = rng.choice([i for i in spec.INSNS if i.cls != "loop"])
        if insn.cls == "simd":
            self.emit(f"{insn.directive} {self.reg()}, {self.src()}, {self.src()}")
            return
        size = spec.width_bytes(insn)
        if insn.fmt == "RS":  # decimating load: any offsets register, any selector; displacement <= 255
            rd = self.reg()
            self.emit(f"addi x{PTR}, x{BASE}, {rng.randrange(0, DATA_BYTES - 256)}")
            for _ in range(rng.choice([1, 1, 2, 4])):  # several in a row into one rd: back-to-back load-use
                self.emit(f"{insn.directive} {rng.randrange(128)}, {rd}, x{PTR}, {self.src()}")
            return
        if insn.fmt == "R":  # base + index
            self.emit(f"li x{PTR}, {self.offset(size)}")
            self.emit(f"{insn.directive} {self.reg()}, x{BASE}, x{PTR}")
            return
        self.emit(f"addi x{PTR}, x{BASE}, {self.offset(size)}")
        step = rng.choice([size, -size, rng.randint(-2048, 2047)])
        if insn.fmt == "I":
            rd = f"x{PTR}" if rng.random() < 0.1 else self.reg()  # rd == rs1: the loaded value wins
            self.emit(f"{insn.directive} {rd}, x{PTR}, {step}")
        else:
            self.emit(f"{insn.directive} {self.src()}, {step}(x{PTR})")

    def load_into(self, rd: int) -> None:
        """One load from the data block into `rd`: base, compressed (when rd allows) or xedge."""
        rng = self.rng
        k = rng.random()
        if k < 0.15 and rd in C_POOL:
            self.emit(f"c.lw x{rd}, {rng.randrange(0, 128, 4)}(x{BASE})")
        elif k < 0.25:
            self.emit(f"addi x{PTR}, x{BASE}, {self.offset(4)}")
            self.emit(f"{spec.BY_NAME['lw.pi'].directive} x{rd}, x{PTR}, 4")
        elif k < 0.3:
            self.emit(f"li x{PTR}, {self.offset(2)}")
            self.emit(f"{spec.BY_NAME['lhu.rr'].directive} x{rd}, x{BASE}, x{PTR}")
        else:
            op, size = rng.choice(list(LOADS.items()))
            self.emit(f"{op} x{rd}, {self.offset(size)}(x{BASE})")

    def hazard(self) -> None:
        """A load whose rd the next instruction (or, one time in four, the one after) consumes."""
        rng = self.rng
        rd = rng.choice(C_POOL if rng.random() < 0.3 else self.pool)
        other = [r for r in self.pool if r != rd]
        use = rng.choice(["alu", "alu", "branch", "store", "address", "custom", "csr", "compressed"])
        if use == "address":  # a pointer into the data block, stored, loaded back and dereferenced
            size = rng.choice([1, 2, 4])
            at, target = self.offset(4), self.offset(size)
            self.emit(f"addi x{rd}, x{BASE}, {target}")
            self.emit(f"sw x{rd}, {at}(x{BASE})")
            self.emit(f"lw x{rd}, {at}(x{BASE})")
        else:
            self.load_into(rd)
        if rng.random() < 0.25:  # one independent instruction in between
            self.emit(f"addi x{rng.choice(other)}, x{rng.choice(other)}, {rng.randint(-16, 16)}")
        r = f"x{rd}"
        if use == "alu":
            self.alu_use(r)
        elif use == "branch":
            skip = self.label()
            self.emit(f"{rng.choice(BRANCHES)} {r}, {self.src()}, {skip}")
            self.alu()
            self.lines.append(f"{skip}:")
        elif use == "store":
            op, size = rng.choice(list(STORES.items()))
            self.emit(f"{op} {r}, {self.offset(size)}(x{BASE})")
        elif use == "address":
            if rng.random() < 0.5:
                op = {1: "lbu", 2: "lh", 4: "lw"}[size]
                self.emit(f"{op} {self.reg()}, 0({r})")
            else:
                op = {1: "sb", 2: "sh", 4: "sw"}[size]
                self.emit(f"{op} {self.src()}, 0({r})")
        elif use == "custom":
            sdot = spec.BY_NAME[rng.choice(["sdotsp.b", "sdotusp.b"])]
            self.emit(f"{sdot.directive} {self.reg()}, {r}, {self.src()}")
        elif use == "csr":
            self.emit(f"{rng.choice(['csrrw', 'csrrs', 'csrrc'])} {self.reg()}, mscratch, {r}")
        else:
            cd = rng.choice(C_POOL)
            self.emit(rng.choice([f"c.add x{cd}, {r}", f"c.mv x{cd}, {r}"]))

    def alu_use(self, r: str) -> None:
        """An ALU instruction reading register `r`."""
        rng = self.rng
        op = rng.choice(R_OPS)
        self.emit(rng.choice([f"{op} {self.reg()}, {r}, {self.src()}", f"{op} {self.reg()}, {self.src()}, {r}",
                              f"addi {r}, {r}, {rng.randint(-16, 16)}",
                              f"{rng.choice(SHIFT_OPS)} {self.reg()}, {r}, {rng.randint(0, 31)}"]))

    def faulting_load(self, text: str, rd: str) -> None:
        """A load that traps (`text` loads into `rd`), then, one time in three, an instruction that reads rd: it
        must see rd's old value."""
        self.emit(text)
        if self.rng.random() < 0.33:
            self.alu_use(rd)

    def csr(self) -> None:
        """A CSR access: a write read back (and restored; now and then a trap right behind), a read of an agreed
        CSR, or a counter read into x0."""
        rng = self.rng
        k = rng.random()
        if k < 0.6:
            name = rng.choice([*RW_CSRS, "pmp"])
            if name == "pmp":
                name = rng.choice(PMP_CSRS)
            if name == "mie":
                self.emit("csrci mstatus, 8")  # mstatus.MIE off while mie holds random enables
            op = rng.choice(CSR_OPS)
            if op.endswith("i"):
                operand = str(rng.randint(0, 31))
            elif rng.random() < 0.3:
                operand = self.reg()
                self.emit(f"li {operand}, {self.value()}")
            else:
                operand = self.src()
            self.emit(f"{op} {rng.choice([self.reg(), 'x0'])}, {name}, {operand}")
            if name == "mcountinhibit" and rng.random() < 0.5:
                self.emit(f"csrr {self.reg()}, minstret")  # counts unless the write inhibited it
            self.emit(f"csrr {self.reg()}, {name}")
            restore = RW_CSRS.get(name)
            if restore == "handler":
                self.install_handler(self.reg())
            elif restore == "zero":
                self.emit(rng.choice([f"csrw {name}, zero", f"csrrwi {self.reg()}, {name}, 0"]))
            if rng.random() < 0.15:  # a trap right behind the CSR write (mtvec's, mstatus's, ...)
                self.trap()
        elif k < 0.85:
            op = rng.choice(["csrr {rd}, {csr}", "csrrs {rd}, {csr}, x0", "csrrc {rd}, {csr}, x0",
                             "csrrsi {rd}, {csr}, 0", "csrrci {rd}, {csr}, 0"])
            self.emit(op.format(rd=self.reg(), csr=rng.choice(READ_CSRS)))
        else:
            self.emit(f"csrr x0, {rng.choice(COUNTER_CSRS)}")

    def trap(self) -> None:
        """One instruction that traps; the handler records the trap and resumes after it."""
        kind = self.rng.choices(list(self.TRAP_KINDS), self.TRAP_KINDS.values())[0]
        if kind == "fetch_fault" and 1 in self.reserved:
            kind = "unmapped"
        getattr(self, kind)()

    def ecall(self) -> None:
        self.emit("ecall")

    def ebreak(self) -> None:
        if self.rng.random() < 0.5:
            self.emit("c.ebreak")
        else:
            self.emit_norvc("ebreak")

    def illegal(self) -> None:
        """An illegal instruction: mtval holds its bits."""
        if self.rng.random() < 0.5:
            self.emit(f".4byte {illegal_word(self.rng):#010x}")
        else:
            self.emit(f".2byte {illegal_halfword(self.rng):#06x}")

    def csr_illegal(self) -> None:
        """A CSR instruction that traps: a CSR neither simulator has, or a write to a read-only one. (Or one in
        five, any address read into x0: traps where the CSR is missing, on both alike.)"""
        rng = self.rng
        k = rng.random()
        if k < 0.2:
            self.emit(f"csrrs x0, {rng.randrange(0x1000):#x}, x0")
        elif k < 0.6:
            self.emit(f"csrrs {rng.choice([self.reg(), 'x0'])}, {rng.choice(ABSENT_CSRS):#x}, x0")
        else:
            op = rng.choice(["csrrw x0, {csr}, {r}", "csrrs {rd}, {csr}, {r}", "csrrc {rd}, {csr}, {r}",
                             "csrrwi {rd}, {csr}, 0", "csrrsi {rd}, {csr}, 1"])
            self.emit(op.format(rd=self.reg(), csr=f"{rng.choice(READ_ONLY_CSRS):#x}", r=f"x{rng.choice(self.pool)}"))

    def unmapped(self) -> None:
        """A load or store outside the memory map (base or xedge; now and then misaligned too)."""
        rng = self.rng
        addr = (rng.choice(UNMAPPED) + rng.choice([0, 0, 0, 0, 1, 2])) & 0xFFFF_FFFF
        if rng.random() < 0.2:  # xedge post-increment access: it faults, its base register keeps its value
            insn = spec.BY_NAME[rng.choice(["lw.pi", "lbu.pi", "lh.pi", "sw.pi", "sb.pi"])]
            rd = self.reg()
            self.emit(f"li x{PTR}, {addr:#x}")
            if insn.fmt == "I":
                self.faulting_load(f"{insn.directive} {rd}, x{PTR}, 4", rd)
            else:
                self.emit(f"{insn.directive} {self.src()}, 4(x{PTR})")
            return
        disp = rng.choice([0, 0, -4, 4, 8, 2044, -2048])
        tmp = self.reg()
        self.emit(f"li {tmp}, {(addr - disp) & 0xFFFF_FFFF:#x}")
        if rng.random() < 0.5:
            rd = self.reg()
            self.faulting_load(f"{rng.choice(list(LOADS))} {rd}, {disp}({tmp})", rd)
        else:
            self.emit(f"{rng.choice(list(STORES))} {self.src()}, {disp}({tmp})")

    def imem_store(self) -> None:
        """A store to IMEM (fetch and load only)."""
        tmp = self.reg()
        self.emit(f"la {tmp}, {self.rng.choice([HANDLER, 'main', 'edge_rand_text_end'])}")
        self.emit(f"{self.rng.choice(list(STORES))} {self.src()}, {self.rng.randrange(0, 64, 4)}({tmp})")

    def fetch_fault(self) -> None:
        """A jump outside IMEM (unmapped, the CLINT, DMEM): the fetch faults; the jump linked ra, where the
        handler resumes."""
        rng = self.rng
        tmp = rng.choice([r for r in self.pool if r != 1])
        self.emit(f"li x{tmp}, {rng.choice([*UNMAPPED, MSIP, MEM.dmem_base + 0x100]):#x}")
        self.emit(rng.choice([f"jalr ra, 0(x{tmp})", f"c.jalr x{tmp}"]))
        self.clobbered.add(1)

    def misaligned(self) -> None:
        """A load or store at an address its size does not divide: base, compressed, xedge, in DMEM or IMEM."""
        rng = self.rng
        size = rng.choice([2, 4])
        off = self.offset(4) + rng.randrange(1, size)
        k = rng.random()
        if k < 0.45:
            rd = self.reg()
            self.faulting_load(f"{rng.choice(['lh', 'lhu'] if size == 2 else ['lw'])} {rd}, {off}(x{BASE})", rd)
        elif k < 0.75:
            self.emit(f"{'sh' if size == 2 else 'sw'} {self.src()}, {off}(x{BASE})")
        elif k < 0.85:
            cd = f"x{rng.choice(C_POOL)}"
            self.emit(f"addi x{PTR}, x{BASE}, {off}")
            if rng.random() < 0.5:
                self.faulting_load(f"c.lw {cd}, 4(x{PTR})", cd)
            else:
                self.emit(f"c.sw {cd}, 0(x{PTR})")
        elif k < 0.95:
            insn = rng.choice([i for i in spec.INSNS if i.cls == "mem" and i.fmt != "RS" and spec.width_bytes(i) > 1])
            rd = self.reg()
            if insn.fmt == "R":
                self.emit(f"li x{PTR}, {off | 1}")
                self.faulting_load(f"{insn.directive} {rd}, x{BASE}, x{PTR}", rd)
            elif insn.fmt == "I":  # the base register keeps its value too
                self.emit(f"addi x{PTR}, x{BASE}, {off | 1}")
                self.faulting_load(f"{insn.directive} {rd}, x{PTR}, 4", rd)
            else:
                self.emit(f"addi x{PTR}, x{BASE}, {off | 1}")
                self.emit(f"{insn.directive} {self.src()}, 4(x{PTR})")
        else:
            tmp, rd = self.reg(), self.reg()
            self.emit(f"la {tmp}, main")
            self.faulting_load(f"lw {rd}, {rng.choice([1, 2, 3, 5])}({tmp})", rd)

    def mapped(self) -> None:
        """A legal access outside the data block: a load from IMEM (code) or the CLINT's msip and mtimecmp, or
        an msip store, set back to 0 at once (no interrupt is enabled, and mip's value is never compared)."""
        rng = self.rng
        tmp = self.reg()
        k = rng.random()
        if k < 0.5:
            self.emit(f"la {tmp}, {rng.choice([HANDLER, 'main'])}")
            op, size = rng.choice(list(LOADS.items()))
            self.emit(f"{op} {self.reg()}, {rng.randrange(0, 64, size)}({tmp})")
        elif k < 0.8:
            self.emit(f"li {tmp}, {rng.choice([MSIP, MTIMECMP, MTIMECMP + 4]):#x}")
            self.emit(f"lw {self.reg()}, 0({tmp})")
        else:
            one = rng.choice([r for r in self.pool if f"x{r}" != tmp])
            self.emit(f"li {tmp}, {MSIP:#x}")
            self.emit(f"li x{one}, 1")
            self.emit(f"sw x{one}, 0({tmp})")
            self.emit(f"lw {self.reg()}, 0({tmp})")
            self.emit(f"sw zero, 0({tmp})")

    def hint(self) -> None:
        """A HINT encoding: a no-op on both."""
        size, word = hint_encoding(self.rng)
        self.emit(f".{size}byte {word:#0{2 + 2 * size}x}")

    def call(self) -> None:
        """A call to a subroutine defined earlier whose clobbers the current code can afford."""
        rng = self.rng
        callable_ = [s for s in self.subs if not (s.clobbers & self.reserved)]
        if not callable_:
            self.alu()
            return
        sub = rng.choice(callable_)
        self.clobbered |= sub.clobbers
        link = f"x{sub.link}"
        tmp = rng.choice([r for r in self.pool if r not in LINKS])
        near = (len(self.lines) - sub.line) * 8 < 1900   # every line assembles to at most 8 bytes
        forms = ["jal", "jalr", "jalr_offset", "pointer"]
        if sub.link == 1:
            forms += ["call", "c.jalr"] + (["c.jal", "c.jal"] if near else [])
        form = rng.choice(forms)
        if form == "jal":
            self.emit_norvc(f"jal {link}, {sub.label}")
        elif form == "call":
            self.emit(f"call {sub.label}")
        elif form == "c.jal":
            self.emit(f"c.jal {sub.label}")
        elif form == "c.jalr":
            self.emit(f"la x{tmp}, {sub.label}")
            self.emit(f"c.jalr x{tmp}")
        elif form == "jalr":
            self.emit(f"la x{tmp}, {sub.label}")
            self.emit_norvc(f"jalr {link}, 0(x{tmp})")
        elif form == "jalr_offset":
            k = rng.choice([-2046, -64, -2, 2, 100, 2046])
            self.emit(f"la x{tmp}, {sub.label}+{k}")
            self.emit_norvc(f"jalr {link}, {-k}(x{tmp})")
        else:  # through a function pointer in memory: load -> jump target hazard
            at = self.offset(4)
            self.emit(f"la x{tmp}, {sub.label}")
            self.emit(f"sw x{tmp}, {at}(x{BASE})")
            self.emit(f"lw x{tmp}, {at}(x{BASE})")
            if sub.link == 1 and rng.random() < 0.5:
                self.emit(f"c.jalr x{tmp}")
            else:
                self.emit_norvc(f"jalr {link}, 0(x{tmp})")

    def straight(self, n: int) -> None:
        """n straight-line kinds (a call returns, a trap resumes: both are straight-line here)."""
        fns = [getattr(self, name) for name in self.STRAIGHT_KINDS]
        for _ in range(n):
            self.rng.choices(fns, self.STRAIGHT_KINDS.values())[0]()

    # -- control flow
    def forward_branch(self) -> None:
        rng, target = self.rng, self.label()
        k = rng.random()
        if k < 0.45:
            self.emit(f"{rng.choice(BRANCHES)} {self.src()}, {self.src()}, {target}")
        elif k < 0.6:
            self.emit(f"c.{rng.choice(['beqz', 'bnez'])} x{rng.choice(C_POOL + [BASE])}, {target}")
        elif k < 0.75:
            self.emit(f"jal {rng.choice([self.reg(), 'x0'])}, {target}")
        elif k < 0.85:
            self.emit(f"c.j {target}")
        else:
            tmp = self.reg()
            self.emit(f"la {tmp}, {target}")
            self.emit(f"jalr {rng.choice([self.reg(), 'x0'])}, 0({tmp})")
        self.straight(rng.randint(0, 3))
        self.lines.append(f"{target}:")

    def loop(self, depth: int = 0) -> None:
        rng, top = self.rng, self.label()
        counter = f"x{LOOP_COUNTERS[depth]}"
        self.emit(f"li {counter}, {rng.randint(1, 5)}")
        self.lines.append(f"{top}:")
        self.straight(rng.randint(1, 4))
        if depth == 0 and rng.random() < 0.3:
            self.loop(depth + 1)
        if rng.random() < 0.7:
            self.emit(f"{spec.BY_NAME['bdnz'].directive} {counter}, x0, {top}")
        else:
            self.emit(f"addi {counter}, {counter}, -1")
            self.emit(f"bnez {counter}, {top}")

    def subroutine(self) -> None:
        """A subroutine, jumped over here and called later: a leaf that keeps its link register, or one that
        saves it in its stack slot (then it may call what overwrites the register) and reloads it to return."""
        rng = self.rng
        link = rng.choice(LINKS)
        saves = rng.random() < 0.4
        label, skip = f"edge_rand_sub{len(self.subs)}", self.label()
        self.emit(rng.choice([f"j {skip}", f"c.j {skip}"]))
        self.lines.append(f"{label}:")
        line = len(self.lines)
        self.pool = [r for r in POOL if r not in LINKS]
        self.reserved = frozenset({("slot", link)} if saves else {link})
        self.clobbered = {link} | ({("slot", link)} if saves else set())
        if saves:
            self.emit(f"sw x{link}, {LINK_SLOT[link]}(sp)")
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.3:
                self.forward_branch()
            else:
                self.straight(rng.randint(1, 4))
        if saves:
            self.emit(f"{'c.lwsp' if link == 1 and rng.random() < 0.5 else 'lw'} x{link}, {LINK_SLOT[link]}(sp)")
        ret = rng.choice(["c.jr", "jr", "jalr"])
        if ret == "c.jr":
            self.emit(f"c.jr x{link}")
        else:
            self.emit_norvc(f"jr x{link}" if ret == "jr" else f"jalr x0, 0(x{link})")
        self.lines.append(f"{skip}:")
        self.subs.append(_Sub(label, link, line, frozenset(self.clobbered)))
        self.pool, self.reserved, self.clobbered = POOL, frozenset(), set()

    def mret_jump(self) -> None:
        """mret as a jump: mepc set to a label ahead, the instructions between never run. mstatus.MIE takes
        MPIE (mie is 0: nothing can interrupt); mstatus is read back."""
        rng, target = self.rng, self.label()
        tmp = self.reg()
        self.emit(f"la {tmp}, {target}")
        self.emit(f"csrw mepc, {tmp}")
        if rng.random() < 0.5:
            self.emit(f"csrsi mstatus, {rng.choice([0, 8])}")
            self.emit(f"csr{rng.choice(['s', 'c'])} mstatus, {self.reg()}")
            self.emit(f"li {tmp}, 0x80")
            self.emit(f"csr{rng.choice(['s', 'c'])} mstatus, {tmp}")
        self.emit("mret")
        self.straight(rng.randint(0, 2))
        self.lines.append(f"{target}:")
        self.emit(f"csrr {self.reg()}, mstatus")

    def block(self) -> None:
        kind = self.rng.choices(list(self.BLOCK_KINDS), self.BLOCK_KINDS.values())[0]
        if kind == "straight":
            self.straight(self.rng.randint(1, 6))
        else:
            getattr(self, kind)()

    def handler(self) -> list[str]:
        """The trap handler, at mtvec's base (4-byte aligned). mcause, mtval and mepc go to registers, so the
        traces compare them; it resumes after the trapping instruction (its length from its low bits, loaded and
        used at once) or, after an instruction access fault, at ra."""
        cause, tval, epc, tmp = (f"x{r}" for r in self.handler_regs)
        resume, short = self.label(), self.label()
        return [
            "    .align 2", f"{HANDLER}:",
            f"    csrr {cause}, mcause", f"    csrr {tval}, mtval", f"    csrr {epc}, mepc",
            f"    addi {tmp}, {cause}, -1", f"    bnez {tmp}, {resume}",
            "    csrw mepc, ra", "    mret",
            f"{resume}:",
            f"    lhu {tmp}, 0({epc})", f"    andi {tmp}, {tmp}, 3", f"    addi {epc}, {epc}, 2",
            f"    xori {tmp}, {tmp}, 3", f"    bnez {tmp}, {short}", f"    addi {epc}, {epc}, 2",
            f"{short}:", f"    csrw mepc, {epc}", "    mret"]

    def program(self, n_blocks: int) -> str:
        rng = self.rng
        tmp = f"x{POOL[0]}"
        self.emit(f"addi sp, sp, -{FRAME}")
        for k, r in enumerate(SAVED):
            self.emit(f"sw x{r}, {4 * k}(sp)")
        self.emit(f"csrr {tmp}, mtvec")
        self.emit(f"sw {tmp}, {MTVEC_SLOT}(sp)")
        self.emit(f"csrr {tmp}, mstatus")
        self.emit(f"sw {tmp}, {MSTATUS_SLOT}(sp)")
        self.install_handler(tmp)
        self.emit(f"la x{BASE}, edge_rand_data")
        for r in POOL + [PTR]:
            self.emit(f"li x{r}, {self.value()}")
        for _ in range(n_blocks):
            self.block()
        self.emit(f"lw {tmp}, {MTVEC_SLOT}(sp)")
        self.emit(f"csrw mtvec, {tmp}")
        self.emit(f"lw {tmp}, {MSTATUS_SLOT}(sp)")
        self.emit(f"csrw mstatus, {tmp}")
        for k, r in enumerate(SAVED):
            self.emit(f"lw x{r}, {4 * k}(sp)")
        self.emit(f"addi sp, sp, {FRAME}")
        self.emit("li a0, 0")
        self.emit("ret")
        data = ", ".join(str(rng.randint(0, 255)) for _ in range(DATA_BYTES))
        return "\n".join([
            f"/* random differential-test program (edge_sdk/sim/randprog.py), {n_blocks} blocks */",
            ".option arch, +zicsr",
            ".text", ".globl main", ".align 2", "main:", *self.lines, *self.handler(), "edge_rand_text_end:", "",
            ".data", ".align 4", "edge_rand_data:", f"    .byte {data}", ""])


def generate(seed: int, n_blocks: int = 60) -> str:
    """Assembly source of a random program with a `main` that returns 0."""
    return _Gen(seed).program(n_blocks)
