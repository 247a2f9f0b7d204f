/* N:M sparse int8 conv2d and fully-connected kernels (packed format: nm_format.h; layouts: nn_i8.h).

   conv2d_nm_i8_sw (xedge, no new instructions): im2col of four output pixels, then per output channel a
   decimating im2col (only the activations that line up with the channel's stored entries are copied, into
   four dense rows of nnz bytes), then a dense SIMD dot product of the values with each decimated row.
   conv2d_nm_i8_xdec: the same four im2col rows, but the decimating load dlb.m* fetches each selected byte
   straight into a SIMD operand (offset decode + address + load + pack in one instruction): per output channel
   and four entries, four dlb per pixel and one dot product, no decimated copy.
   fc_nm_i8_sw / fc_nm_i8_xdec: the same for a vector (batch 1); xdec does two output channels at a time so that
   consecutive decimating loads never wait for each other.
   Every kernel specialises its inner loop per pattern (N, M constant), so field positions are immediates. */
#include <stdint.h>

#include "edge_insn.h"
#include "nn_i8.h"

#define INLINE static inline __attribute__((always_inline))
#define PIXELS 4  /* output pixels a conv block computes */

void conv2d_im2col_row(const int8_t *in, int8_t *row, int len, int p, const conv_shape_t *s, int32_t in_zp);

/* Reduction index of entry e, with N and M known at compile time (divisions become shifts). */
INLINE int column(const int n, const int m, const uint32_t *o, int e) {
  const int f = NM_FIELDS(m);
  return (e / n) * m + (int)((o[e / f] >> ((e % f) * NM_BITS(m))) & (uint32_t)(m - 1));
}

/* Entries from..nnz of one row against activations `act`, N and M constant. */
INLINE int32_t dot_tail(const int n, const int m, const int8_t *v, const uint32_t *o, const int8_t *act, int from,
                        int nnz) {
  int32_t acc = 0;
  for (int e = from; e < nnz; ++e) acc += (int32_t)v[e] * act[column(n, m, o, e)];
  return acc;
}

/* Dot product of a row's stored entries with activations `act` (the row's reduction axis), plain C. */
static int32_t nm_dot_ref(const nm_weights_t *w, int row, const int8_t *act, int from) {
  const int8_t *v = w->values + row * w->value_stride;
  const uint32_t *o = w->offsets + row * w->offset_stride;
  int32_t acc = 0;
  for (int e = from; e < nm_nnz(w); ++e) acc += (int32_t)v[e] * act[nm_column(o, e, w->n, w->m)];
  return acc;
}

void conv2d_nm_i8_ref(const int8_t *in, const nm_weights_t *w, int8_t *out, const conv_shape_t *s,
                      const quant_t *q) {
  int ho = conv_out_h(s), wo = conv_out_w(s);
  for (int oy = 0; oy < ho; ++oy)
    for (int ox = 0; ox < wo; ++ox)
      for (int c = 0; c < s->cout; ++c) {
        const int8_t *v = w->values + c * w->value_stride;
        const uint32_t *o = w->offsets + c * w->offset_stride;
        int32_t acc = 0;
        for (int e = 0; e < nm_nnz(w); ++e) {
          int col = nm_column(o, e, w->n, w->m), tap = col / s->cin, ci = col % s->cin;
          int iy = oy * s->stride - s->pad + tap / s->kw, ix = ox * s->stride - s->pad + tap % s->kw;
          int inside = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w;
          acc += (int32_t)v[e] * (inside ? in[(iy * s->w + ix) * s->cin + ci] : q->in_zp);
        }
        out[(oy * wo + ox) * s->cout + c] = requantize(acc, c, q);
      }
}

void fc_nm_i8_ref(const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q) {
  for (int c = 0; c < w->rows; ++c) y[c] = requantize(nm_dot_ref(w, c, x, 0), c, q);
}

#define PATTERN_SWITCH(w, CALL)                                       \
  switch ((w)->n * 100 + (w)->m) {                                    \
    case 104: CALL(1, 4); break;                                      \
    case 108: CALL(1, 8); break;                                      \
    case 116: CALL(1, 16); break;                                     \
    case 208: CALL(2, 8); break;                                      \
    case 216: CALL(2, 16); break;                                     \
    default: CALL(4, 16); break;                                      \
  }

