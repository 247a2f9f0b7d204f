"""Random test programs for differential testing of the RTL against Spike.

A program is RV32IMC + Zicsr + every xedge instruction, constrained so that it terminates (branches and
jumps go forward; loops are counted by reserved registers) and stays in memory (loads and stores use a
reserved base register pointing at a 1 KiB data block). Registers and data start random.
"""
from __future__ import annotations

import random

from riscv_ext import spec

POOL = [5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]
C_POOL = [10, 11, 12, 13, 14, 15]   # compressed-register-field registers that are free to write
BASE, PTR = 8, 9                    # data block base; post-increment pointer / register index
LOOP_COUNTERS = (18, 19)
DATA_BYTES = 1024
SAVED = [1, 8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]  # ra and s0..s11
FRAME = 128                         # saved registers at 0..51, c.swsp/c.lwsp scratch at 64..124

R_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
         "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"]
I_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi"]
SHIFT_OPS = ["slli", "srli", "srai"]
LOADS = {"lb": 1, "lh": 2, "lw": 4, "lbu": 1, "lhu": 2}
STORES = {"sb": 1, "sh": 2, "sw": 4}
BRANCHES = ["beq", "bne", "blt", "bge", "bltu", "bgeu"]
SPECIAL_VALUES = [0, 1, -1, 0x7FFFFFFF, -0x80000000, 0x80, 0x7F, 0xFF, -128]


class _Gen:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.lines: list[str] = []
        self.labels = 0

    # -- helpers
    def reg(self) -> str:
        return f"x{self.rng.choice(POOL)}"

    def src(self) -> str:
        return f"x{self.rng.choice(POOL + [0, BASE])}"

    def emit(self, text: str) -> None:
        self.lines.append("    " + text)

    def label(self) -> str:
        self.labels += 1
        return f".Lr{self.labels}"

    def offset(self, size: int) -> int:
        return self.rng.randrange(0, DATA_BYTES - 64, size)

    def imm12(self) -> int:
        return self.rng.choice([self.rng.randint(-2048, 2047), self.rng.randint(-16, 16)])

    # -- instruction kinds (each emits one or a few instructions, never control flow)
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
        rd, cd = self.rng.choice(POOL), rng.choice(C_POOL)
        nz6 = rng.choice([v for v in range(-32, 32) if v])
        forms = [
            f"c.addi x{rd}, {nz6}", f"c.li x{rd}, {rng.randint(-32, 31)}", f"c.lui x{rd}, {rng.randint(1, 31)}",
            f"c.mv x{rd}, x{rng.choice(POOL)}", f"c.add x{rd}, x{rng.choice(POOL)}",
            f"c.slli x{rd}, {rng.randint(1, 31)}", f"c.srli x{cd}, {rng.randint(1, 31)}",
            f"c.srai x{cd}, {rng.randint(1, 31)}", f"c.andi x{cd}, {rng.randint(-32, 31)}",
            f"c.{rng.choice(['sub', 'xor', 'or', 'and'])} x{cd}, x{rng.choice(C_POOL + [BASE])}",
            f"c.lw x{cd}, {rng.randrange(0, 128, 4)}(x{BASE})", f"c.sw x{rng.choice(C_POOL)}, {rng.randrange(0, 128, 4)}(x{BASE})",
            f"c.swsp x{rng.choice(POOL)}, {rng.randrange(64, FRAME, 4)}(sp)",
            f"c.lwsp x{rd}, {rng.randrange(64, FRAME, 4)}(sp)",
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

    def csr(self) -> None:
        rng = self.rng
        op = rng.choice(["csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"])
        operand = str(rng.randint(0, 31)) if op.endswith("i") else self.src()
        self.emit(f"{op} {self.reg()}, mscratch, {operand}")

    def straight(self, n: int) -> None:
        """n straight-line instructions of random kinds."""
        kinds = [(self.alu, 40), (self.compressed, 15), (self.memory, 15), (self.custom, 20), (self.csr, 3)]
        fns, weights = zip(*kinds)
        for _ in range(n):
            self.rng.choices(fns, weights)[0]()

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

    def program(self, n_blocks: int) -> str:
        rng = self.rng
        self.emit(f"addi sp, sp, -{FRAME}")
        for k, r in enumerate(SAVED):
            self.emit(f"sw x{r}, {4 * k}(sp)")
        self.emit(f"la x{BASE}, edge_rand_data")
        for r in POOL + [PTR]:
            self.emit(f"li x{r}, {rng.choice([rng.randint(-2**31, 2**31 - 1), rng.choice(SPECIAL_VALUES)])}")
        for _ in range(n_blocks):
            k = rng.random()
            if k < 0.6:
                self.straight(rng.randint(1, 6))
            elif k < 0.85:
                self.forward_branch()
            else:
                self.loop()
        for k, r in enumerate(SAVED):
            self.emit(f"lw x{r}, {4 * k}(sp)")
        self.emit(f"addi sp, sp, {FRAME}")
        self.emit("li a0, 0")
        self.emit("ret")
        data = ", ".join(str(rng.randint(0, 255)) for _ in range(DATA_BYTES))
        return "\n".join([
            f"/* random differential-test program (edge_sdk/sim/randprog.py), {n_blocks} blocks */",
            ".option arch, +zicsr",
            ".text", ".globl main", ".align 2", "main:", *self.lines, "",
            ".data", ".align 4", "edge_rand_data:", f"    .byte {data}", ""])


def generate(seed: int, n_blocks: int = 60) -> str:
    """Assembly source of a random program with a `main` that returns 0."""
    return _Gen(seed).program(n_blocks)
