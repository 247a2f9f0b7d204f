#include "test_macros.h"
/* The decimating loads (xdec): expected values worked out by hand from the semantics in riscv_ext/spec.py,
   with data[i] = 0x10 + i. */
TEST_BEGIN
  la t0, data
  /* 1:8, field 0 = 5: data[5] shifted in from the top */
  li t2, 0; li t1, 5; DLB_M8(t2, t0, t1, 0); CHECK(1, t2, 0x15000000)
  /* field 1 = 3 in group 1: data[8 + 3]; the previous byte moves down */
  li t1, 0x1d; DLB_M8(t2, t0, t1, 1); CHECK(2, t2, 0x1b150000)
  /* 2:4 (log2 N = 1), k = 3: group 1, field 3 = 3: data[4 + 3] */
  li t2, 0; li t1, 0xc0; DLB_M4(t2, t0, t1, 0x13); CHECK(3, t2, 0x17000000)
  /* 4:16 (log2 N = 2), k = 7: group 1, field 7 = 10: data[16 + 10] */
  li t2, 0; li t1, 0xa0000000; DLB_M16(t2, t0, t1, 0x27); CHECK(4, t2, 0x2a000000)
  /* 1:8, k = 10: the field starts at bit 30 and bit 32 reads as zero: 3, in group 10: data[83] */
  li t2, 0; li t1, 0xc0000000; DLB_M8(t2, t0, t1, 10); CHECK(5, t2, 0x63000000)
  /* four back to back into one register build a SIMD word, first byte in byte 0 (load-use each time) */
  li t1, 0xe4; DLB_M4(t2, t0, t1, 0); DLB_M4(t2, t0, t1, 1); DLB_M4(t2, t0, t1, 2); DLB_M4(t2, t0, t1, 3)
  CHECK(6, t2, 0x1f1a1510)
  /* rd == rs2: the offsets are read before the write */
  li t1, 2; DLB_M4(t1, t0, t1, 0); CHECK(7, t1, 0x12000000)
  /* a dot product right behind the load that built its operand */
  li t3, 0x01010101; li t4, 0; SDOTSP_B(t4, t2, t3); CHECK(8, t4, 0x1f + 0x1a + 0x15 + 0x10)
TEST_END
  .data
  .align 4
data:
  .set i, 0
  .rept 128
  .byte 0x10 + i
  .set i, i + 1
  .endr