/* Call loop_N_M(...) for compile-time constants N and M: resolved by the compiler and inlined. */
#define PATTERN_CALL(loop, N, M, ...)                                  \
  do {                                                                 \
    if ((N) == 1 && (M) == 4) loop##_1_4(__VA_ARGS__);                 \
    else if ((N) == 1 && (M) == 8) loop##_1_8(__VA_ARGS__);            \
    else if ((N) == 1) loop##_1_16(__VA_ARGS__);                       \
    else if ((N) == 2 && (M) == 8) loop##_2_8(__VA_ARGS__);            \
    else if ((N) == 2) loop##_2_16(__VA_ARGS__);                       \
    else loop##_4_16(__VA_ARGS__);                                     \
  } while (0)

#ifdef EDGE_ISA_XEDGE  /* (xdec builds define it too) */
/* The four im2col rows (stride k) of output pixels p .. p+3; past the last pixel the last row is repeated. */
static int im2col_block(const int8_t *in, int8_t *rows, int p, int pixels, const conv_shape_t *s, int32_t in_zp) {
  int k = s->kh * s->kw * s->cin, valid = pixels - p < PIXELS ? pixels - p : PIXELS;
  for (int r = 0; r < PIXELS; ++r)
    conv2d_im2col_row(in, rows + r * k, k, p + (r < valid ? r : valid - 1), s, in_zp);
  return valid;
}

/* ---------------------------------------------------------------- software: decimating im2col */

/* Copy, for each of P rows, the activation under every stored entry from..nnz-1 (from: a multiple of the
   fields a word) of the weight row whose offsets are `row_offsets`: d[p][e]. */
INLINE void decimate(const int P, const int n, const int m, const uint32_t *row_offsets, int from, int nnz,
                     const int8_t *rows, int row_stride, int8_t *d, int d_stride) {
  const int f = NM_FIELDS(m), bits = NM_BITS(m);
  const uint32_t *o = row_offsets + from / f;
  int e = from;
  const int8_t *group = rows + from / f * (f / n * m);
  while (e + f <= nnz) {
    uint32_t word = *o++;
#pragma GCC unroll 16
    for (int j = 0; j < f; ++j) {
      int col = (j / n) * m + (int)((word >> (j * bits)) & (uint32_t)(m - 1));
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) d[p * d_stride + e + j] = group[p * row_stride + col];
    }
    e += f;
    group += f / n * m;
  }
  for (; e < nnz; ++e) {
    int col = column(n, m, row_offsets, e);
    for (int p = 0; p < P; ++p) d[p * d_stride + e] = rows[p * row_stride + col];
  }
}

/* acc[p] = values . d[p] over `words` SIMD words. */
INLINE void dot_rows(const int P, const int8_t *values, const int8_t *d, int d_stride, int words, int32_t *acc) {
  const uint32_t *v = (const uint32_t *)values;
  int32_t a[PIXELS] = {0};
  for (int i = 0; i < words; ++i) {
    uint32_t wv = v[i];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) EDGE_SDOTSP_B(a[p], ((const uint32_t *)(d + p * d_stride))[i], wv);
  }
  for (int p = 0; p < P; ++p) acc[p] = a[p];
}

/* Every supported pattern for the assembly loops: N, M, log2(M), the dlb selector's log2(N) << 4, the bytes one
   offsets word's groups span (F / N * M), and the SIMD words per offsets word (F / 4). */
#define NM_PATTERNS(X)                  \
  X(1, 4, "2", "0", "64", 4)            \
  X(1, 8, "3", "0", "64", 2)            \
  X(1, 16, "4", "0", "128", 2)          \
  X(2, 8, "3", "16", "32", 2)           \
  X(2, 16, "4", "16", "64", 2)          \
  X(4, 16, "4", "32", "32", 2)

/* What the two conv assembly loops (software and xdec, one weight row x four pixels) share: their operands,
   the four pixel bases advanced past one offsets word's groups, and the loads and stores around the loop. */
#define R1P4_PROLOGUE                                                                                      \
  const uint32_t *v0 = *v, *o0 = *o;                                                                       \
  const int8_t *b0 = b[0], *b1 = b[1], *b2 = b[2], *b3 = b[3];                                             \
  int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
#define R1P4_EPILOGUE                                                                                      \
  *v = v0, *o = o0, b[0] = b0, b[1] = b1, b[2] = b2, b[3] = b3;                                            \
  a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;
