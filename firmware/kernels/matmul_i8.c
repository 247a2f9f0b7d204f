/* Dense int8 matrix multiply kernels (see matmul_i8.h for the layout). */
#include "matmul_i8.h"

#include <stdint.h>

#include "edge_insn.h"

static void block_ref(const int8_t *A, const int8_t *Bt, int32_t *C, int m0, int m1, int n0, int n1, int N,
                      int K) {
  for (int m = m0; m < m1; ++m)
    for (int n = n0; n < n1; ++n) {
      int32_t acc = 0;
      for (int k = 0; k < K; ++k) acc += (int32_t)A[m * K + k] * Bt[n * K + k];
      C[m * N + n] = acc;
    }
}

void matmul_i8_i32_ref(const int8_t *A, const int8_t *Bt, int32_t *C, int M, int N, int K) {
  block_ref(A, Bt, C, 0, M, 0, N, N, K);
}

#ifdef EDGE_ISA_XEDGE
/* One 2x4 block: 6 post-increment word loads, 8 SIMD dot products and the loop close per 4 k-steps. */
static inline void block_2x4(const int8_t *a0, const int8_t *a1, const int8_t *b0, const int8_t *b1,
                             const int8_t *b2, const int8_t *b3, int32_t *c0, int32_t *c1, uint32_t steps) {
  int32_t c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  __asm__ volatile(
      "1:\n"
      EDGE_ASM_LW_PI("t0", "%[b0]", "4")
      EDGE_ASM_LW_PI("t1", "%[b1]", "4")
      EDGE_ASM_LW_PI("t2", "%[b2]", "4")
      EDGE_ASM_LW_PI("t3", "%[b3]", "4")
      EDGE_ASM_LW_PI("t4", "%[a0]", "4")
      EDGE_ASM_LW_PI("t5", "%[a1]", "4")
      EDGE_ASM_SDOTSP_B("%[c00]", "t4", "t0")
      EDGE_ASM_SDOTSP_B("%[c01]", "t4", "t1")
      EDGE_ASM_SDOTSP_B("%[c02]", "t4", "t2")
      EDGE_ASM_SDOTSP_B("%[c03]", "t4", "t3")
      EDGE_ASM_SDOTSP_B("%[c10]", "t5", "t0")
      EDGE_ASM_SDOTSP_B("%[c11]", "t5", "t1")
      EDGE_ASM_SDOTSP_B("%[c12]", "t5", "t2")
      EDGE_ASM_SDOTSP_B("%[c13]", "t5", "t3")
      EDGE_ASM_BDNZ("%[n]", "1b")
      : [c00] "+r"(c00), [c01] "+r"(c01), [c02] "+r"(c02), [c03] "+r"(c03), [c10] "+r"(c10),
        [c11] "+r"(c11), [c12] "+r"(c12), [c13] "+r"(c13), [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0),
        [b1] "+r"(b1), [b2] "+r"(b2), [b3] "+r"(b3), [n] "+r"(steps)
      :
      : "t0", "t1", "t2", "t3", "t4", "t5", "memory");
  c0[0] = c00, c0[1] = c01, c0[2] = c02, c0[3] = c03;
  c1[0] = c10, c1[1] = c11, c1[2] = c12, c1[3] = c13;
}

void matmul_i8_i32_xedge(const int8_t *A, const int8_t *Bt, int32_t *C, int M, int N, int K) {
  if (K < 4 || K % 4 != 0 || ((uintptr_t)A | (uintptr_t)Bt) % 4 != 0) {
    block_ref(A, Bt, C, 0, M, 0, N, N, K);
    return;
  }
  int m_full = M & ~1, n_full = N & ~3;
  for (int m = 0; m < m_full; m += 2)
    for (int n = 0; n < n_full; n += 4) {
      const int8_t *b = Bt + n * K;
      block_2x4(A + m * K, A + (m + 1) * K, b, b + K, b + 2 * K, b + 3 * K, C + m * N + n,
                C + (m + 1) * N + n, (uint32_t)K / 4);
    }
  block_ref(A, Bt, C, 0, m_full, n_full, N, N, K);  /* right columns */
  block_ref(A, Bt, C, m_full, M, 0, N, N, K);       /* bottom row */
}
#else
void matmul_i8_i32_xedge(const int8_t *A, const int8_t *Bt, int32_t *C, int M, int N, int K) {
  matmul_i8_i32_ref(A, Bt, C, M, N, K);
}
#endif
