#include "test_macros.h"
/* Expected values from riscv_ext/golden.py (sdotsp_b / sdotusp_b). */
TEST_BEGIN
  TEST_ACC(1, SDOTSP_B, -16502, 10, 0x80ff7f01, 0x02ff80ff)
  TEST_ACC(2, SDOTUSP_B, -16246, 10, 0x80ff7f01, 0x02ff80ff)
  TEST_ACC(3, SDOTSP_B, 70, 0, 0x01020304, 0x05060708)
  TEST_ACC(4, SDOTSP_B, -1, -5, 0xffffffff, 0xffffffff)
  TEST_ACC(5, SDOTUSP_B, -1025, -5, 0xffffffff, 0xffffffff)
  TEST_ACC(6, SDOTSP_B, -2147419133, 0x7fffffff, 0x7f7f7f7f, 0x7f7f7f7f)
  TEST_ACC(7, SDOTSP_B, 65536, 0, 0x80808080, 0x80808080)
  TEST_ACC(8, SDOTUSP_B, -65536, 0, 0x80808080, 0x80808080)
  TEST_ACC(9, SDOTSP_B, 123454, 123456, 0x00ff00ff, 0x80018001)
  TEST_ACC(10, SDOTUSP_B, 123966, 123456, 0x00ff00ff, 0x80018001)
  /* Back-to-back accumulation into one register (forwarding of the accumulator). */
  li t2, 0; li t0, 0x01010101; li t1, 0x02020202
  SDOTSP_B(t2, t0, t1); SDOTSP_B(t2, t0, t1); SDOTSP_B(t2, t0, t1); CHECK(11, t2, 24)
  /* The accumulator right behind a load that produced it. */
  la t3, acc; lw t2, 0(t3); SDOTSP_B(t2, t0, t1); CHECK(12, t2, 108)
  /* rd = x0 is a no-op. */
  SDOTSP_B(x0, t0, t1); CHECK(13, x0, 0)
TEST_END
  .data
  .align 2
acc: .word 100
