/* int8 glue kernels between the compute layers of a compiled network (edge_sdk/lowering): pooling, elementwise
   add, requantize (rescale and ReLU / clip), zero-point padding, transpose. Plain C; activations HWC as in
   nn_i8.h, requantization with nn_i8.h's requantize_with, so a glue kernel rounds exactly as the conv and FC
   kernels do. An elementwise input x enters requantize_with as acc = x with bias = -in_zp. */
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
void avgpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const avgpool_quant_t *q);
void add_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, const add_quant_t *q);
/* out[i] = requantize_with(in[i], *q): a change of scale or zero point, ReLU, clip. */
void requantize_i8(const int8_t *in, int8_t *out, int n, const channel_quant_t *q);
/* An h x w x c image inside a border of `value` (the zero point): top, left, bottom, right rows / columns. */
void pad_i8(const int8_t *in, int8_t *out, int h, int w, int c, int top, int left, int bottom, int right,
            int32_t value);
/* out[j][i] = in[i][j] for a rows x cols matrix (HWC <-> CHW: rows = h * w, cols = c). */
void transpose_i8(const int8_t *in, int8_t *out, int rows, int cols);

#endif /* NN_GLUE_I8_H */
