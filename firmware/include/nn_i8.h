/* int8 neural-network layer kernels: int8 activations and weights, int32 accumulation, per-channel
   requantization to int8.

   Layouts: activations HWC (channels fastest); conv weights (Cout, Kh, Kw, Cin), one row of K = Kh*Kw*Cin per
   output channel (the im2col row). Dense weights rows are `row_stride` bytes apart (K rounded up to 4 for the
   SIMD kernels, zero filled). N:M sparse weights are in the packed format of riscv_ext/nm_format.py
   (values + packed log2(M)-bit offsets, see nm_format.h).

   Requantization of output channel c (the arithmetic of riscv_ext/nm_format's users, edge_sdk/kernel_bench.py):
     y = clamp(((int64)(acc + bias[c]) * mult[c] + 2^(shift[c]-1)) >> shift[c]) + out_zp, act_min, act_max)
   bias has -in_zp * sum(w) folded in; padding reads in_zp; act_min/act_max carry ReLU / ReLU6.

   Variants: *_ref plain C (the reference every other variant equals bit for bit); *_xedge the dense
   SIMD kernels (im2col + 2x4-blocked matmul); *_nm_sw N:M sparse on xedge (decimating im2col, dense SIMD dot
   product); *_nm_xdec N:M sparse with the xdec decimating loads. */
#ifndef NN_I8_H
#define NN_I8_H

#include <stdint.h>

#include "nm_format.h"

typedef struct {
  int h, w, cin, cout, kh, kw, stride, pad;  /* input h x w x cin; symmetric zero-point padding */
} conv_shape_t;

typedef struct {
  const int32_t *bias, *mult, *shift;  /* per output channel */
  int32_t in_zp, out_zp, act_min, act_max;
} quant_t;

static inline int conv_out_h(const conv_shape_t *s) { return (s->h + 2 * s->pad - s->kh) / s->stride + 1; }
static inline int conv_out_w(const conv_shape_t *s) { return (s->w + 2 * s->pad - s->kw) / s->stride + 1; }

/* shift >= 33 (any multiplier below 2^31 with a scale below 2^-2): only the high word of the product
   matters, floor((hi * 2^32 + lo + 2^(shift-1)) / 2^shift) = (hi + 2^(shift-33)) >> (shift-32) exactly,
   so one mulh does it; smaller shifts take the 64-bit path. */
typedef struct { int32_t bias, mult, shift, out_zp, act_min, act_max; } channel_quant_t;

/* Channel c's parameters in registers: kernels load them once per channel, not once per output (an int8
   output store may alias them, so the compiler would reload them after every store). */
static inline channel_quant_t channel_quant(const quant_t *q, int c) {
  channel_quant_t r = {q->bias[c], q->mult[c], q->shift[c], q->out_zp, q->act_min, q->act_max};
  return r;
}

/* The high word of a * b: one mulh (in assembly, so that the compiler does not also compute the low word for
   the 64-bit path of requantize_with and hoist it into the fast one). */
static inline int32_t mul_hi(int32_t a, int32_t b) {
  int32_t r;
  __asm__("mulh %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}

static inline int8_t requantize_with(int32_t acc, channel_quant_t k) {
  int32_t a = acc + k.bias, y;
  if (k.shift >= 33) {
    /* (hi + 2^(s-1)) >> s + zp with s = shift - 32 equals ((hi >> (s - 1)) + 2 zp + 1) >> 1: no rounding
       constant, the zero point added before the last shift */
    y = ((mul_hi(a, k.mult) >> (k.shift - 33)) + (2 * k.out_zp + 1)) >> 1;
  } else {
    y = (int32_t)(((int64_t)a * k.mult + ((int64_t)1 << (k.shift - 1))) >> k.shift) + k.out_zp;
  }
  /* one unsigned compare for a value in range */
  if ((uint32_t)(y - k.act_min) > (uint32_t)(k.act_max - k.act_min)) y = y < k.act_min ? k.act_min : k.act_max;
  return (int8_t)y;
}

/* Four accumulators of one channel to outputs `stride` bytes apart (requantize_with each), the path chosen once. */
static inline void requantize4(const int32_t *acc, channel_quant_t k, int8_t *o, int stride) {
  if (k.shift >= 33) {
    const int32_t s = k.shift - 33, z = 2 * k.out_zp + 1, lo = k.act_min, hi = k.act_max;
    const uint32_t range = (uint32_t)(hi - lo);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r, o += stride) {
      int32_t y = ((mul_hi(acc[r] + k.bias, k.mult) >> s) + z) >> 1;
      if ((uint32_t)(y - lo) > range) y = y < lo ? lo : hi;
      *o = (int8_t)y;
    }
  } else {
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r, o += stride) *o = requantize_with(acc[r], k);
  }
}

static inline int8_t requantize(int32_t acc, int c, const quant_t *q) { return requantize_with(acc, channel_quant(q, c)); }

/* Bytes of scratch the optimized conv kernels need (im2col rows + decimated rows + accumulators). */
int conv2d_scratch_bytes(const conv_shape_t *s);

void conv2d_i8_ref(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                   const quant_t *q);
void conv2d_i8_xedge(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                     const quant_t *q, void *scratch);
void conv2d_nm_i8_ref(const int8_t *in, const nm_weights_t *w, int8_t *out, const conv_shape_t *s, const quant_t *q);
void conv2d_nm_i8_sw(const int8_t *in, const nm_weights_t *w, int8_t *out, const conv_shape_t *s, const quant_t *q,
                     void *scratch);
void conv2d_nm_i8_xdec(const int8_t *in, const nm_weights_t *w, int8_t *out, const conv_shape_t *s,
                       const quant_t *q, void *scratch);

/* Depthwise conv2d (cin == cout channels, each its own Kh x Kw filter): weights [C][row_stride], a row the
   filter's Kh*Kw taps (row-major), zero filled to row_stride. */
void depthwise_i8_ref(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                      const quant_t *q);
void depthwise_i8_xedge(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                        const quant_t *q);

/* Fully connected: y[cout] = W[cout][k] x[k] (batch 1). */
void fc_i8_ref(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q);
void fc_i8_xedge(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q);
void fc_nm_i8_ref(const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q);
void fc_nm_i8_sw(const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q, void *scratch);
void fc_nm_i8_xdec(const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q);

#endif /* NN_I8_H */
