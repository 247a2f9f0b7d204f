/* int8 glue kernels between the compute layers of a compiled network (edge_sdk/lowering): pooling, elementwise
   add, requantize (rescale and ReLU / clip), zero-point padding, transpose. Activations HWC as in nn_i8.h,
   requantization with nn_i8.h's requantize_with, so a glue kernel rounds exactly as the conv and FC kernels
   do. An elementwise input x enters requantize_with as acc = x with bias = -in_zp.

   Each kernel has a plain-C reference (*_ref) and a public function (the one the compiler calls) that equals
   it bit for bit; on xedge the public functions are:
   - lut_i8: per 8 elements 8 byte loads, 8 register+register table loads, 8 byte stores and bdnz;
   - requantize_i8: a 256-entry table of the requantization of every int8 value, then lut_i8 (n >= 256, else
     the reference);
   - maxpool2d_i8: 8 channels a step, per window tap 8 byte loads and 8 compare-and-branch maxima (2 cycles
     each), nested bdnz loops over the window's in-image rows and columns; the maximum requantized through
     the same table (when there are >= 256 outputs); channels beyond a multiple of 8 as in the reference;
   - avgpool2d_i8: 8 channels a step (in word aligned, C % 4 == 0), per tap 2 word loads and 8 sdotsp.b with
     the lane-selecting words 1 << 8j (the sum of x; in_zp comes in through the bias);
   - add_i8: the 64-bit sum exactly in 32-bit registers: each multiplier split at bit t = min(22, shift - 1)
     into a high and a low part, y = (H + (L >> t)) >> (shift - t) with H = a * a_hi + b * b_hi + const and
     L = a * a_lo + b * b_lo + const (both fit in 32 bits for int8 zero points and 12 <= shift <= 42), the
     clamp a table over the unclamped outputs' range (at most 1024, and at most 8 n), two elements per
     iteration (4 byte loads, 8 mul, 14 ALU, 2 table loads, 2 byte stores, bdnz); add_bcast_i8 the same with
     the constants and the table made once a call and b restarting every period (period >= 2); add_i8 is
     add_bcast_i8 with period n;
   - pad_i8: the border runs and input rows as word copies / fills where they are word aligned (copy_i8.h);
   - transpose_i8: per output row 8 bytes a step, a byte load and 7 register+register byte loads from the
     input column, 8 post-increment byte stores. */
#ifndef NN_GLUE_I8_H
#define NN_GLUE_I8_H

#include <stdint.h>

#include "nn_i8.h"

/* A pooling window over an h x w x c input: out_h x out_w outputs (the caller's arithmetic covers ceil mode
   and asymmetric pads); taps outside the image are skipped. */
typedef struct {
  int h, w, c, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w;
} pool_shape_t;

/* Average pooling: acc = sum of (x - in_zp) over a window's in-image taps, requantized with the multiplier
   of its divisor. per_count = 0: every window divides by entry 0 (count_include_pad, or no padding);
   per_count = 1: a window of n in-image taps uses entry n - 1 (kh * kw entries). */
typedef struct {
  const int32_t *mult, *shift;
  int32_t in_zp, out_zp, act_min, act_max, per_count;
} avgpool_quant_t;

/* y = clamp((((int64)(a - a_zp) * a_mult + (int64)(b - b_zp) * b_mult + 2^(shift-1)) >> shift) + out_zp). */
typedef struct {
  int32_t a_zp, b_zp, a_mult, b_mult, shift, out_zp, act_min, act_max;
} add_quant_t;

/* Max pooling, then requantization of the window's maximum (bias = -in_zp; identity: mult 2^30, shift 30). */
void maxpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const channel_quant_t *q);
void maxpool2d_i8_ref(const int8_t *in, int8_t *out, const pool_shape_t *s, const channel_quant_t *q);
void avgpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const avgpool_quant_t *q);
void avgpool2d_i8_ref(const int8_t *in, int8_t *out, const pool_shape_t *s, const avgpool_quant_t *q);
void add_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, const add_quant_t *q);
void add_i8_ref(const int8_t *a, const int8_t *b, int8_t *out, int n, const add_quant_t *q);
/* add_i8 with b repeating every `period` elements (n a multiple of it; period = n: two tensors of n; a bias over
   the last axis: its length): add_i8_ref on each period. */
void add_bcast_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const add_quant_t *q);
/* out[i] = table[in[i] + 128]: any function of one int8 value (GELU, erf, tanh, a scale by a constant, ...). */
void lut_i8(const int8_t *in, int8_t *out, int n, const int8_t *table);
/* A table per channel (channels innermost): out[r][c] = tables[c][in[r][c] + 128] (PReLU's slopes, ...). */
void lut_channels_i8(const int8_t *in, int8_t *out, int rows, int channels, const int8_t *tables);
/* out[i] = requantize_with(in[i], *q): a change of scale or zero point, ReLU, clip. */
void requantize_i8(const int8_t *in, int8_t *out, int n, const channel_quant_t *q);
void requantize_i8_ref(const int8_t *in, int8_t *out, int n, const channel_quant_t *q);
/* An h x w x c image inside a border of `value` (the zero point): top, left, bottom, right rows / columns. */
void pad_i8(const int8_t *in, int8_t *out, int h, int w, int c, int top, int left, int bottom, int right,
            int32_t value);
void pad_i8_ref(const int8_t *in, int8_t *out, int h, int w, int c, int top, int left, int bottom, int right,
                int32_t value);
/* out[j][i] = in[i][j] for a rows x cols matrix (HWC <-> CHW: rows = h * w, cols = c). */
void transpose_i8(const int8_t *in, int8_t *out, int rows, int cols);
void transpose_i8_ref(const int8_t *in, int8_t *out, int rows, int cols);

#endif /* NN_GLUE_I8_H */
