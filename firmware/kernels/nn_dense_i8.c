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
  int lead = ix0 < 0 ? -ix0 : 0, end = ix0 + s->kw > s->w ? s->w - ix0 : s->kw;
  if (lead > s->kw) lead = s->kw;
  if (end < lead) end = lead;
  if ((s->cin & 3) == 0) {
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
    int cin = s->cin;
    for (int ky = 0; ky < s->kh; ++ky) {
      int iy = oy * s->stride - s->pad + ky;
      if (iy < 0 || iy >= s->h) {
        dst = copy_run(dst, 0, s->kw * cin, in_zp);
        continue;
      }
      dst = copy_run(dst, 0, lead * cin, in_zp);
      dst = copy_run(dst, in + (iy * s->w + ix0 + lead) * cin, (end - lead) * cin, in_zp);
      dst = copy_run(dst, 0, (s->kw - end) * cin, in_zp);
    }
  }
  while (dst < row + len) *dst++ = 0;
}

void conv2d_i8_xedge(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                     const quant_t *q, void *scratch) {
  const int pixels = conv_out_h(s) * conv_out_w(s), cout = s->cout, cin = s->cin;
  const int in_place = s->kh == 1 && s->kw == 1 && s->stride == 1 && s->pad == 0 && (cin & 3) == 0;
  int8_t *cols = (int8_t *)scratch;
  int32_t *acc = (int32_t *)(cols + 2 * row_stride);
  const quant_t qc = *q;  /* a copy: the int8 output stores cannot alias it */
  int8_t *o0 = out;
  for (int p = 0; p < pixels; p += 2) {
    const int rows = pixels - p < 2 ? 1 : 2;
    const int8_t *a = in + p * cin;
    if (!in_place) {
      for (int r = 0; r < rows; ++r) conv2d_im2col_row(in, cols + r * row_stride, row_stride, p + r, s, qc.in_zp);
      a = cols;
    }
    matmul_i8_i32_xedge(a, w, acc, rows, cout, row_stride);
    const int32_t *a0 = acc, *a1 = acc + cout;
    if (rows == 2) {
      int8_t *o1 = o0 + cout;
      for (int c = 0; c < cout; ++c) {
        channel_quant_t cq = channel_quant(&qc, c);
        *o0++ = requantize_with(*a0++, cq);
        *o1++ = requantize_with(*a1++, cq);
      }
      o0 = o1;
    } else {
      for (int c = 0; c < cout; ++c) *o0++ = requantize_with(*a0++, channel_quant(&qc, c));
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

#ifdef EDGE_ISA_XEDGE
/* Depthwise on xedge, one channel at a time over a staged window (kw <= 4, kh <= 16, the staging fits):
   the channel's input rows are gathered out of HWC into a ring of kh word-aligned rows, padded with the zero
   point (each input row gathered once per channel); an output's kernel row is then the 4 bytes at its window's
   offset in a staged row, funnel-shifted out of two aligned words, and one SIMD dot product with the kernel
   row's weights (zero beyond kw) adds its kw products: per output and kernel row 2 loads, 4 ALU operations and
   one sdotsp instead of a load, four weight loads and four dot products per four MACs. */
#define DW_STAGE_BYTES 2048
#define DW_MAX_KH 16
#define DW_MAX_WO 256

/* Row iy of channel c, padded: `pad` zero points, the w values, zero points up to pw bytes. */
static void dw_stage_row(int8_t *row, const int8_t *in, int iy, int h, int w, int ch, int pad, int pw,
                         uint32_t pad_word) {
  uint32_t *r = (uint32_t *)row;
  for (int i = 0; i < pw / 4; ++i) r[i] = pad_word;
  if (iy < 0 || iy >= h) return;
  const int8_t *src = in + iy * w * ch;
  int8_t *dst = row + pad;
  for (int x = 0; x < w; ++x, src += ch) dst[x] = *src;
}

/* Accumulators [ox, wo) of one output row of a channel from the staged kernel rows rows[0..kh): per output and
   kernel row the window's 4 bytes funnel-shifted out of two aligned words (a shift by 31 - sh after a shift by
   1 is a shift by 32 - sh that is 0 when sh = 0), one dot product. */
static void dw_accumulate(const uint32_t *const *rows, const uint32_t *wrow, int kh, int ox, int wo, int stride,
                          int32_t *acc) {
  for (int off = ox * stride; ox < wo; ++ox, off += stride) {
    int i = off >> 2, sh = (off & 3) * 8, back = 31 - sh;
    int32_t a = 0;
    for (int ky = 0; ky < kh; ++ky) {
      uint32_t x = (rows[ky][i] >> sh) | ((rows[ky][i + 1] << 1) << back);
      EDGE_SDOTSP_B(a, x, wrow[ky]);
    }
    acc[ox] = a;
  }
}

/* The same for a 3-row kernel at stride 1 or 2, in assembly: the 4 / stride outputs whose windows start in one
   staged word take their operands from that word and the next (loaded once per kernel row, post-increment)
   with constant shifts: per kernel row and output 3 dot products' worth of funnel shifts (none for the output
   at the word's start) and one sdotsp; the sums stored with post-increment, the loop closed by bdnz. Stride
   1: 51 instructions per 4 outputs (27 MACs), stride 2: 23 per 2 (18 MACs). */
#define DW3_OUTPUT_AT(sh)                                                                                    \
  "li %[s], 0\n"                                                                                             \
  "srli %[t], %[a0], " #sh "\n slli %[u], %[b0], 32-" #sh "\n or %[t], %[t], %[u]\n"                         \
  EDGE_ASM_SDOTSP_B("%[s]", "%[t]", "%[w0]")                                                                 \
  "srli %[t], %[a1], " #sh "\n slli %[u], %[b1], 32-" #sh "\n or %[t], %[t], %[u]\n"                         \
  EDGE_ASM_SDOTSP_B("%[s]", "%[t]", "%[w1]")                                                                 \
  "srli %[t], %[a2], " #sh "\n slli %[u], %[b2], 32-" #sh "\n or %[t], %[t], %[u]\n"                         \
  EDGE_ASM_SDOTSP_B("%[s]", "%[t]", "%[w2]")                                                                 \
  EDGE_ASM_SW_PI("%[s]", "%[p]", "4")

static void dw3_accumulate(const uint32_t *const *rows, const uint32_t *wrow, int stride, int wo, int32_t *acc) {
  const int per_word = 4 / stride, groups = wo / per_word;
  if (groups > 0) {
    const uint32_t *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
    uint32_t a0 = *r0++, a1 = *r1++, a2 = *r2++, b0, b1, b2, t, u, n = (uint32_t)groups;
    int32_t sum, *p = acc;
    /* The loop around the outputs of one staged word: the next word of each row, the output at the word's
       start (no shift), `shifted` (the others), the words moved down, bdnz. */
#define DW3_LOOP(shifted)                                                                                   \
  __asm__ volatile("1:\n"                                                                                   \
                   EDGE_ASM_LW_PI("%[b0]", "%[r0]", "4") EDGE_ASM_LW_PI("%[b1]", "%[r1]", "4")              \
                   EDGE_ASM_LW_PI("%[b2]", "%[r2]", "4")                                                    \
                   "li %[s], 0\n"                                                                           \
                   EDGE_ASM_SDOTSP_B("%[s]", "%[a0]", "%[w0]") EDGE_ASM_SDOTSP_B("%[s]", "%[a1]", "%[w1]")  \
                   EDGE_ASM_SDOTSP_B("%[s]", "%[a2]", "%[w2]") EDGE_ASM_SW_PI("%[s]", "%[p]", "4")          \
                   shifted                                                                                  \
                   "mv %[a0], %[b0]\n mv %[a1], %[b1]\n mv %[a2], %[b2]\n"                                  \
                   EDGE_ASM_BDNZ("%[n]", "1b")                                                              \
                   : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [b0] "=&r"(b0), [b1] "=&r"(b1),           \
                     [b2] "=&r"(b2), [t] "=&r"(t), [u] "=&r"(u), [s] "=&r"(sum), [r0] "+r"(r0),             \
                     [r1] "+r"(r1), [r2] "+r"(r2), [p] "+r"(p), [n] "+r"(n)                                 \
                   : [w0] "r"(wrow[0]), [w1] "r"(wrow[1]), [w2] "r"(wrow[2])                                \
                   : "memory")
    if (stride == 1)
      DW3_LOOP(DW3_OUTPUT_AT(8) DW3_OUTPUT_AT(16) DW3_OUTPUT_AT(24));
    else
      DW3_LOOP(DW3_OUTPUT_AT(16));
#undef DW3_LOOP
  }
  if (groups * per_word < wo) dw_accumulate(rows, wrow, 3, groups * per_word, wo, stride, acc);
}

static int depthwise_staged(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                            const quant_t *q) {
  const int h = s->h, wd = s->w, kh = s->kh, kw = s->kw, stride = s->stride, pad = s->pad, ch = s->cout;
  const int ho = conv_out_h(s), wo = conv_out_w(s);
  const int pw = 4 * (((wd + 2 * pad - 1) >> 2) + 2);   /* the last window's two words inside the row */
  if (kw > 4 || kh > DW_MAX_KH || kh * pw > DW_STAGE_BYTES || wo > DW_MAX_WO) return 0;
  /* Narrow rows (DS-CNN's 5 columns) pay the staging per channel and row for few outputs: the four-channel
     path below is faster there when it applies (measured: 0.10 vs 0.08 MAC/cycle at 25 x 5 x 64). */
  if (wo < 8 && (ch & 3) == 0 && ((uintptr_t)in & 3) == 0 && kh * kw <= 64) return 0;
  uint32_t ring[DW_STAGE_BYTES / 4];
  int32_t acc[DW_MAX_WO];
  const uint32_t pad_word = (uint8_t)q->in_zp * 0x01010101u;
  for (int c = 0; c < ch; ++c) {
    uint32_t wrow[DW_MAX_KH];
    for (int ky = 0; ky < kh; ++ky) {
      uint32_t v = 0;
      for (int kx = 0; kx < kw; ++kx) v |= (uint32_t)(uint8_t)w[c * row_stride + ky * kw + kx] << (8 * kx);
      wrow[ky] = v;
    }
    const channel_quant_t cq = channel_quant(q, c);
    /* rows[k]: the staged input row oy * stride - pad + k; moving down an output row recycles the buffers of
       the `stride` rows left behind for the rows that come in. */
    const uint32_t *rows[DW_MAX_KH];
    for (int k = 0; k < kh; ++k) rows[k] = ring + k * (pw / 4);
    for (int oy = 0; oy < ho; ++oy) {
      int fresh = kh;
      if (oy > 0 && stride < kh) {
        const uint32_t *spare[DW_MAX_KH];
        for (int k = 0; k < stride; ++k) spare[k] = rows[k];
        for (int k = 0; k + stride < kh; ++k) rows[k] = rows[k + stride];
        for (int k = 0; k < stride; ++k) rows[kh - stride + k] = spare[k];
        fresh = stride;
      }
      for (int k = kh - fresh; k < kh; ++k)
        dw_stage_row((int8_t *)rows[k], in + c, oy * stride - pad + k, h, wd, ch, pad, pw, pad_word);
      if (kh == 3 && (stride == 1 || stride == 2))
        dw3_accumulate(rows, wrow, stride, wo, acc);
      else
        dw_accumulate(rows, wrow, kh, 0, wo, stride, acc);
      int8_t *o = out + oy * wo * ch + c;
      for (int ox = 0; ox < wo; ++ox, o += ch) *o = requantize_with(acc[ox], cq);
    }
  }
  return 1;
}
#endif

/* Depthwise on xedge: the staged path above where it applies (any channel count); otherwise four channels a
   step (C % 4 == 0): one word load gives a tap of four channels; the SIMD dot product with a weight word holding channel j's tap
   weight in lane j only (the "lane-spread" filter, built once per channel quad, kh*kw*4 words) adds that
   channel's product to its own accumulator. Border pixels read the zero point through the plain path. Other
   channel counts use depthwise_i8_ref. */
void depthwise_i8_xedge(const int8_t *in, const int8_t *w, int row_stride, int8_t *out, const conv_shape_t *s,
                        const quant_t *q) {
#ifdef EDGE_ISA_XEDGE
  /* Shape in locals: every int8 store may alias the shape, so the compiler would reload it per tap. */
  const int h = s->h, wd = s->w, kh = s->kh, kw = s->kw, stride = s->stride, pad = s->pad, ch = s->cout;
  const int ho = conv_out_h(s), wo = conv_out_w(s), taps = kh * kw;
  const uint32_t pad_word = (uint8_t)q->in_zp * 0x01010101u;
  uint32_t spread[64 * 4];  /* up to 64 taps (8 x 8 filters) */
  if (depthwise_staged(in, w, row_stride, out, s, q)) return;
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
   (18 cycles for 32 MACs); each weight load is consumed two instructions later. The last cout % 8 channels
   four and one at a time. */
void fc_i8_xedge(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q) {
  int c = 0;
  if ((k & 3) == 0 && ((uintptr_t)x & 3) == 0 && (row_stride & 3) == 0 && k > 0) {
    const int r1 = row_stride - 4, r2 = r1 + row_stride, r3 = r2 + row_stride, r4 = r3 + row_stride;
    const int r5 = r4 + row_stride, r6 = r5 + row_stride, r7 = r6 + row_stride;
    const quant_t qc = *q;  /* in registers: the int8 stores below may alias *q */
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
      for (int i = 0; i < 8; ++i) y[c + i] = requantize(acc[i], c + i, &qc);
    }
    /* The last cout % 8 channels: four, then one at a time, the same dot products in C. */
    const uint32_t *xw = (const uint32_t *)x;
    for (; c + 4 <= cout; c += 4) {
      const int8_t *wr = w + c * row_stride;
      const uint32_t *w0 = (const uint32_t *)wr, *w1 = (const uint32_t *)(wr + row_stride);
      const uint32_t *w2 = (const uint32_t *)(wr + 2 * row_stride), *w3 = (const uint32_t *)(wr + 3 * row_stride);
      int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (int i = 0; i < k / 4; ++i) {
        uint32_t xv = xw[i];
        EDGE_SDOTSP_B(a0, xv, w0[i]);
        EDGE_SDOTSP_B(a1, xv, w1[i]);
        EDGE_SDOTSP_B(a2, xv, w2[i]);
        EDGE_SDOTSP_B(a3, xv, w3[i]);
      }
      y[c] = requantize(a0, c, &qc), y[c + 1] = requantize(a1, c + 1, &qc);
      y[c + 2] = requantize(a2, c + 2, &qc), y[c + 3] = requantize(a3, c + 3, &qc);
    }
    for (; c < cout; ++c) {
      const uint32_t *w0 = (const uint32_t *)(w + c * row_stride);
      int32_t a0 = 0;
      for (int i = 0; i < k / 4; ++i) EDGE_SDOTSP_B(a0, xw[i], w0[i]);
      y[c] = requantize(a0, c, &qc);
    }
  }
  fc_rows_ref(x, w, row_stride, y, k, c, cout, q);
}
#else
void fc_i8_xedge(const int8_t *x, const int8_t *w, int row_stride, int8_t *y, int k, int cout, const quant_t *q) {
  fc_i8_ref(x, w, row_stride, y, k, cout, q);
}
#endif
