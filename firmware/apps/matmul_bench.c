/* Dense int8 matmul benchmark and `make sim` demo: times matmul_i8_i32_xedge (the SIMD kernel when built
   with --isa xedge, plain C with --isa base) on an M x N x K problem, checks it against the reference, and
   prints cycles and MACs. Sizes: -DMM_M=.. -DMM_N=.. -DMM_K=.. */
#include <stdint.h>
#include <stdio.h>

#include "matmul_i8.h"
#include "perf.h"

#ifndef MM_M
#define MM_M 64
#endif
#ifndef MM_N
#define MM_N 64
#endif
#ifndef MM_K
#define MM_K 64
#endif

static int8_t A[MM_M * MM_K] __attribute__((aligned(4)));
static int8_t Bt[MM_N * MM_K] __attribute__((aligned(4)));
static int32_t C[MM_M * MM_N], C_ref[MM_M * MM_N];

int main(void) {
  uint32_t seed = 1;
  for (int i = 0; i < MM_M * MM_K; ++i) A[i] = (int8_t)((seed = seed * 1664525u + 1013904223u) >> 24);
  for (int i = 0; i < MM_N * MM_K; ++i) Bt[i] = (int8_t)((seed = seed * 1664525u + 1013904223u) >> 24);

  uint64_t c0 = perf_cycles(), i0 = perf_instret();
  matmul_i8_i32_xedge(A, Bt, C, MM_M, MM_N, MM_K);
  uint64_t cycles = perf_cycles() - c0, insns = perf_instret() - i0;

  matmul_i8_i32_ref(A, Bt, C_ref, MM_M, MM_N, MM_K);
  uint32_t checksum = 0;
  int errors = 0;
  for (int i = 0; i < MM_M * MM_N; ++i) {
    checksum = checksum * 31u + (uint32_t)C[i];
    errors += C[i] != C_ref[i];
  }
  printf("matmul %dx%dx%d int8: checksum %08lx, %d mismatches\n", MM_M, MM_N, MM_K, (unsigned long)checksum, errors);
  printf("kernel: %lu MACs, %lu instructions, %lu cycles\n", (unsigned long)(MM_M * MM_N * MM_K), (unsigned long)insns,
         (unsigned long)cycles);
  return errors != 0;
}
