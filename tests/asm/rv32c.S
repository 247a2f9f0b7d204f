#include "test_macros.h"
/* Compressed instructions, written explicitly so the assembler cannot pick the 32-bit forms. */
TEST_BEGIN
  li a0, 5; c.addi a0, -3; CHECK(1, a0, 2)
  c.li a1, -32; CHECK(2, a1, -32)
  c.lui a2, 0x1f; CHECK(3, a2, 0x1f000)
  c.lui a2, 0xfffe0; CHECK(4, a2, 0xfffe0000)
  li a3, 9; c.mv a4, a3; CHECK(5, a4, 9)
  li a3, 9; li a4, 4; c.add a4, a3; CHECK(6, a4, 13)
  li a5, 1; c.slli a5, 31; CHECK(7, a5, 0x80000000)
  li a5, 0x80000000; c.srli a5, 4; CHECK(8, a5, 0x08000000)
  li a5, 0x80000000; c.srai a5, 4; CHECK(9, a5, 0xf8000000)
  li a5, 0xff; c.andi a5, 0x0f; CHECK(10, a5, 0x0f)
  li a4, 10; li a5, 3; c.sub a4, a5; CHECK(11, a4, 7)
  li a4, 0xf0; li a5, 0x3c; c.xor a4, a5; CHECK(12, a4, 0xcc)
  li a4, 0xf0; li a5, 0x0f; c.or a4, a5; CHECK(13, a4, 0xff)
  li a4, 0xf0; li a5, 0x3c; c.and a4, a5; CHECK(14, a4, 0x30)
  la a0, buf; li a1, 0x1234abcd; c.sw a1, 4(a0); c.lw a2, 4(a0); CHECK(15, a2, 0x1234abcd)
  li a1, 0x55aa55aa; c.swsp a1, 0(sp); c.lwsp a3, 0(sp); CHECK(16, a3, 0x55aa55aa)
  c.addi16sp sp, -32; c.addi4spn a0, sp, 16; addi a1, sp, 16; c.addi16sp sp, 32; sub a2, a0, a1; CHECK(17, a2, 0)
  li t6, 18; li a0, 0; c.beqz a0, 1f; j fail
1: li t6, 19; li a0, 1; c.bnez a0, 2f; j fail
2: li t6, 20; c.j 3f; j fail
3: li t6, 21; la a0, 4f; c.jr a0; j fail
4: li t6, 22; la a0, 5f; c.jalr a0
6: j fail
5: la a1, 6b; bne ra, a1, fail
  li t6, 23; c.jal 7f
8: j fail
7: la a1, 8b; bne ra, a1, fail
  c.nop
TEST_END
  .data
  .align 4
buf: .space 16
