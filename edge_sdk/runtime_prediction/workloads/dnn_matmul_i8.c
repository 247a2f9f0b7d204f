/* The SDK's own int8 DNN kernel (firmware/kernels/matmul_i8.c, plain-C path) as a workload: a SIZE x SIZE x
   SIZE int8 matrix multiply into int32. */
#include <stdint.h>

#include "matmul_i8.h"

static int8_t A[SIZE * SIZE], Bt[SIZE * SIZE];
static int32_t C[SIZE * SIZE];

unsigned run(void) {
  uint32_t seed = 1;
  for (int i = 0; i < SIZE * SIZE; i++) A[i] = (int8_t)((seed = seed * 1664525u + 1013904223u) >> 24);
  for (int i = 0; i < SIZE * SIZE; i++) Bt[i] = (int8_t)((seed = seed * 1664525u + 1013904223u) >> 24);
  matmul_i8_i32_ref(A, Bt, C, SIZE, SIZE, SIZE);
  unsigned h = 0;
  for (int i = 0; i < SIZE * SIZE; i++) h = h * 31u + (unsigned)C[i];
  return h;
}
