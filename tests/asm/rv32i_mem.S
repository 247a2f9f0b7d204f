#include "test_macros.h"
TEST_BEGIN
  TEST_LD(1, lb, 0xffffff80, 0, data)
  TEST_LD(2, lbu, 0x00000080, 0, data)
  TEST_LD(3, lh, 0xffff8180, 0, data)
  TEST_LD(4, lhu, 0x00008180, 0, data)
  TEST_LD(5, lw, 0x7f008180, 0, data)
  TEST_LD(6, lb, 0x0000007f, 3, data)
  TEST_LD(7, lh, 0x00007f00, 2, data)
  TEST_LD(8, lw, 0x12345678, 4, data)
  TEST_LD(9, lbu, 0x00000034, 6, data)
  TEST_ST(10, sb, lbu, 0x000000aa, 8, scratch)
  TEST_ST(11, sh, lhu, 0x0000beef, 10, scratch)
  TEST_ST(12, sw, lw, 0xdeadbeef, 12, scratch)
  /* A byte store changes only its byte. */
  la t0, scratch; li t1, 0x11223344; sw t1, 0(t0); li t1, 0xab; sb t1, 2(t0); lw t2, 0(t0)
  CHECK(13, t2, 0x11ab3344)
  /* Load-use: the consumer right behind a load must see the loaded value. */
  la t0, data; lw t1, 4(t0); addi t2, t1, 1; CHECK(14, t2, 0x12345679)
  /* Store then load of the same word, back to back. */
  la t0, scratch; li t1, 0x5a5a5a5a; sw t1, 16(t0); lw t2, 16(t0); CHECK(15, t2, 0x5a5a5a5a)
TEST_END
  .data
  .align 4
data: .byte 0x80, 0x81, 0x00, 0x7f
      .word 0x12345678
scratch: .space 32
