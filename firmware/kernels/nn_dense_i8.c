/* Dense int8 conv2d and fully-connected kernels (layouts and requantization in nn_i8.h).
   conv2d_i8_xedge: im2col of two output pixels at a time (words copied when Cin % 4 == 0; a 1x1 stride-1
   unpadded conv reads the input rows in place), then the 2x4-blocked SIMD matmul of matmul_i8.c against every
   output channel, then requantization. fc_i8_xedge: eight output channels a step, 4 bytes of each a SIMD dot
   product (one activation word shared by eight weight words). */
#include <stdint.h>

#include "copy_i8.h"
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
   fill up to `len`. Out-of-image taps read the input zero point. With Cin % 4 == 0 each kernel row is one
   padded / copied / padded run of words (the in-image taps of a kernel row are contiguous in HWC). */
void conv2d_im2col_row(const int8_t *in, int8_t *row, int len, int p, const conv_shape_t *s, int32_t in_zp) {
  int wo = conv_out_w(s), oy = p / wo, ox = p % wo, ix0 = ox * s->stride - s->pad;
  int8_t *dst = row;
  uint32_t pad_word = (uint8_t)in_zp * 0x01010101u;
  if ((s->cin & 3) == 0) {
    int lead = ix0 < 0 ? -ix0 : 0, end = ix0 + s->kw > s->w ? s->w - ix0 : s->kw;
    if (lead > s->kw) lead = s->kw;
    if (end < lead) end = lead;
    int tap_words = s->cin / 4;
    for (int ky = 0; ky < s->kh; ++ky) {
      int iy = oy * s->stride - s->pad + ky;
      if (iy < 0 || iy >= s->h) {
        dst = copy_words(dst, 0, s->kw * tap_words, pad_word);
        continue;
      }
      dst = copy_words(dst, 0, lead * tap_words, pad_word);
      dst = copy_words(dst, in + (iy * s->w + ix0 + lead) * s->cin, (end - lead) * tap_words, pad_word);
      dst = copy_words(dst, 0, (s->kw - end) * tap_words, pad_word);
    }
  } else {
    for (int ky = 0; ky < s->kh; ++ky)
      for (int kx = 0; kx < s->kw; ++kx) {
        int iy = oy * s->stride - s->pad + ky, ix = ix0 + kx;
        int inside = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w;
        const int8_t *src = in + (iy * s->w + ix) * s->cin;
        for (int i = 0; i < s->cin; ++i) dst[i] = inside ? src[i] : (int8_t)in_zp;
        dst += s->cin;
      }
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
    for (int c = 0; c < s->cout; ++c) {
      channel_quant_t cq = channel_quant(q, c);
      for (int r = 0; r < rows; ++r) out[(p + r) * s->cout + c] = requantize_with(acc[r * s->cout + c], cq);
    }
  }
}

void depthwise_i8_ref(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                      const quant_t *q) {
  int ho = conv_out_h(s), wo = conv_out_w(s), ch = s->cout;
  for (int oy = 0; oy < ho; ++oy)
    for (int ox = 0; ox < wo; ++ox)
      for (int c = 0; c < ch; ++c) {
        int32_t acc = 0;
        for (int ky = 0; ky < s->kh; ++ky)
          for (int kx = 0; kx < s->kw; ++kx) {
            int iy = oy * s->stride - s->pad + ky, ix = ox * s->stride - s->pad + kx;
            int inside = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w;
            acc += (inside ? in[(iy * s->w + ix) * ch + c] : q->in_zp) * w[c * row_stride + ky * s->kw + kx];
          }
        out[(oy * wo + ox) * ch + c] = requantize(acc, c, q);
      }
}

/* Depthwise on xedge, four channels a step (C % 4 == 0): one word load gives a tap of four channels; the
   SIMD dot product with a weight word holding channel j's tap weight in lane j only (the "lane-spread" filter,
   built once per channel quad, kh*kw*4 words) adds that channel's product to its own accumulator: per tap
   one activation load, four weight loads and four dot products for 4 MACs. Border pixels read the zero point
   through the plain path. Other channel counts use depthwise_i8_ref. */