#define R1P4_ADVANCE(ADV)                                                                                  \
  "addi %[b0], %[b0], " ADV "\n addi %[b1], %[b1], " ADV "\n addi %[b2], %[b2], " ADV "\n addi %[b3], %[b3], " ADV "\n"
#define R1P4_OPERANDS                                                                                      \
  [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2),      \
      [b3] "+r"(b3), [v0] "+r"(v0), [o0] "+r"(o0), [n] "+r"(words)

/* The software conv loop in assembly, one per pattern: one weight row x four pixels (im2col rows b0..b3), whole
   offsets words. Per stored entry: extract its field, add its group's position (3 instructions), then per
   pixel a register + register byte load and a byte store into a 16-byte staging area (the decimated SIMD
   operands); per 4 entries four word loads of the staged operands and four dot products. Field shift, mask
   and group position are assembler expressions of the entry index. */
#define SW_LANE(M, B, N, K)                                                                                \
  "srli t4, t3, (" K ")*" B "\n andi t4, t4, " #M "-1\n addi t4, t4, ((" K ")/" #N ")*" #M "\n"             \
  EDGE_ASM_LBU_RR("t5", "%[b0]", "t4") EDGE_ASM_LBU_RR("t6", "%[b1]", "t4")                                \
  "sb t5, 0+(" K ")%%4(%[scr])\n" EDGE_ASM_LBU_RR("t5", "%[b2]", "t4")                                     \
  "sb t6, 4+(" K ")%%4(%[scr])\n" EDGE_ASM_LBU_RR("t6", "%[b3]", "t4")                                     \
  "sb t5, 8+(" K ")%%4(%[scr])\n sb t6, 12+(" K ")%%4(%[scr])\n"
#define SW_SIMD(M, B, N, J)                                                                                \
  EDGE_ASM_LW_PI("t2", "%[v0]", "4")                                                                       \
  SW_LANE(M, B, N, J "*4+0") SW_LANE(M, B, N, J "*4+1") SW_LANE(M, B, N, J "*4+2") SW_LANE(M, B, N, J "*4+3") \
  "lw t0, 0(%[scr])\n lw t1, 4(%[scr])\n" EDGE_ASM_SDOTSP_B("%[a0]", "t0", "t2")                             \
  "lw t0, 8(%[scr])\n" EDGE_ASM_SDOTSP_B("%[a1]", "t1", "t2")                                              \
  "lw t1, 12(%[scr])\n" EDGE_ASM_SDOTSP_B("%[a2]", "t0", "t2") EDGE_ASM_SDOTSP_B("%[a3]", "t1", "t2")
#define SW_WORD_2(M, B, N) SW_SIMD(M, B, N, "0") SW_SIMD(M, B, N, "1")
#define SW_WORD_4(M, B, N) SW_SIMD(M, B, N, "0") SW_SIMD(M, B, N, "1") SW_SIMD(M, B, N, "2") SW_SIMD(M, B, N, "3")

#define DEFINE_SW_ASM(N, M, B, ADV, WORD)                                                                  \
  INLINE void sw_conv_words_##N##_##M(const uint32_t **v, const uint32_t **o, const int8_t **b, int32_t *a, \
                                      uint32_t words, uint32_t *scr) {                                     \
    R1P4_PROLOGUE                                                                                          \
    __asm__ volatile("1:\n" EDGE_ASM_LW_PI("t3", "%[o0]", "4") WORD(M, B, N) R1P4_ADVANCE(ADV)             \
                     EDGE_ASM_BDNZ("%[n]", "1b")                                                            \
                     : R1P4_OPERANDS                                                                        \
                     : [scr] "r"(scr)                                                                       \
                     : "t0", "t1", "t2", "t3", "t4", "t5", "t6", "memory");                                \
    R1P4_EPILOGUE                                                                                          \
  }

#define SW_ASM_OF(N, M, B, NS, ADV, WORDS) DEFINE_SW_ASM(N, M, B, ADV, SW_WORD_##WORDS)
NM_PATTERNS(SW_ASM_OF)


