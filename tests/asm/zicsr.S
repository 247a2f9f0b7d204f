#include "test_macros.h"
TEST_BEGIN
  li t0, 0x1234; csrrw t1, mscratch, t0; csrr t2, mscratch; CHECK(1, t2, 0x1234)
  li t0, 0xf000; csrrs t1, mscratch, t0; CHECK(2, t1, 0x1234)
  csrr t2, mscratch; CHECK(3, t2, 0xf234)
  li t0, 0x0230; csrrc t1, mscratch, t0; csrr t2, mscratch; CHECK(4, t2, 0xf004)
  csrrwi t1, mscratch, 17; csrr t2, mscratch; CHECK(5, t2, 17)
  csrrsi t1, mscratch, 8; csrr t2, mscratch; CHECK(6, t2, 25)
  csrrci t1, mscratch, 1; csrr t2, mscratch; CHECK(7, t2, 24)
  /* minstret counts every retired instruction: two reads with two instructions between them. */
  csrr t0, minstret; nop; nop; csrr t1, minstret; sub t2, t1, t0; CHECK(8, t2, 3)
  /* mcycle advances at least once per instruction. */
  csrr t0, mcycle; nop; nop; csrr t1, mcycle; sub t2, t1, t0; sltiu t2, t2, 3; CHECK(9, t2, 0)
  /* misa says RV32 with I, M and C. */
  csrr t0, misa; li t1, 0x40001104; and t0, t0, t1; CHECK(10, t0, 0x40001104)
TEST_END
