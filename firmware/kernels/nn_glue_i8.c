/* int8 glue kernels (layouts, arithmetic and the optimized paths in nn_glue_i8.h). The *_ref functions are
   plain C, the reference every public function equals bit for bit; without xedge, or where a path's
   conditions do not hold, the public function is its reference. */
#include "nn_glue_i8.h"

#include <stdint.h>

#include "copy_i8.h"
#include "edge_insn.h"

static inline int8_t clamp_i8(int32_t y, int32_t lo, int32_t hi) {
  return (int8_t)(y < lo ? lo : (y > hi ? hi : y));
}

/* The in-image taps of output pixel (oy, ox): rows [y0, y1) and columns [x0, x1) of the input. */
static inline void window(const pool_shape_t *s, int oy, int ox, int *y0, int *y1, int *x0, int *x1) {
  int ty = oy * s->stride_h - s->pad_top, tx = ox * s->stride_w - s->pad_left;
  *y0 = ty < 0 ? 0 : ty;
  *x0 = tx < 0 ? 0 : tx;
  *y1 = ty + s->kh > s->h ? s->h : ty + s->kh;
  *x1 = tx + s->kw > s->w ? s->w : tx + s->kw;
}

/* Channels [c0, c1) of one max-pool output pixel o, window rows [y0, y1), columns [x0, x1). */
static void maxpool_channels(const int8_t *in, int8_t *o, const pool_shape_t *s, const channel_quant_t *q, int y0,
                             int y1, int x0, int x1, int c0, int c1) {
  for (int c = c0; c < c1; ++c) {
    int32_t m = -128;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        int32_t v = in[(y * s->w + x) * s->c + c];
        m = v > m ? v : m;
      }
    o[c] = requantize_with(m, *q);
  }
}

/* Channels [c0, c1) of one average-pool output pixel: acc = sum of (x - in_zp) over the window. */
static void avgpool_channels(const int8_t *in, int8_t *o, const pool_shape_t *s, int32_t in_zp, channel_quant_t cq,
                             int y0, int y1, int x0, int x1, int c0, int c1) {
  for (int c = c0; c < c1; ++c) {
    int32_t acc = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) acc += in[(y * s->w + x) * s->c + c] - in_zp;
    o[c] = requantize_with(acc, cq);
  }
}

/* The divisor of a window of n in-image taps as requantization parameters (bias 0). */
static inline channel_quant_t avgpool_quant(const avgpool_quant_t *q, int n) {
  int k = q->per_count ? n - 1 : 0;
  channel_quant_t cq = {0, q->mult[k], q->shift[k], q->out_zp, q->act_min, q->act_max};
  return cq;
}

/* The add before its clamp, in 64-bit arithmetic. */
static inline int32_t add_value(int32_t a, int32_t b, const add_quant_t *q) {
  int64_t v = (int64_t)(a - q->a_zp) * q->a_mult + (int64_t)(b - q->b_zp) * q->b_mult +
              ((int64_t)1 << (q->shift - 1));
  return (int32_t)(v >> q->shift) + q->out_zp;
}

void maxpool2d_i8_ref(const int8_t *in, int8_t *out, const pool_shape_t *s, const channel_quant_t *q) {
  for (int oy = 0; oy < s->out_h; ++oy)
    for (int ox = 0; ox < s->out_w; ++ox) {
      int y0, y1, x0, x1;
      window(s, oy, ox, &y0, &y1, &x0, &x1);
      maxpool_channels(in, out + (oy * s->out_w + ox) * s->c, s, q, y0, y1, x0, x1, 0, s->c);
    }
}

void avgpool2d_i8_ref(const int8_t *in, int8_t *out, const pool_shape_t *s, const avgpool_quant_t *q) {
  for (int oy = 0; oy < s->out_h; ++oy)
    for (int ox = 0; ox < s->out_w; ++ox) {
      int y0, y1, x0, x1;
      window(s, oy, ox, &y0, &y1, &x0, &x1);
      avgpool_channels(in, out + (oy * s->out_w + ox) * s->c, s, q->in_zp, avgpool_quant(q, (y1 - y0) * (x1 - x0)),
                       y0, y1, x0, x1, 0, s->c);
    }
}