INLINE void conv_sw(const int n, const int m, const int8_t *in, const nm_weights_t *w, int8_t *out,
                    const conv_shape_t *s, const quant_t *q, int8_t *rows) {
  const int pixels = conv_out_h(s) * conv_out_w(s), k = s->kh * s->kw * s->cin, nnz = nm_nnz(w), cout = s->cout;
  const int value_stride = w->value_stride, offset_stride = w->offset_stride;
  const int full = nnz / NM_FIELDS(m), done = full * NM_FIELDS(m);
  const quant_t qc = *q;
  int8_t *d = rows + PIXELS * k;
  uint32_t *staging = (uint32_t *)(d + value_stride * PIXELS);
  for (int p = 0; p < pixels; p += PIXELS) {
    int valid = im2col_block(in, rows, p, pixels, s, qc.in_zp);
    const int8_t *values = w->values;
    const uint32_t *offsets = w->offsets;
    int8_t *o = out + p * cout;
    for (int c = 0; c < cout; ++c, values += value_stride, offsets += offset_stride, ++o) {
      int32_t acc[PIXELS] = {0, 0, 0, 0};
      const uint32_t *v = (const uint32_t *)values, *of = offsets;
      const int8_t *b[PIXELS] = {rows, rows + k, rows + 2 * k, rows + 3 * k};
      if (full) PATTERN_CALL(sw_conv_words, n, m, &v, &of, b, acc, (uint32_t)full, staging);
      if (done < nnz) {  /* the partial last offsets word: decimated copy and dot product in C */
        int32_t rest[PIXELS];
        decimate(PIXELS, n, m, offsets, done, nnz, rows, k, d, value_stride);
        dot_rows(PIXELS, values + done, d + done, value_stride, (value_stride - done) / 4, rest);
        for (int r = 0; r < PIXELS; ++r) acc[r] += rest[r];
      }
      channel_quant_t cq = channel_quant(&qc, c);
      o[0] = requantize_with(acc[0], cq);
      if (valid > 1) o[cout] = requantize_with(acc[1], cq);
      if (valid > 2) o[2 * cout] = requantize_with(acc[2], cq);
      if (valid > 3) o[3 * cout] = requantize_with(acc[3], cq);
    }
  }
}

void conv2d_nm_i8_sw(const int8_t *in, const nm_weights_t *w, int8_t *out, const conv_shape_t *s, const quant_t *q,
                     void *scratch) {
#define CONV_SW(N, M) conv_sw(N, M, in, w, out, s, q, (int8_t *)scratch)
  PATTERN_SWITCH(w, CONV_SW)
#undef CONV_SW
}

INLINE void fc_sw(const int n, const int m, const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q,
                  int8_t *d) {
  const int nnz = nm_nnz(w), value_stride = w->value_stride, offset_stride = w->offset_stride, rows = w->rows;
  const quant_t qc = *q;
  const int8_t *values = w->values;
  const uint32_t *offsets = w->offsets;
  for (int c = 0; c < rows; ++c, values += value_stride, offsets += offset_stride) {
    int32_t acc;
    decimate(1, n, m, offsets, 0, nnz, x, 0, d, value_stride);
    dot_rows(1, values, d, value_stride, value_stride / 4, &acc);
    y[c] = requantize_with(acc, channel_quant(&qc, c));
  }
}

void fc_nm_i8_sw(const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q, void *scratch) {
#define FC_SW(N, M) fc_sw(N, M, x, w, y, q, (int8_t *)scratch)
  PATTERN_SWITCH(w, FC_SW)
#undef FC_SW
}
#else
void conv2d_nm_i8_sw(const int8_t *in, const nm_weights_t *w, int8_t *out, const conv_shape_t *s, const quant_t *q,
                     void *scratch) {
  (void)scratch;
  conv2d_nm_i8_ref(in, w, out, s, q);
}

void fc_nm_i8_sw(const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q, void *scratch) {
  (void)scratch;
  fc_nm_i8_ref(x, w, y, q);
}
#endif

#ifdef EDGE_ISA_XDEC
/* ---------------------------------------------------------------- the xdec decimating load */

#define DLB(m, g, base, offsets, sel)                                           \
  do {                                                                          \
    if ((m) == 4) EDGE_DLB_M4(g, base, offsets, sel);                           \
    else if ((m) == 8) EDGE_DLB_M8(g, base, offsets, sel);                      \
    else EDGE_DLB_M16(g, base, offsets, sel);                                   \
  } while (0)

