/* Dense int8 conv2d and fully-connected kernels (layouts and requantization in nn_i8.h).
   conv2d_i8_xedge: im2col of two output pixels at a time (words copied when Cin % 4 == 0; a 1x1 stride-1
   unpadded conv reads the input rows in place), then the 2x4-blocked SIMD matmul of matmul_i8.c against every
   output channel, then requantization. fc_i8_xedge: four output channels a step, 4 bytes of each a SIMD dot
   product (one activation word shared by four weight words). */
#include <stdint.h>

#include "edge_insn.h"
#include "matmul_i8.h"
#include "nn_i8.h"

int conv2d_scratch_bytes(const conv_shape_t *s) {
  int kp = (s->kh * s->kw * s->cin + 3) & ~3;
  return 4 * kp + 4 * kp + 8 * s->cout * 4 + 16;
}

void conv2d_i8_ref(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                   const quant_t *q) {
  int ho = conv_out_h(s), wo = conv_out_w(s);
  for (int oy = 0; oy < ho; ++oy)
    for (int ox = 0; ox < wo; ++ox)
      for (int c = 0; c < s->cout; ++c) {
        int32_t acc = 0;
        const int8_t *wr = w + c * row_stride;
        for (int ky = 0; ky < s->kh; ++ky)
          for (int kx = 0; kx < s->kw; ++kx) {
            int iy = oy * s->stride - s->pad + ky, ix = ox * s->stride - s->pad + kx;
            int inside = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w;
            for (int ci = 0; ci < s->cin; ++ci) {
              int32_t a = inside ? in[(iy * s->w + ix) * s->cin + ci] : q->in_zp;
              acc += a * wr[(ky * s->kw + kx) * s->cin + ci];
            }
          }
        out[(oy * wo + ox) * s->cout + c] = requantize(acc, c, q);
      }
}

/* One im2col row: the receptive field of output pixel p (row-major over the output), K bytes, then zero
   fill up to `len`. Out-of-image taps read the input zero point. */
void conv2d_im2col_row(const int8_t *in, int8_t *row, int len, int p, const conv_shape_t *s, int32_t in_zp) {
  int wo = conv_out_w(s), oy = p / wo, ox = p % wo;
  int8_t *dst = row;
  int words = (s->cin & 3) == 0;
  uint32_t pad_word = (uint8_t)in_zp * 0x01010101u;
  for (int ky = 0; ky < s->kh; ++ky)
    for (int kx = 0; kx < s->kw; ++kx) {
      int iy = oy * s->stride - s->pad + ky, ix = ox * s->stride - s->pad + kx;
      int inside = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w;
      const int8_t *src = in + (iy * s->w + ix) * s->cin;
      if (words) {
        uint32_t *d = (uint32_t *)dst;
        const uint32_t *sw = (const uint32_t *)src;
        for (int i = 0; i < s->cin / 4; ++i) d[i] = inside ? sw[i] : pad_word;
      } else {
        for (int i = 0; i < s->cin; ++i) dst[i] = inside ? src[i] : (int8_t)in_zp;
      }
      dst += s->cin;
    }
  while (dst < row + len) *dst++ = 0;
}

void conv2d_i8_xedge(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                     const quant_t *q, void *scratch) {
  int pixels = conv_out_h(s) * conv_out_w(s);
  int in_place = s->kh == 1 && s->kw == 1 && s->stride == 1 && s->pad == 0 && (s->cin & 3) == 0;
  int8_t *cols = (int8_t *)scratch;
  int32_t *acc = (int32_t *)(cols + 2 * row_stride);
  for (int p = 0; p < pixels; p += 2) {
    int rows = pixels - p < 2 ? 1 : 2;
    const int8_t *a = in + p * s->cin;
    if (!in_place) {
      for (int r = 0; r < rows; ++r) conv2d_im2col_row(in, cols + r * row_stride, row_stride, p + r, s, q->in_zp);
      a = cols;
    }
    matmul_i8_i32_xedge(a, w, acc, rows, s->cout, row_stride);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < s->cout; ++c) out[(p + r) * s->cout + c] = requantize(acc[r * s->cout + c], c, q);
  }
}

static void fc_rows_ref(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int c0, int c1,
                        const quant_t *q) {
  for (int c = c0; c < c1; ++c) {
    int32_t acc = 0;
    for (int i = 0; i < k; ++i) acc += (int32_t)x[i] * w[c * row_stride + i];
    y[c] = requantize(acc, c, q);
  }
}

void fc_i8_ref(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q) {
  fc_rows_ref(x, w, row_stride, y, k, 0, cout, q);
}

#ifdef EDGE_ISA_XEDGE
void fc_i8_xedge(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q) {
  int c = 0;
  if ((k & 3) == 0 && ((uintptr_t)x & 3) == 0 && (row_stride & 3) == 0 && k > 0) {
    for (; c + 4 <= cout; c += 4) {
      const int8_t *w0 = w + c * row_stride, *w1 = w0 + row_stride, *w2 = w1 + row_stride, *w3 = w2 + row_stride;
      const int8_t *xp = x;
      int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      uint32_t n = (uint32_t)k / 4;
      __asm__ volatile(
          "1:\n"
          EDGE_ASM_LW_PI("t0", "%[x]", "4")
          EDGE_ASM_LW_PI("t1", "%[w0]", "4")
          EDGE_ASM_LW_PI("t2", "%[w1]", "4")
          EDGE_ASM_LW_PI("t3", "%[w2]", "4")
          EDGE_ASM_LW_PI("t4", "%[w3]", "4")
          EDGE_ASM_SDOTSP_B("%[a0]", "t0", "t1")
          EDGE_ASM_SDOTSP_B("%[a1]", "t0", "t2")
          EDGE_ASM_SDOTSP_B("%[a2]", "t0", "t3")
          EDGE_ASM_SDOTSP_B("%[a3]", "t0", "t4")
          EDGE_ASM_BDNZ("%[n]", "1b")
          : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(xp), [w0] "+r"(w0),
            [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [n] "+r"(n)
          :
          : "t0", "t1", "t2", "t3", "t4", "memory");
      y[c] = requantize(a0, c, q), y[c + 1] = requantize(a1, c + 1, q);
      y[c + 2] = requantize(a2, c + 2, q), y[c + 3] = requantize(a3, c + 3, q);
    }
  }
  fc_rows_ref(x, w, row_stride, y, k, c, cout, q);
}
#else
void fc_i8_xedge(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q) {
  fc_i8_ref(x, w, row_stride, y, k, cout, q);
}
#endif
