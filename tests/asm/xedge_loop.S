#include "test_macros.h"
TEST_BEGIN
  /* A counted loop runs exactly n times and leaves the counter at zero. */
  li t0, 5; li t1, 0
1: addi t1, t1, 3
  BDNZ(t0, 1b)
  CHECK(1, t1, 15)
  CHECK(2, t0, 0)
  /* Two nested levels: 4 x 3 inner iterations. */
  li t0, 4; li t2, 0
2: li t1, 3
3: addi t2, t2, 1
  BDNZ(t1, 3b)
  BDNZ(t0, 2b)
  CHECK(3, t2, 12)
  /* A counter of 1 falls through after one pass. */
  li t0, 1; li t1, 0
4: addi t1, t1, 1
  BDNZ(t0, 4b)
  CHECK(4, t1, 1)
  /* A forward bdnz is taken while the counter stays non-zero. */
  li t0, 2; li t6, 5
  BDNZ(t0, 5f)
  j fail
5: CHECK(6, t0, 1)
  /* Counter produced by a load right before the loop close. */
  la t3, count; li t1, 0
6: addi t1, t1, 1
  lw t0, 0(t3)
  BDNZ(t0, 7f)
  j 8f
7: addi t0, t0, 0
8: CHECK(7, t1, 1)
TEST_END
  .data
  .align 2
count: .word 2