/* R weight rows x P activation rows: `words` SIMD words (4 entries each) of one offsets word each row, the
   activations of that word's groups at b[p]; a[r][p] += their dot products. */
INLINE void xdec_word(const int R, const int P, const int n, const int m, const uint32_t *const *v,
                      const uint32_t *const *o, const int8_t *const *b, uint32_t g[][PIXELS], int32_t a[][PIXELS],
                      int words) {
  const int f = NM_FIELDS(m), sel_n = (n == 1 ? 0 : (n == 2 ? 1 : 2)) << 4;
  uint32_t ow[2];
#pragma GCC unroll 2
  for (int r = 0; r < R; ++r) ow[r] = o[r][0];
#pragma GCC unroll 4
  for (int j = 0; j < f / 4; ++j) {
    if (j >= words) break;
    uint32_t wv[2];
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) wv[r] = v[r][j];
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l)
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int p = 0; p < P; ++p) DLB(m, g[r][p], b[p], ow[r], sel_n | (4 * j + l));
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) EDGE_SDOTSP_B(a[r][p], g[r][p], wv[r]);
  }
}

/* The whole-offsets-word loops in assembly, one per pattern: conv (one weight row x four pixels, t0..t3 the
   four operands, t4 the offsets word, t5 the values word) and fc (two weight rows x one vector). sel is an
   assembler expression: log2(N) << 4 plus the field index. */
#define DLB_ASM(M) EDGE_ASM_DLB_M##M
#define PX4(M, SEL) DLB_ASM(M)("t0", "%[b0]", "t4", SEL) DLB_ASM(M)("t1", "%[b1]", "t4", SEL) \
                    DLB_ASM(M)("t2", "%[b2]", "t4", SEL) DLB_ASM(M)("t3", "%[b3]", "t4", SEL)
#define SIMD_R1P4(M, NS, J)                                                                                \
  EDGE_ASM_LW_PI("t5", "%[v0]", "4")                                                                       \
  PX4(M, NS "+4*" J "+0") PX4(M, NS "+4*" J "+1") PX4(M, NS "+4*" J "+2") PX4(M, NS "+4*" J "+3")          \
  EDGE_ASM_SDOTSP_B("%[a0]", "t0", "t5") EDGE_ASM_SDOTSP_B("%[a1]", "t1", "t5")                            \
  EDGE_ASM_SDOTSP_B("%[a2]", "t2", "t5") EDGE_ASM_SDOTSP_B("%[a3]", "t3", "t5")
#define RW2(M, SEL) DLB_ASM(M)("t0", "%[b0]", "t4", SEL) DLB_ASM(M)("t1", "%[b0]", "t6", SEL)
#define SIMD_R2P1(M, NS, J)                                                                                \
  EDGE_ASM_LW_PI("t5", "%[v0]", "4") EDGE_ASM_LW_PI("t2", "%[v1]", "4")                                   \
  RW2(M, NS "+4*" J "+0") RW2(M, NS "+4*" J "+1") RW2(M, NS "+4*" J "+2") RW2(M, NS "+4*" J "+3")          \
  EDGE_ASM_SDOTSP_B("%[a0]", "t0", "t5") EDGE_ASM_SDOTSP_B("%[a1]", "t1", "t2")
#define WORD_SIMD_2(SIMD, M, NS) SIMD(M, NS, "0") SIMD(M, NS, "1")
#define WORD_SIMD_4(SIMD, M, NS) SIMD(M, NS, "0") SIMD(M, NS, "1") SIMD(M, NS, "2") SIMD(M, NS, "3")

