#include "test_macros.h"
TEST_BEGIN
  TEST_BR_TAKEN(1, beq, 3, 3)
  TEST_BR_NOT_TAKEN(2, beq, 3, 4)
  TEST_BR_TAKEN(3, bne, 3, 4)
  TEST_BR_NOT_TAKEN(4, bne, 3, 3)
  TEST_BR_TAKEN(5, blt, -1, 0)
  TEST_BR_NOT_TAKEN(6, blt, 0, -1)
  TEST_BR_TAKEN(7, bge, 0, -1)
  TEST_BR_TAKEN(8, bge, 5, 5)
  TEST_BR_NOT_TAKEN(9, bge, -1, 0)
  TEST_BR_TAKEN(10, bltu, 0, -1)
  TEST_BR_NOT_TAKEN(11, bltu, -1, 0)
  TEST_BR_TAKEN(12, bgeu, -1, 0)
  TEST_BR_NOT_TAKEN(13, bgeu, 0, -1)
  /* jal links pc + 4 and jumps. */
  li t6, 14
  jal t0, 1f
2: j fail
1: la t1, 2b
  bne t0, t1, fail
  /* jalr: target (rs1 + imm) with bit 0 cleared, links the next instruction's address. */
  li t6, 15
  la t1, 4f
  addi t1, t1, -3
  jalr t0, 4(t1)
5: j fail
4: la t2, 5b
  bne t0, t2, fail
  /* A taken branch must squash the instruction fetched behind it. */
  li t6, 16
  li t0, 1
  beq x0, x0, 6f
  li t0, 2
6: li t1, 1
  bne t0, t1, fail
TEST_END
