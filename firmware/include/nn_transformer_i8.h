/* int8 kernels of the transformer operators of a compiled network (edge_sdk/lowering/transformer.py, layout.py):
   the float islands quantize_static leaves between DequantizeLinear and QuantizeLinear, computed in integer
   arithmetic only (the core has no FPU; nothing here uses float or soft-float), the matmul of two activations,
   elementwise operators with a broadcast constant, and strided copies.

   As in nn_glue_i8.h, each kernel with an optimized path has a plain-C reference (*_ref) that the public function
   equals bit for bit (without xedge, or where the path's conditions do not hold, it is the reference); on xedge:
   - mul_i8, matmul_act_i8: the requantization as nn_i8.h's one-mulh path, the value and the divisor scaled by
     2^pre so that the shift is at least 33 (|acc| 2^pre below 2^31: int8 zero points, |acc| <= k 255^2), in a
     bdnz loop with post-increment loads and stores (13-14 instructions an output);
   - matmul_act_i8 (k % 4 == 0): B^T rows and A rows of k read in place where they are stored so and word
     aligned (their sums by sdotsp.b), else gathered into the scratch; matmul_i8_i32_xedge two rows at a time;
   - softmax_i8 (rows contiguous, the output table below fits 1024 entries): per row the maximum (2-cycle
     compares) and the two-word sum of e in bdnz loops over pairs, r by libgcc's 64-bit division, per element
     p = mulhu(2 e, r) and the output table[mulhu(p, mult) >> (shift - 2)] (the reference's rounding at bit
     31 + shift folded into the table of clamp(((k + 1) >> 1) + out_zp));
   - layernorm_i8 (total_shift >= 33): the sums by sdotsp.b (rows word aligned, d % 4 == 0), the row's
     reciprocal square root from a 32-bit root estimate corrected exactly and a 64 / 32-bit division in 16-bit
     digits, per element the reference's 64-bit products as mul / mulh(su) pairs with carries (a row whose
     shift is outside [1, 31] as the reference);
   - copy_strided_i8: the innermost contiguous dimensions merged, runs of stride 1 copied as words where they
     are word aligned (copy_i8.h), else byte by byte.

   Rounding and error bounds (the README's, in steps of the output quantization; delta = how far the value
   before the one final rounding may be from the exact real value):
   - lut_i8: exactly the table the compiler computed (the island in float32, QuantizeLinear's rounding).
   - mul_i8, add_bcast_i8, matmul_act_i8: exact integer products / sums, one requantization (nn_i8.h):
     at most one step, only near a .5 boundary.
   - softmax_i8: delta <= (2n + 4) 2^-31 / s_out for rows of n.
   - layernorm_i8: delta computed per layer by the compiler (layer_norm_params), at most 2^-8. */
#ifndef NN_TRANSFORMER_I8_H
#define NN_TRANSFORMER_I8_H

#include <stdint.h>

#include "nn_glue_i8.h"
#include "nn_i8.h"

/* Multiplication, the second operand repeating every `period` elements (period = n: two tensors of n; a
   constant over the last axis: its length): out = requantize((a - a_zp) * (b - b_zp)) with mult, shift (bias 0).
   (lut_i8 and add_bcast_i8, the elementwise add with the same broadcast, are in nn_glue_i8.h.) */
typedef struct {
  int32_t a_zp, b_zp, mult, shift, out_zp, act_min, act_max;
} mul_quant_t;
void mul_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const mul_quant_t *q);
void mul_i8_ref(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const mul_quant_t *q);

/* Strided copy: out, dense, is [dims[0]]...[dims[rank-1]] (outermost first) of in[offset + sum i_k strides[k]]
   (strides in bytes, any sign). Transposes, gathers and slices that cannot stay views; layout conversions. */
#define COPY_MAX_RANK 6
typedef struct {
  int32_t rank, offset, dims[COPY_MAX_RANK], strides[COPY_MAX_RANK];
} copy_shape_t;
void copy_strided_i8(const int8_t *in, int8_t *out, const copy_shape_t *s);
void copy_strided_i8_ref(const int8_t *in, int8_t *out, const copy_shape_t *s);