#define DEFINE_XDEC_ASM(N, M, NS, ADV, WORD_SIMD)                                                          \
  INLINE void xdec_conv_words_##N##_##M(const uint32_t **v, const uint32_t **o, const int8_t **b,         \
                                        int32_t *a, uint32_t words) {                                      \
    R1P4_PROLOGUE                                                                                          \
    __asm__ volatile("1:\n" EDGE_ASM_LW_PI("t4", "%[o0]", "4") WORD_SIMD(SIMD_R1P4, M, NS) R1P4_ADVANCE(ADV) \
                     EDGE_ASM_BDNZ("%[n]", "1b")                                                            \
                     : R1P4_OPERANDS                                                                        \
                     :                                                                                      \
                     : "t0", "t1", "t2", "t3", "t4", "t5", "memory");                                      \
    R1P4_EPILOGUE                                                                                          \
  }                                                                                                        \
  INLINE void xdec_fc_words_##N##_##M(const uint32_t **v, const uint32_t **o, const int8_t **b,           \
                                      int32_t *a, uint32_t words) {                                        \
    const uint32_t *v0 = v[0], *v1 = v[1], *o0 = o[0], *o1 = o[1];                                         \
    const int8_t *b0 = b[0];                                                                               \
    int32_t a0 = a[0], a1 = a[1];                                                                          \
    __asm__ volatile("1:\n" EDGE_ASM_LW_PI("t4", "%[o0]", "4") EDGE_ASM_LW_PI("t6", "%[o1]", "4")         \
                     WORD_SIMD(SIMD_R2P1, M, NS) "addi %[b0], %[b0], " ADV "\n"                            \
                     EDGE_ASM_BDNZ("%[n]", "1b")                                                            \
                     : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [v0] "+r"(v0), [v1] "+r"(v1),          \
                       [o0] "+r"(o0), [o1] "+r"(o1), [n] "+r"(words)                                        \
                     :                                                                                      \
                     : "t0", "t1", "t2", "t4", "t5", "t6", "memory");                                      \
    v[0] = v0, v[1] = v1, o[0] = o0, o[1] = o1, b[0] = b0, a[0] = a0, a[1] = a1;                          \
  }

#define XDEC_ASM_OF(N, M, B, NS, ADV, WORDS) DEFINE_XDEC_ASM(N, M, NS, ADV, WORD_SIMD_##WORDS)
NM_PATTERNS(XDEC_ASM_OF)

/* R weight rows x P activation rows: the first `words` SIMD words (4 entries each) of the rows, the whole
   offsets words in the assembly loop, the rest of a partial one with xdec_word; acc[r][p] = their dot products.
   The padding entries of a row's last SIMD word (value 0, offset 0) read activations up to 2M/N bytes past the
   row's reduction: harmless (times zero) where that memory exists. */
INLINE void xdec_rows(const int R, const int P, const int n, const int m, const int8_t *const *values,
                      const uint32_t *const *offsets, const int8_t *const *act, int words, int32_t acc[][PIXELS]) {
  const int f = NM_FIELDS(m), advance = f / n * m;
  const uint32_t *v[2], *o[2];
  const int8_t *b[PIXELS];
  uint32_t g[2][PIXELS];  /* no initial value needed: four loads shift every old byte out */
  int32_t a[2][PIXELS] = {{0}};
#pragma GCC unroll 2
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) __asm__("" : "=r"(g[r][p]));
#pragma GCC unroll 2
  for (int r = 0; r < R; ++r) v[r] = (const uint32_t *)values[r], o[r] = offsets[r];
#pragma GCC unroll 4
  for (int p = 0; p < P; ++p) b[p] = act[p];
  int full = words / (f / 4), rest = words % (f / 4);
  if (full && R * P == 4) {
    PATTERN_CALL(xdec_conv_words, n, m, v, o, b, a[0], (uint32_t)full);
  } else if (full && R == 2) {
    int32_t pair[2] = {0, 0};
    PATTERN_CALL(xdec_fc_words, n, m, v, o, b, pair, (uint32_t)full);
    a[0][0] = pair[0], a[1][0] = pair[1];
  } else {
    for (int word = 0; word < full; ++word) {
      xdec_word(R, P, n, m, v, o, b, g, a, f / 4);
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r) v[r] += f / 4, o[r] += 1;
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) b[p] += advance;
    }
  }
  if (rest) xdec_word(R, P, n, m, v, o, b, g, a, rest);
#pragma GCC unroll 2
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) acc[r][p] = a[r][p];
}

/* Per block of four pixels: per output channel the assembly loop over the channel's stored entries (its last
   SIMD word's padding reads at most 2M/N <= 32 bytes past the fourth im2col row, into the accumulators: times
   zero), its four sums kept; then every channel's four requantized outputs, in a loop of their own (around the
   assembly the compiler would spill the quantization parameters). Weight rows and outputs are walked with
   running pointers. Scratch: the four im2col rows (4k bytes; k is a multiple of M) and 4 cout sums
   (conv2d_scratch_bytes leaves more). */
