/* Self-checking assembly tests in the spirit of riscv-tests: each TEST_* sets the test number in t6 and
   jumps to `fail` on a wrong result; main returns 0 when every test passed, else the failing test number
   (the program's exit code). Linked with the edge-sdk runtime; run on Spike and on the RTL. */
#include "edge_insn.h"

#define TEST_BEGIN            \
  .option arch, +zicsr;       \
  .text;                      \
  .globl main;                \
  .align 2;                   \
  main:                       \
  addi sp, sp, -16;           \
  sw ra, 12(sp);

#define TEST_END              \
  li a0, 0;                   \
  j 9f;                       \
  fail:                       \
  mv a0, t6;                  \
  9:                          \
  lw ra, 12(sp);              \
  addi sp, sp, 16;            \
  ret;

/* Compare a register with an expected constant. */
#define CHECK(n, reg, expected) \
  li t6, n;                     \
  li t5, expected;              \
  beq reg, t5, 8f;              \
  j fail;                       \
  8:

/* Compare a register with an address (a symbol expression). */
#define CHECK_ADDR(n, reg, symbol) \
  li t6, n;                        \
  la t5, symbol;                   \
  beq reg, t5, 8f;                 \
  j fail;                          \
  8:

#define TEST_RR(n, op, result, v1, v2) \
  li t0, v1; li t1, v2; op t2, t0, t1; CHECK(n, t2, result)

#define TEST_RI(n, op, result, v1, imm) \
  li t0, v1; op t2, t0, imm; CHECK(n, t2, result)

/* rd == rs1 and rd == rs2 forms catch forwarding mistakes. */
#define TEST_RR_SRC1_EQ_DEST(n, op, result, v1, v2) \
  li t0, v1; li t1, v2; op t0, t0, t1; CHECK(n, t0, result)

#define TEST_LD(n, op, result, offset, base) \
  la t0, base; op t2, offset(t0); CHECK(n, t2, result)

#define TEST_ST(n, st, ld, value, offset, base) \
  la t0, base; li t1, value; st t1, offset(t0); ld t2, offset(t0); CHECK(n, t2, value)

#define TEST_BR_TAKEN(n, br, v1, v2) \
  li t6, n; li t0, v1; li t1, v2; br t0, t1, 7f; j fail; 7:

#define TEST_BR_NOT_TAKEN(n, br, v1, v2) \
  li t6, n; li t0, v1; li t1, v2; br t0, t1, 6f; j 7f; 6: j fail; 7:

/* Custom R-type with accumulator (rd is also a source). */
#define TEST_ACC(n, MACRO, result, acc, v1, v2) \
  li t2, acc; li t0, v1; li t1, v2; MACRO(t2, t0, t1); CHECK(n, t2, result)
