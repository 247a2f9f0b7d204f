/* The machine timer and its interrupt (README, "The platform"): mtime advances, the time CSR reads it, MTIP
   follows mtime >= mtimecmp, wfi sleeps until an enabled interrupt is pending (even with mstatus.MIE clear,
   without taking it), direct and vectored mtvec, the trap state (mcause bit 31, mepc, MIE stacked into MPIE,
   MPP = M) inside the handler and restored by mret, an exception nested in the interrupt handler, and msip. */
#include "test_macros.h"

#define CLINT 0x02000000
#define MTIMECMP 0x02004000
#define MTIME 0x0200BFF8

/* mtimecmp = mtime + ticks (hi parked at its maximum while lo changes) */
#define ARM(ticks)                                                        \
  li t0, MTIMECMP; li t1, -1; sw t1, 4(t0);                               \
  li t2, MTIME; lw t2, 0(t2); addi t2, t2, ticks; sw t2, 0(t0); sw zero, 4(t0)
#define DISARM li t0, MTIMECMP; li t1, -1; sw t1, 4(t0)

TEST_BEGIN
  csrr s11, mtvec                   /* the runtime's vector, restored at the end */
  /* 1-2: mtime advances; the time CSR is mtime. */
  li t0, MTIME; lw s0, 0(t0)
  li t1, 3000; 1: addi t1, t1, -1; bnez t1, 1b
  csrr s1, time; lw s2, 0(t0)
  sltu t3, s0, s1; CHECK(1, t3, 1)
  sltu t3, s2, s1; CHECK(2, t3, 0)
  /* 3-4: MTIP follows mtime >= mtimecmp; a pending interrupt is not taken while mie.MTIE is clear. */
  DISARM; csrr t3, mip; andi t3, t3, 0x80; CHECK(3, t3, 0)
  li t0, MTIMECMP; sw zero, 0(t0); sw zero, 4(t0)
  csrsi mstatus, 8
  csrr t3, mip; andi t3, t3, 0x80; CHECK(4, t3, 0x80)
  csrci mstatus, 8

  /* 5-10: direct mode: wfi with mstatus.MIE clear wakes without taking the interrupt; setting MIE takes it. */
  la t0, direct_handler; csrw mtvec, t0
  li s3, 0                          /* interrupts taken */
  ARM(10)
  li t0, 0x80; csrs mie, t0
  wfi
  csrr t3, mip; andi t3, t3, 0x80; CHECK(5, t3, 0x80)
  CHECK(6, s3, 0)
  csrsi mstatus, 8
  nop
  CHECK(7, s3, 1)
  csrr t3, mstatus; andi t3, t3, 8; CHECK(8, t3, 8)     /* mret restored MIE */
  CHECK(9, s4, 0x80000007)          /* mcause seen by the handler */
  CHECK(10, s5, 0x1880)             /* handler's mstatus: MPP = M, MPIE = 1, MIE = 0 */

  /* 11-13: vectored mode: the timer goes to base + 4 * 7; an ecall inside the handler goes to base + 0 and
     returns into it (nested trap state: mepc and mcause of the interrupt saved and restored by the handler). */
  la t0, vector_table; ori t0, t0, 1; csrw mtvec, t0
  li s3, 0; li s6, 0
  csrci mstatus, 8                  /* check and sleep masked: no interrupt lost between them */
  ARM(10)
  1: bnez s3, 2f; wfi; csrsi mstatus, 8; nop; csrci mstatus, 8; j 1b
  2: csrsi mstatus, 8
  CHECK(11, s3, 1)
  CHECK(12, s6, 11)                 /* the nested ecall's mcause */
  CHECK(13, s4, 0x80000007)         /* the interrupt's mcause, after the nested trap */

  /* 14: the software interrupt (msip) goes to base + 4 * 3 and has priority over a pending timer. */
  li t0, MTIMECMP; sw zero, 0(t0); sw zero, 4(t0)   /* timer pending too */
  csrci mstatus, 8
  li t0, 0x88; csrs mie, t0
  li s3, 0; li t0, CLINT; li t1, 1; sw t1, 0(t0)
  csrsi mstatus, 8
  nop
  CHECK(14, s3, 3)                  /* software first (the handler clears msip and disarms the timer) */
  csrci mstatus, 8
  li t0, 0x88; csrc mie, t0
  DISARM
  csrw mtvec, s11
TEST_END

  .align 2
direct_handler:
  csrr s4, mcause
  csrr s5, mstatus
  addi s3, s3, 1
  DISARM
  mret

  .align 2
  .option push
  .option norvc
vector_table:
  j exception_handler               /* 0 */
  j unexpected
  j unexpected
  j software_handler                /* 3 */
  j unexpected
  j unexpected
  j unexpected
  j vectored_timer_handler          /* 7 */
  .option pop
unexpected:
  li a0, 99
  j fail_exit

vectored_timer_handler:
  csrr s7, mepc
  csrr s8, mcause
  ecall                             /* nested: an exception inside the handler */
  csrw mepc, s7
  csrw mcause, s8
  csrr s4, mcause
  addi s3, s3, 1
  DISARM
  mret

exception_handler:
  csrr s6, mcause
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  mret

software_handler:
  li t0, CLINT; sw zero, 0(t0)      /* clear msip */
  bnez s3, 1f
  li s3, 3
1:
  DISARM
  mret

fail_exit:
  csrw mtvec, s11
  lw ra, 12(sp)
  addi sp, sp, 16
  ret