void add_i8_ref(const int8_t *a, const int8_t *b, int8_t *out, int n, const add_quant_t *q) {
  add_quant_t k = *q;
  for (int i = 0; i < n; ++i) out[i] = clamp_i8(add_value(a[i], b[i], &k), k.act_min, k.act_max);
}

void requantize_i8_ref(const int8_t *in, int8_t *out, int n, const channel_quant_t *q) {
  channel_quant_t k = *q;
  for (int i = 0; i < n; ++i) out[i] = requantize_with(in[i], k);
}

void pad_i8_ref(const int8_t *in, int8_t *out, int h, int w, int c, int top, int left, int bottom, int right,
                int32_t value) {
  int ow = left + w + right, row = ow * c;
  for (int i = 0; i < (top + h + bottom) * row; ++i) out[i] = (int8_t)value;
  for (int y = 0; y < h; ++y) {
    int8_t *dst = out + ((top + y) * ow + left) * c;
    const int8_t *src = in + y * w * c;
    for (int i = 0; i < w * c; ++i) dst[i] = src[i];
  }
}

void transpose_i8_ref(const int8_t *in, int8_t *out, int rows, int cols) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) out[j * rows + i] = in[i * cols + j];
}

void lut_channels_i8(const int8_t *in, int8_t *out, int rows, int channels, const int8_t *tables) {
  for (int r = 0; r < rows; ++r) {
    const int8_t *t = tables + 128;
    for (int c = 0; c < channels; ++c, t += 256) *out++ = t[*in++];
  }
}

#ifdef EDGE_ISA_XEDGE
/* requantize_with(v, k) of every int8 v, at table[v + 128]. */
static void rescale_table(int8_t table[256], channel_quant_t k) {
  for (int v = -128; v < 128; ++v) table[v + 128] = requantize_with(v, k);
}

/* One maxpool step, channel m of the running maxima against the tap v: 2 cycles either way. */
#define MAX_STEP(m, v) "bge " m ", " v ", 1f\n" "mv " m ", " v "\n" "1:\n"

void maxpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const channel_quant_t *q) {
  /* Shape in locals: every int8 store may alias it. */
  const int c = s->c, step = s->c, w = s->w, oh = s->out_h, ow = s->out_w;
  const channel_quant_t k = *q;
  int8_t table[256];
  const int8_t *t = table + 128;
  const int lut = oh * ow * c >= 256;
  if (lut) rescale_table(table, k);
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox) {
      int y0, y1, x0, x1;
      window(s, oy, ox, &y0, &y1, &x0, &x1);
      const int rows = y1 - y0, cols = x1 - x0, jump = (w - cols) * step;
      const int c8 = rows > 0 && cols > 0 ? c & ~7 : 0;
      int8_t *o = out + (oy * ow + ox) * c;
      for (int ch = 0; ch < c8; ch += 8) {
        const int8_t *p = in + (y0 * w + x0) * step + ch;
        int32_t m0 = -128, m1 = -128, m2 = -128, m3 = -128, m4 = -128, m5 = -128, m6 = -128, m7 = -128;
        uint32_t rc = (uint32_t)rows, ic, v0, v1, v2, v3;
        __asm__ volatile(
            "9:\n"
            "mv %[ic], %[cols]\n"
            "8:\n"
            "lb %[v0], 0(%[p])\n" "lb %[v1], 1(%[p])\n" "lb %[v2], 2(%[p])\n" "lb %[v3], 3(%[p])\n"
            MAX_STEP("%[m0]", "%[v0]") MAX_STEP("%[m1]", "%[v1]") MAX_STEP("%[m2]", "%[v2]")
            MAX_STEP("%[m3]", "%[v3]")
            "lb %[v0], 4(%[p])\n" "lb %[v1], 5(%[p])\n" "lb %[v2], 6(%[p])\n" "lb %[v3], 7(%[p])\n"
            MAX_STEP("%[m4]", "%[v0]") MAX_STEP("%[m5]", "%[v1]") MAX_STEP("%[m6]", "%[v2]")
            MAX_STEP("%[m7]", "%[v3]")
            "add %[p], %[p], %[step]\n"
            EDGE_ASM_BDNZ("%[ic]", "8b")
            "add %[p], %[p], %[jump]\n"
            EDGE_ASM_BDNZ("%[rc]", "9b")
            : [m0] "+r"(m0), [m1] "+r"(m1), [m2] "+r"(m2), [m3] "+r"(m3), [m4] "+r"(m4), [m5] "+r"(m5),
              [m6] "+r"(m6), [m7] "+r"(m7), [p] "+r"(p), [rc] "+r"(rc), [ic] "=&r"(ic), [v0] "=&r"(v0),
              [v1] "=&r"(v1), [v2] "=&r"(v2), [v3] "=&r"(v3)
            : [cols] "r"(cols), [step] "r"(step), [jump] "r"(jump)
            : "memory");
        int32_t m[8] = {m0, m1, m2, m3, m4, m5, m6, m7};
        for (int j = 0; j < 8; ++j) o[ch + j] = lut ? t[m[j]] : requantize_with(m[j], k);
      }
      maxpool_channels(in, o, s, &k, y0, y1, x0, x1, c8, c);
    }
}

void avgpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const avgpool_quant_t *q) {
  const int c = s->c, step = s->c, w = s->w, oh = s->out_h, ow = s->out_w;
  const int32_t in_zp = q->in_zp;
  const int words = ((uintptr_t)in & 3) == 0 && (c & 3) == 0;
  const uint32_t e0 = 1, e1 = 1u << 8, e2 = 1u << 16, e3 = 1u << 24;
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox) {
      int y0, y1, x0, x1;
      window(s, oy, ox, &y0, &y1, &x0, &x1);
      const int rows = y1 - y0, cols = x1 - x0, jump = (w - cols) * step;
      const int c8 = words && rows > 0 && cols > 0 ? c & ~7 : 0;
      const channel_quant_t cq = avgpool_quant(q, rows * cols);
      channel_quant_t sum_q = cq;    /* the SIMD sums are of x, not x - in_zp */
      sum_q.bias = -rows * cols * in_zp;
      int8_t *o = out + (oy * ow + ox) * c;
      for (int ch = 0; ch < c8; ch += 8) {
        const int8_t *p = in + (y0 * w + x0) * step + ch;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        uint32_t rc = (uint32_t)rows, ic, x, y;
        __asm__ volatile(
            "9:\n"
            "mv %[ic], %[cols]\n"
            "8:\n"
            "lw %[x], 0(%[p])\n"
            "lw %[y], 4(%[p])\n"
            EDGE_ASM_SDOTSP_B("%[a0]", "%[x]", "%[e0]") EDGE_ASM_SDOTSP_B("%[a1]", "%[x]", "%[e1]")
            EDGE_ASM_SDOTSP_B("%[a2]", "%[x]", "%[e2]") EDGE_ASM_SDOTSP_B("%[a3]", "%[x]", "%[e3]")
            EDGE_ASM_SDOTSP_B("%[a4]", "%[y]", "%[e0]") EDGE_ASM_SDOTSP_B("%[a5]", "%[y]", "%[e1]")
            EDGE_ASM_SDOTSP_B("%[a6]", "%[y]", "%[e2]") EDGE_ASM_SDOTSP_B("%[a7]", "%[y]", "%[e3]")
            "add %[p], %[p], %[step]\n"
            EDGE_ASM_BDNZ("%[ic]", "8b")
            "add %[p], %[p], %[jump]\n"
            EDGE_ASM_BDNZ("%[rc]", "9b")
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), [a5] "+r"(a5),
              [a6] "+r"(a6), [a7] "+r"(a7), [p] "+r"(p), [rc] "+r"(rc), [ic] "=&r"(ic), [x] "=&r"(x), [y] "=&r"(y)
            : [cols] "r"(cols), [step] "r"(step), [jump] "r"(jump), [e0] "r"(e0), [e1] "r"(e1), [e2] "r"(e2),
              [e3] "r"(e3)
            : "memory");
        int32_t acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
        for (int j = 0; j < 8; ++j) o[ch + j] = requantize_with(acc[j], sum_q);
      }
      avgpool_channels(in, o, s, in_zp, cq, y0, y1, x0, x1, c8, c);
    }
}

