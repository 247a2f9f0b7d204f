/* The machine timer of the edge-sdk MCU: the CLINT at Spike's address (README, "The platform"), the same on
   Spike and on the RTL core. mtime counts at the timebase (on the RTL one tick every 100 core cycles, on Spike
   one every 100 instructions); an interrupt is pending while mtime >= mtimecmp.

   A program takes the timer interrupt by defining the runtime's handler (crt0.S vectors to it):
     void __attribute__((interrupt("machine"))) edge_irq_timer(void) { ...; timer_set_deadline(next); }
   and enabling it with timer_irq_enable(); `wfi` sleeps until it is pending. */
#ifndef EDGE_TIMER_H
#define EDGE_TIMER_H

#include <stdint.h>
#include "edge_platform.h"
#include "perf.h"

#define MIP_MSIP (1u << 3)
#define MIP_MTIP (1u << 7)
#define MSTATUS_MIE (1u << 3)

#define EDGE_CSR_SET(csr, bits) \
  __asm__ volatile(".option push\n.option arch, +zicsr\ncsrs " #csr ", %0\n.option pop" ::"r"(bits))
#define EDGE_CSR_CLEAR(csr, bits) \
  __asm__ volatile(".option push\n.option arch, +zicsr\ncsrc " #csr ", %0\n.option pop" ::"r"(bits))

/* mtime through the time CSR (Zicntr). */
static inline uint64_t timer_now(void) { return EDGE_CSR_READ64(time, timeh); }

/* The next interrupt at mtime >= t; the high half parked at its maximum first so no torn value fires early. */
static inline void timer_set_deadline(uint64_t t) {
  CLINT_MTIMECMP_HI = 0xFFFFFFFFu;
  CLINT_MTIMECMP_LO = (uint32_t)t;
  CLINT_MTIMECMP_HI = (uint32_t)(t >> 32);
}

/* Timer interrupts on (mie.MTIE) and interrupts globally (mstatus.MIE); off clears mie.MTIE only. */
static inline void timer_irq_enable(void) {
  EDGE_CSR_SET(mie, MIP_MTIP);
  EDGE_CSR_SET(mstatus, MSTATUS_MIE);
}
static inline void timer_irq_disable(void) { EDGE_CSR_CLEAR(mie, MIP_MTIP); }

static inline void wait_for_interrupt(void) { __asm__ volatile("wfi" ::: "memory"); }

#endif /* EDGE_TIMER_H */