INLINE void conv_xdec(const int n, const int m, const int8_t *in, const nm_weights_t *w, int8_t *out,
                      const conv_shape_t *s, const quant_t *q, int8_t *rows) {
  const int pixels = conv_out_h(s) * conv_out_w(s), k = s->kh * s->kw * s->cin, cout = s->cout;
  const int value_stride = w->value_stride, offset_stride = w->offset_stride, words = value_stride / 4;
  const quant_t qc = *q;
  const int8_t *act[PIXELS] = {rows, rows + k, rows + 2 * k, rows + 3 * k};
  int32_t (*sums)[PIXELS] = (int32_t (*)[PIXELS])(rows + PIXELS * k);
  for (int p = 0; p < pixels; p += PIXELS) {
    const int valid = im2col_block(in, rows, p, pixels, s, qc.in_zp);
    const int8_t *values = w->values;
    const uint32_t *offsets = w->offsets;
    for (int c = 0; c < cout; ++c, values += value_stride, offsets += offset_stride)
      xdec_rows(1, PIXELS, n, m, &values, &offsets, act, words, (int32_t (*)[PIXELS])sums[c]);
    int8_t *o = out + p * cout;
    if (valid == PIXELS) {
      for (int c = 0; c < cout; ++c, ++o) requantize4(sums[c], channel_quant(&qc, c), o, cout);
    } else {
      for (int c = 0; c < cout; ++c, ++o)
        for (int r = 0; r < valid; ++r) o[r * cout] = requantize_with(sums[c][r], channel_quant(&qc, c));
    }
  }
}

void conv2d_nm_i8_xdec(const int8_t *in, const nm_weights_t *w, int8_t *out, const conv_shape_t *s,
                       const quant_t *q, void *scratch) {
#define CONV_XDEC(N, M) conv_xdec(N, M, in, w, out, s, q, (int8_t *)scratch)
  PATTERN_SWITCH(w, CONV_XDEC)
#undef CONV_XDEC
}

/* Two weight rows at a time (their decimating loads interleave), whole SIMD words in xdec_rows; the entries of
   a row's last, partial SIMD word in C (the vector may end where the row does: no reads past it). */
INLINE void fc_xdec(const int n, const int m, const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q) {
  const int nnz = nm_nnz(w), words = nnz / 4, done = 4 * words, rows = w->rows;
  const int value_stride = w->value_stride, offset_stride = w->offset_stride;
  const quant_t qc = *q;
  const int8_t *values = w->values;
  const uint32_t *offsets = w->offsets;
  int c = 0;
  for (; c + 2 <= rows; c += 2, values += 2 * value_stride, offsets += 2 * offset_stride) {
    const int8_t *v[2] = {values, values + value_stride};
    const uint32_t *o[2] = {offsets, offsets + offset_stride};
    int32_t acc[2][PIXELS];
    xdec_rows(2, 1, n, m, v, o, &x, words, acc);
    if (done < nnz) {
      acc[0][0] += dot_tail(n, m, v[0], o[0], x, done, nnz);
      acc[1][0] += dot_tail(n, m, v[1], o[1], x, done, nnz);
    }
    y[c] = requantize_with(acc[0][0], channel_quant(&qc, c));
    y[c + 1] = requantize_with(acc[1][0], channel_quant(&qc, c + 1));
  }
  if (c < rows) {
    int32_t acc[1][PIXELS];
    xdec_rows(1, 1, n, m, &values, &offsets, &x, words, acc);
    y[c] = requantize_with(acc[0][0] + dot_tail(n, m, values, offsets, x, done, nnz), channel_quant(&qc, c));
  }
}

void fc_nm_i8_xdec(const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q) {
#define FC_XDEC(N, M) fc_xdec(N, M, x, w, y, q)
  PATTERN_SWITCH(w, FC_XDEC)
#undef FC_XDEC
}
#else
void conv2d_nm_i8_xdec(const int8_t *in, const nm_weights_t *w, int8_t *out, const conv_shape_t *s,
                       const quant_t *q, void *scratch) {
  conv2d_nm_i8_sw(in, w, out, s, q, scratch);
}

void fc_nm_i8_xdec(const int8_t *x, const nm_weights_t *w, int8_t *y, const quant_t *q) {
  fc_nm_i8_ref(x, w, y, q);
}
#endif