/* Entries of the add's clamp table (on the stack): the fast path needs the unclamped outputs to span fewer. */
#define ADD_TABLE 1024

void add_bcast_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const add_quant_t *q) {
  const add_quant_t k = *q;
  const int s = k.shift, t = s - 1 < 22 ? s - 1 : 22;
  const int zps = k.a_zp >= -128 && k.a_zp <= 127 && k.b_zp >= -128 && k.b_zp <= 127;
  if (period >= 2 && zps && s >= 12 && s <= 42 && k.a_mult >= 0 && k.b_mult >= 0) {
    const int32_t lo = add_value(-128, -128, &k), range = add_value(127, 127, &k) - lo + 1;
    if (range <= ADD_TABLE && 8 * n >= range) {
      int8_t table[ADD_TABLE];
      for (int i = 0; i < range; ++i) table[i] = clamp_i8(lo + i, k.act_min, k.act_max);
      const int32_t ah = k.a_mult >> t, al = k.a_mult & ((1 << t) - 1);
      const int32_t bh = k.b_mult >> t, bl = k.b_mult & ((1 << t) - 1);
      const int32_t hc = (int32_t)(((int64_t)1 << (s - 1 - t)) + ((int64_t)k.out_zp - lo) * ((int64_t)1 << (s - t)) -
                                   ((int64_t)k.a_zp * ah + (int64_t)k.b_zp * bh));
      const int32_t lc = -(k.a_zp * al + k.b_zp * bl), st = s - t;
      for (int i = 0; i < n; i += period) {
        const int8_t *pb = b;
        uint32_t pairs = (uint32_t)period / 2, a0, b0, a1, b1, h0, l0, h1, l1, x;
        __asm__ volatile(
            "1:\n"
            EDGE_ASM_LB_PI("%[a0]", "%[pa]", "1") EDGE_ASM_LB_PI("%[b0]", "%[pb]", "1")
            EDGE_ASM_LB_PI("%[a1]", "%[pa]", "1") EDGE_ASM_LB_PI("%[b1]", "%[pb]", "1")
            "mul %[h0], %[a0], %[ah]\n" "mul %[x], %[b0], %[bh]\n"
            "mul %[l0], %[a0], %[al]\n" "mul %[a0], %[b0], %[bl]\n"
            "add %[h0], %[h0], %[x]\n" "add %[l0], %[l0], %[a0]\n"
            "mul %[h1], %[a1], %[ah]\n" "mul %[x], %[b1], %[bh]\n"
            "mul %[l1], %[a1], %[al]\n" "mul %[a1], %[b1], %[bl]\n"
            "add %[l0], %[l0], %[lc]\n" "sra %[l0], %[l0], %[t]\n"
            "add %[h0], %[h0], %[hc]\n" "add %[h0], %[h0], %[l0]\n" "sra %[h0], %[h0], %[st]\n"
            EDGE_ASM_LB_RR("%[h0]", "%[tab]", "%[h0]")
            "add %[h1], %[h1], %[x]\n" "add %[l1], %[l1], %[a1]\n"
            "add %[l1], %[l1], %[lc]\n" "sra %[l1], %[l1], %[t]\n"
            "add %[h1], %[h1], %[hc]\n" "add %[h1], %[h1], %[l1]\n" "sra %[h1], %[h1], %[st]\n"
            EDGE_ASM_LB_RR("%[h1]", "%[tab]", "%[h1]")
            EDGE_ASM_SB_PI("%[h0]", "%[po]", "1") EDGE_ASM_SB_PI("%[h1]", "%[po]", "1")
            EDGE_ASM_BDNZ("%[n]", "1b")
            : [pa] "+r"(a), [pb] "+r"(pb), [po] "+r"(out), [n] "+r"(pairs), [a0] "=&r"(a0), [b0] "=&r"(b0),
              [a1] "=&r"(a1), [b1] "=&r"(b1), [h0] "=&r"(h0), [l0] "=&r"(l0), [h1] "=&r"(h1), [l1] "=&r"(l1),
              [x] "=&r"(x)
            : [ah] "r"(ah), [al] "r"(al), [bh] "r"(bh), [bl] "r"(bl), [hc] "r"(hc), [lc] "r"(lc), [t] "r"(t),
              [st] "r"(st), [tab] "r"(table)
            : "memory");
        if (period & 1) *out++ = clamp_i8(add_value(*a++, *pb, &k), k.act_min, k.act_max);
      }
      return;
    }
  }
  for (int i = 0; i < n; i += period) add_i8_ref(a + i, b, out + i, period, &k);
}

