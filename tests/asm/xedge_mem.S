#include "test_macros.h"
TEST_BEGIN
  /* register + register loads */
  la t0, data; li t1, 4; LW_RR(t2, t0, t1); CHECK(1, t2, 0x12345678)
  li t1, 0; LB_RR(t2, t0, t1); CHECK(2, t2, 0xffffff80)
  LBU_RR(t2, t0, t1); CHECK(3, t2, 0x80)
  LH_RR(t2, t0, t1); CHECK(4, t2, 0xffff8180)
  LHU_RR(t2, t0, t1); CHECK(5, t2, 0x8180)
  li t1, 3; LB_RR(t2, t0, t1); CHECK(6, t2, 0x7f)
  /* post-increment loads: value from the old base, base += imm */
  la t0, data; LW_PI(t2, t0, 4); CHECK(7, t2, 0x7f008180)
  CHECK_ADDR(8, t0, data + 4)
  LB_PI(t2, t0, -3); CHECK(9, t2, 0x78)
  CHECK_ADDR(10, t0, data + 1)
  LBU_PI(t2, t0, 1); CHECK(11, t2, 0x81)
  la t0, data + 2; LH_PI(t2, t0, 2); CHECK(12, t2, 0x7f00)
  la t0, data; LHU_PI(t2, t0, 2); CHECK(13, t2, 0x8180)
  /* rd == rs1: the loaded value wins over the incremented base */
  la t0, data + 4; LW_PI(t0, t0, 4); CHECK(14, t0, 0x12345678)
  /* the incremented base feeds the next instruction directly */
  la t0, data; LW_PI(t2, t0, 8); addi t1, t0, 0; CHECK_ADDR(15, t1, data + 8)
  /* post-increment stores */
  la t0, scratch; li t1, 0xcafef00d; SW_PI(t1, t0, 4); CHECK_ADDR(16, t0, scratch + 4)
  la t3, scratch; lw t2, 0(t3); CHECK(17, t2, 0xcafef00d)
  li t1, 0xbeef; SH_PI(t1, t0, 2); li t1, 0x42; SB_PI(t1, t0, -6); CHECK_ADDR(18, t0, scratch)
  lw t2, 4(t3); CHECK(19, t2, 0x0042beef)
TEST_END
  .data
  .align 4
data: .byte 0x80, 0x81, 0x00, 0x7f
      .word 0x12345678
scratch: .space 16