/* Batched matmul of two int8 activations: for batch t, out[t][i][j] (row-major, m x n) =
   requantize(sum_k (A[i][k] - a_zp)(B[k][j] - b_zp)) with A[i][k] at a + a_offset[t] + i * a_row + k * a_col and
   B[k][j] at b + b_offset[t] + k * b_row + j * b_col (any storage order: B^T of Q K^T is read in place). Per batch
   B is packed transposed and A two rows at a time into scratch for the dense int8 matmul (matmul_i8.h; on xedge
   rows already stored so are read in place); the zero points are corrected with row and column sums. */
typedef struct {
  int32_t batches, m, n, k, a_row, a_col, b_row, b_col;
  const int32_t *a_offset, *b_offset;
  int32_t a_zp, b_zp, mult, shift, out_zp, act_min, act_max;
} matmul_act_t;
int matmul_act_scratch_bytes(const matmul_act_t *s);
void matmul_act_i8(const int8_t *a, const int8_t *b, int8_t *out, const matmul_act_t *s, void *scratch);
void matmul_act_i8_ref(const int8_t *a, const int8_t *b, int8_t *out, const matmul_act_t *s, void *scratch);

/* Softmax over rows of `len` elements `inner` bytes apart (outer x inner rows; row (o, i) starts at
   o * len * inner + i). e = exp_table[max - x] (exp(s_in * (x - max)) with 2^30 = 1: entries at most 2^30),
   p = e / sum(e) with one 64-bit reciprocal per row, out = round(p * mult * 2^-shift) + out_zp,
   mult * 2^-shift = 1 / s_out. */
typedef struct {
  int32_t outer, len, inner;
  const uint32_t *exp_table;
  int32_t mult, shift, out_zp, act_min, act_max;
} softmax_t;
void softmax_i8(const int8_t *in, int8_t *out, const softmax_t *s);
void softmax_i8_ref(const int8_t *in, int8_t *out, const softmax_t *s);

/* Layer normalization of `rows` contiguous rows of d: with x = in - in_zp, S = sum x, V = d sum x^2 - S^2,
   W = V 2^(2 e_half) + eps (eps = d^2 epsilon / s_in^2 in 2^-(2 e_half)), the normalized value
   n = (d x - S) / sqrt(W 2^-(2 e_half)) in 2^-p (an exact integer square root, one 64-bit division per row),
   then out = round((n gamma[c] + beta[c]) 2^-total_shift) + out_zp (gamma in 2^-(total_shift - p), beta in
   2^-total_shift: gamma / s_out and beta / s_out). */
typedef struct {
  int32_t rows, d, in_zp, e_half, p, total_shift, out_zp, act_min, act_max;
  int64_t eps;
  const int32_t *gamma;
  const int64_t *beta;
} layernorm_t;
void layernorm_i8(const int8_t *in, int8_t *out, const layernorm_t *s);
void layernorm_i8_ref(const int8_t *in, int8_t *out, const layernorm_t *s);

/* Division, the second operand repeating every `period` elements (period = n: two tensors of n): with
   A = a + q->bias (bias = -a_zp) and B = b - b_zp, out = clamp(floor(floor(A mult / B) 2^-shift + 1/2) + out_zp),
   i.e. A mult 2^-shift / B rounded half up exactly (two 32-bit divisions); B = 0 gives act_max for A > 0, else
   act_min (QuantizeLinear of +-inf and NaN). */
void div_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, int32_t b_zp, const channel_quant_t *q);
/* One input of a concatenation: `rows` rows of `len` (in, dense) requantized (requantize_i8) to rows `out_stride`
   bytes apart in the output. */
void concat_i8(const int8_t *in, int8_t *out, int rows, int len, int out_stride, const channel_quant_t *q);

#endif /* NN_TRANSFORMER_I8_H */