void add_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, const add_quant_t *q) {
  add_bcast_i8(a, b, out, n, n, q);
}

void lut_i8(const int8_t *in, int8_t *out, int n, const int8_t *table) {
  const int8_t *t = table + 128;
  uint32_t blocks = (uint32_t)n / 8, v0, v1, v2, v3, v4, v5, v6, v7;
  if (blocks)
    __asm__ volatile(
        "1:\n"
        EDGE_ASM_LB_PI("%[v0]", "%[in]", "1") EDGE_ASM_LB_PI("%[v1]", "%[in]", "1")
        EDGE_ASM_LB_PI("%[v2]", "%[in]", "1") EDGE_ASM_LB_PI("%[v3]", "%[in]", "1")
        EDGE_ASM_LB_PI("%[v4]", "%[in]", "1") EDGE_ASM_LB_PI("%[v5]", "%[in]", "1")
        EDGE_ASM_LB_PI("%[v6]", "%[in]", "1") EDGE_ASM_LB_PI("%[v7]", "%[in]", "1")
        EDGE_ASM_LB_RR("%[v0]", "%[t]", "%[v0]") EDGE_ASM_LB_RR("%[v1]", "%[t]", "%[v1]")
        EDGE_ASM_LB_RR("%[v2]", "%[t]", "%[v2]") EDGE_ASM_LB_RR("%[v3]", "%[t]", "%[v3]")
        EDGE_ASM_LB_RR("%[v4]", "%[t]", "%[v4]") EDGE_ASM_LB_RR("%[v5]", "%[t]", "%[v5]")
        EDGE_ASM_LB_RR("%[v6]", "%[t]", "%[v6]") EDGE_ASM_LB_RR("%[v7]", "%[t]", "%[v7]")
        EDGE_ASM_SB_PI("%[v0]", "%[out]", "1") EDGE_ASM_SB_PI("%[v1]", "%[out]", "1")
        EDGE_ASM_SB_PI("%[v2]", "%[out]", "1") EDGE_ASM_SB_PI("%[v3]", "%[out]", "1")
        EDGE_ASM_SB_PI("%[v4]", "%[out]", "1") EDGE_ASM_SB_PI("%[v5]", "%[out]", "1")
        EDGE_ASM_SB_PI("%[v6]", "%[out]", "1") EDGE_ASM_SB_PI("%[v7]", "%[out]", "1")
        EDGE_ASM_BDNZ("%[n]", "1b")
        : [in] "+r"(in), [out] "+r"(out), [n] "+r"(blocks), [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2),
          [v3] "=&r"(v3), [v4] "=&r"(v4), [v5] "=&r"(v5), [v6] "=&r"(v6), [v7] "=&r"(v7)
        : [t] "r"(t)
        : "memory");
  for (int i = 0; i < n % 8; ++i) out[i] = t[in[i]];
}

void requantize_i8(const int8_t *in, int8_t *out, int n, const channel_quant_t *q) {
  if (n < 256) {        /* fewer outputs than table entries */
    requantize_i8_ref(in, out, n, q);
    return;
  }
  int8_t table[256];
  rescale_table(table, *q);
  lut_i8(in, out, n, table);
}

void pad_i8(const int8_t *in, int8_t *out, int h, int w, int c, int top, int left, int bottom, int right,
            int32_t value) {
  const int ow = left + w + right, row = w * c;
  int8_t *dst = out;
  for (int y = 0; y < h; ++y) {  /* the border before each input row, then the row */
    int8_t *start = out + ((top + y) * ow + left) * c;
    copy_run(dst, 0, start - dst, value);
    dst = copy_run(start, in + y * row, row, value);
  }
  copy_run(dst, 0, out + (top + h + bottom) * ow * c - dst, value);
}

