/* Dense int8 matrix multiply: C[M][N] (int32) = A[M][K] (int8, row-major) x B (int8, stored transposed as
   Bt[N][K], so every output is a dot product of two contiguous rows).
   matmul_i8_i32_ref:   plain C, the reference every optimised variant is checked against.
   matmul_i8_i32_xedge: 2x4 output blocks with the xedge SIMD dot product, post-increment loads and the
                        bdnz loop close; needs K % 4 == 0 and 4-byte aligned rows (falls back otherwise). */
#ifndef MATMUL_I8_H
#define MATMUL_I8_H

#include <stdint.h>

void matmul_i8_i32_ref(const int8_t *A, const int8_t *Bt, int32_t *C, int M, int N, int K);
void matmul_i8_i32_xedge(const int8_t *A, const int8_t *Bt, int32_t *C, int M, int N, int K);

#endif
