/* int8 glue kernels (layouts and arithmetic in nn_glue_i8.h): plain C, the reference for any faster variant. */
#include "nn_glue_i8.h"

#include <stdint.h>

/* The in-image taps of output pixel (oy, ox): rows [y0, y1) and columns [x0, x1) of the input. */
static inline void window(const pool_shape_t *s, int oy, int ox, int *y0, int *y1, int *x0, int *x1) {
  int ty = oy * s->stride_h - s->pad_top, tx = ox * s->stride_w - s->pad_left;
  *y0 = ty < 0 ? 0 : ty;
  *x0 = tx < 0 ? 0 : tx;
  *y1 = ty + s->kh > s->h ? s->h : ty + s->kh;
  *x1 = tx + s->kw > s->w ? s->w : tx + s->kw;
}

void maxpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const channel_quant_t *q) {
  for (int oy = 0; oy < s->out_h; ++oy)
    for (int ox = 0; ox < s->out_w; ++ox) {
      int y0, y1, x0, x1;
      window(s, oy, ox, &y0, &y1, &x0, &x1);
      int8_t *o = out + (oy * s->out_w + ox) * s->c;
      for (int c = 0; c < s->c; ++c) {
        int32_t m = -128;
        for (int y = y0; y < y1; ++y)
          for (int x = x0; x < x1; ++x) {
            int32_t v = in[(y * s->w + x) * s->c + c];
            m = v > m ? v : m;
          }
        o[c] = requantize_with(m, *q);
      }
    }
}

void avgpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const avgpool_quant_t *q) {
  for (int oy = 0; oy < s->out_h; ++oy)
    for (int ox = 0; ox < s->out_w; ++ox) {
      int y0, y1, x0, x1;
      window(s, oy, ox, &y0, &y1, &x0, &x1);
      int k = q->per_count ? (y1 - y0) * (x1 - x0) - 1 : 0;
      channel_quant_t cq = {0, q->mult[k], q->shift[k], q->out_zp, q->act_min, q->act_max};
      int8_t *o = out + (oy * s->out_w + ox) * s->c;
      for (int c = 0; c < s->c; ++c) {
        int32_t acc = 0;
        for (int y = y0; y < y1; ++y)
          for (int x = x0; x < x1; ++x) acc += in[(y * s->w + x) * s->c + c] - q->in_zp;
        o[c] = requantize_with(acc, cq);
      }
    }
}

void add_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, const add_quant_t *q) {
  int64_t round = (int64_t)1 << (q->shift - 1);
  for (int i = 0; i < n; ++i) {
    int64_t v = (int64_t)(a[i] - q->a_zp) * q->a_mult + (int64_t)(b[i] - q->b_zp) * q->b_mult + round;
    int32_t y = (int32_t)(v >> q->shift) + q->out_zp;
    out[i] = (int8_t)(y < q->act_min ? q->act_min : (y > q->act_max ? q->act_max : y));
  }
}

void requantize_i8(const int8_t *in, int8_t *out, int n, const channel_quant_t *q) {
  channel_quant_t k = *q;
  for (int i = 0; i < n; ++i) out[i] = requantize_with(in[i], k);
}

void pad_i8(const int8_t *in, int8_t *out, int h, int w, int c, int top, int left, int bottom, int right,
            int32_t value) {
  int ow = left + w + right, row = ow * c;
  for (int i = 0; i < (top + h + bottom) * row; ++i) out[i] = (int8_t)value;
  for (int y = 0; y < h; ++y) {
    int8_t *dst = out + ((top + y) * ow + left) * c;
    const int8_t *src = in + y * w * c;
    for (int i = 0; i < w * c; ++i) dst[i] = src[i];
  }
}

void transpose_i8(const int8_t *in, int8_t *out, int rows, int cols) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) out[j * rows + i] = in[i * cols + j];
}