void transpose_i8(const int8_t *in, int8_t *out, int rows, int cols) {
  const int c1 = cols, c2 = 2 * cols, c3 = 3 * cols, c4 = 4 * cols, c5 = 5 * cols, c6 = 6 * cols, c7 = 7 * cols;
  const int c8 = 8 * cols;
  for (int j = 0; j < cols; ++j) {
    const int8_t *p = in + j;
    int8_t *d = out + j * rows;
    uint32_t blocks = (uint32_t)rows / 8, v0, v1, v2, v3, v4, v5, v6, v7;
    if (blocks)
      __asm__ volatile(
          "1:\n"
          "lb %[v0], 0(%[p])\n"
          EDGE_ASM_LB_RR("%[v1]", "%[p]", "%[c1]") EDGE_ASM_LB_RR("%[v2]", "%[p]", "%[c2]")
          EDGE_ASM_LB_RR("%[v3]", "%[p]", "%[c3]") EDGE_ASM_LB_RR("%[v4]", "%[p]", "%[c4]")
          EDGE_ASM_LB_RR("%[v5]", "%[p]", "%[c5]") EDGE_ASM_LB_RR("%[v6]", "%[p]", "%[c6]")
          EDGE_ASM_LB_RR("%[v7]", "%[p]", "%[c7]")
          "add %[p], %[p], %[c8]\n"
          EDGE_ASM_SB_PI("%[v0]", "%[d]", "1") EDGE_ASM_SB_PI("%[v1]", "%[d]", "1")
          EDGE_ASM_SB_PI("%[v2]", "%[d]", "1") EDGE_ASM_SB_PI("%[v3]", "%[d]", "1")
          EDGE_ASM_SB_PI("%[v4]", "%[d]", "1") EDGE_ASM_SB_PI("%[v5]", "%[d]", "1")
          EDGE_ASM_SB_PI("%[v6]", "%[d]", "1") EDGE_ASM_SB_PI("%[v7]", "%[d]", "1")
          EDGE_ASM_BDNZ("%[n]", "1b")
          : [p] "+r"(p), [d] "+r"(d), [n] "+r"(blocks), [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2),
            [v3] "=&r"(v3), [v4] "=&r"(v4), [v5] "=&r"(v5), [v6] "=&r"(v6), [v7] "=&r"(v7)
          : [c1] "r"(c1), [c2] "r"(c2), [c3] "r"(c3), [c4] "r"(c4), [c5] "r"(c5), [c6] "r"(c6), [c7] "r"(c7),
            [c8] "r"(c8)
          : "memory");
    for (int i = 0; i < rows % 8; ++i) d[i] = p[i * cols];
  }
}
#else
void maxpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const channel_quant_t *q) {
  maxpool2d_i8_ref(in, out, s, q);
}
void avgpool2d_i8(const int8_t *in, int8_t *out, const pool_shape_t *s, const avgpool_quant_t *q) {
  avgpool2d_i8_ref(in, out, s, q);
}
void add_bcast_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const add_quant_t *q) {
  for (int i = 0; i < n; i += period) add_i8_ref(a + i, b, out + i, period, q);
}
void add_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, const add_quant_t *q) { add_i8_ref(a, b, out, n, q); }
void lut_i8(const int8_t *in, int8_t *out, int n, const int8_t *table) {
  for (int i = 0; i < n; ++i) out[i] = table[in[i] + 128];
}
void requantize_i8(const int8_t *in, int8_t *out, int n, const channel_quant_t *q) {
  requantize_i8_ref(in, out, n, q);
}
void pad_i8(const int8_t *in, int8_t *out, int h, int w, int c, int top, int left, int bottom, int right,
            int32_t value) {
  pad_i8_ref(in, out, h, w, c, top, left, bottom, right, value);
}
void transpose_i8(const int8_t *in, int8_t *out, int rows, int cols) { transpose_i8_ref(in, out, rows, cols); }
#endif