void depthwise_i8_xedge(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                        const quant_t *q) {
#ifdef EDGE_ISA_XEDGE
  /* Shape in locals: every int8 store may alias the shape, so the compiler would reload it per tap. */
  const int h = s->h, wd = s->w, kh = s->kh, kw = s->kw, stride = s->stride, pad = s->pad, ch = s->cout;
  const int ho = conv_out_h(s), wo = conv_out_w(s), taps = kh * kw;
  const uint32_t pad_word = (uint8_t)q->in_zp * 0x01010101u;
  uint32_t spread[64 * 4];  /* up to 64 taps (8 x 8 filters) */
  if (taps > 64 || (ch & 3) || ((uintptr_t)in & 3)) {
    depthwise_i8_ref(in, w, row_stride, out, s, q);
    return;
  }
  for (int c = 0; c < ch; c += 4) {
    for (int t = 0; t < taps; ++t)
      for (int j = 0; j < 4; ++j) spread[4 * t + j] = (uint32_t)(uint8_t)w[(c + j) * row_stride + t] << (8 * j);
    channel_quant_t cq[4] = {channel_quant(q, c), channel_quant(q, c + 1), channel_quant(q, c + 2),
                             channel_quant(q, c + 3)};
    for (int oy = 0; oy < ho; ++oy) {
      int iy0 = oy * stride - pad;
      for (int ox = 0; ox < wo; ++ox) {
        int ix0 = ox * stride - pad;
        int inner = iy0 >= 0 && ix0 >= 0 && iy0 + kh <= h && ix0 + kw <= wd;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const uint32_t *sp = spread;
        for (int ky = 0; ky < kh; ++ky) {
          int iy = iy0 + ky;
          const uint32_t *src = (const uint32_t *)(in + ((iy * wd + ix0) * ch + c));
          for (int kx = 0; kx < kw; ++kx, sp += 4, src += ch / 4) {
            uint32_t x = inner || (iy >= 0 && iy < h && ix0 + kx >= 0 && ix0 + kx < wd) ? *src : pad_word;
            EDGE_SDOTSP_B(a0, x, sp[0]);
            EDGE_SDOTSP_B(a1, x, sp[1]);
            EDGE_SDOTSP_B(a2, x, sp[2]);
            EDGE_SDOTSP_B(a3, x, sp[3]);
          }
        }
        int8_t *o = out + (oy * wo + ox) * ch + c;
        o[0] = requantize_with(a0, cq[0]), o[1] = requantize_with(a1, cq[1]);
        o[2] = requantize_with(a2, cq[2]), o[3] = requantize_with(a3, cq[3]);
      }
    }
  }
#else
  depthwise_i8_ref(in, w, row_stride, out, s, q);
#endif
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
/* Eight output channels a step: one activation word, eight weight words (row 0 post-increments the base,
   rows 1..7 are register + register loads from it), eight dot products and the loop close per 4 inputs
   (18 cycles for 32 MACs); each weight load is consumed two instructions later. */
void fc_i8_xedge(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q) {
  int c = 0;
  if ((k & 3) == 0 && ((uintptr_t)x & 3) == 0 && (row_stride & 3) == 0 && k > 0) {
    const int r1 = row_stride - 4, r2 = r1 + row_stride, r3 = r2 + row_stride, r4 = r3 + row_stride;
    const int r5 = r4 + row_stride, r6 = r5 + row_stride, r7 = r6 + row_stride;
    for (; c + 8 <= cout; c += 8) {
      const int8_t *wp = w + c * row_stride, *xp = x;
      int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      uint32_t n = (uint32_t)k / 4;
      __asm__ volatile(
          "1:\n"
          EDGE_ASM_LW_PI("t0", "%[x]", "4")
          EDGE_ASM_LW_PI("t1", "%[wp]", "4")
          EDGE_ASM_LW_RR("t2", "%[wp]", "%[r1]")
          EDGE_ASM_SDOTSP_B("%[a0]", "t0", "t1")
          EDGE_ASM_LW_RR("t1", "%[wp]", "%[r2]")
          EDGE_ASM_SDOTSP_B("%[a1]", "t0", "t2")
          EDGE_ASM_LW_RR("t2", "%[wp]", "%[r3]")
          EDGE_ASM_SDOTSP_B("%[a2]", "t0", "t1")
          EDGE_ASM_LW_RR("t1", "%[wp]", "%[r4]")
          EDGE_ASM_SDOTSP_B("%[a3]", "t0", "t2")
          EDGE_ASM_LW_RR("t2", "%[wp]", "%[r5]")
          EDGE_ASM_SDOTSP_B("%[a4]", "t0", "t1")
          EDGE_ASM_LW_RR("t1", "%[wp]", "%[r6]")
          EDGE_ASM_SDOTSP_B("%[a5]", "t0", "t2")
          EDGE_ASM_LW_RR("t2", "%[wp]", "%[r7]")
          EDGE_ASM_SDOTSP_B("%[a6]", "t0", "t1")
          EDGE_ASM_SDOTSP_B("%[a7]", "t0", "t2")
          EDGE_ASM_BDNZ("%[n]", "1b")
          : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), [a5] "+r"(a5),
            [a6] "+r"(a6), [a7] "+r"(a7), [x] "+r"(xp), [wp] "+r"(wp), [n] "+r"(n)
          : [r1] "r"(r1), [r2] "r"(r2), [r3] "r"(r3), [r4] "r"(r4), [r5] "r"(r5), [r6] "r"(r6), [r7] "r"(r7)
          : "t0", "t1", "t2", "memory");
      int32_t acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
      for (int i = 0; i < 8; ++i) y[c + i] = requantize(acc[i], c + i, q);
    }
  }
  fc_rows_ref(x, w, row_stride, y, k, c, cout, q);
}
#else
void fc_i8_xedge(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q) {
  fc_i8_ref(x, w, row_stride, y, k, cout, q);
}
#endif
