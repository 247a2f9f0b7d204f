/* Performance counters of the edge-sdk MCU, readable from C on Spike and on the RTL core.
   On the RTL every counter counts; Spike counts mcycle = minstret and leaves the event counters at zero. */
#ifndef EDGE_PERF_H
#define EDGE_PERF_H

#include <stdint.h>
#include "edge_insn.h"

#define EDGE_CSR_READ(csr)                                                           \
  ({ uint32_t v_;                                                                    \
     __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, " #csr "\n.option pop" \
                      : "=r"(v_));                                                   \
     v_; })

/* A 64-bit counter read as high/low/high so a carry between the halves is never torn. */
#define EDGE_CSR_READ64(lo, hi)                                  \
  ({ uint32_t h_, l_;                                            \
     do { h_ = EDGE_CSR_READ(hi); l_ = EDGE_CSR_READ(lo); }      \
     while (h_ != EDGE_CSR_READ(hi));                            \
     ((uint64_t)h_ << 32) | l_; })

static inline uint64_t perf_cycles(void) { return EDGE_CSR_READ64(mcycle, mcycleh); }
static inline uint64_t perf_instret(void) { return EDGE_CSR_READ64(minstret, minstreth); }

/* Event counters, indexed as in edge_insn.h (EDGE_HPM_*). */
static inline uint32_t perf_load_use_stalls(void) { return EDGE_CSR_READ(mhpmcounter3); }
static inline uint32_t perf_branch_penalty(void) { return EDGE_CSR_READ(mhpmcounter4); }
static inline uint32_t perf_muldiv_stalls(void) { return EDGE_CSR_READ(mhpmcounter5); }
static inline uint32_t perf_simd_insns(void) { return EDGE_CSR_READ(mhpmcounter6); }
static inline uint32_t perf_mem_insns(void) { return EDGE_CSR_READ(mhpmcounter7); }
static inline uint32_t perf_loop_insns(void) { return EDGE_CSR_READ(mhpmcounter8); }

#endif /* EDGE_PERF_H */
