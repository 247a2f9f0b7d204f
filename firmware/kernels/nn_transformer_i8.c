/* int8 transformer kernels (layouts, arithmetic, error bounds and the optimized paths in nn_transformer_i8.h; of
   div_i8 and concat_i8 in nn_i8.h): integer arithmetic only. The *_ref functions are plain C, the reference every
   public function equals bit for bit; without xedge, or where a path's conditions do not hold, the public function
   is its reference. The activation x activation matmul runs on the dense int8 matmul of matmul_i8.c. */
#include "nn_transformer_i8.h"

#include <stdint.h>

#include "copy_i8.h"
#include "edge_insn.h"
#include "matmul_i8.h"

static inline int8_t clamp_i8(int32_t y, int32_t lo, int32_t hi) { return (int8_t)(y < lo ? lo : (y > hi ? hi : y)); }

void mul_i8_ref(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const mul_quant_t *q) {
  const channel_quant_t k = {0, q->mult, q->shift, q->out_zp, q->act_min, q->act_max};
  const int32_t a_zp = q->a_zp, b_zp = q->b_zp;
  for (int i = 0; i < n; i += period)
    for (int j = 0; j < period; ++j) out[i + j] = requantize_with((a[i + j] - a_zp) * (b[j] - b_zp), k);
}

/* floor(p / d) for |p| < 2^48 and 0 < |d| < 2^16: long division in 16-bit digits, two 32-bit divisions on the
   core's divider instead of libgcc's 64-bit division. */
static inline int64_t floor_div(int64_t p, int32_t d) {
  const uint64_t n = (uint64_t)(p < 0 ? -p : p);
  const uint32_t m = (uint32_t)(d < 0 ? -d : d), hi = (uint32_t)(n >> 16);
  uint32_t q_hi = hi / m;
  __asm__("" : "+r"(q_hi)); /* the remainder below from q_hi, not from a third division (remu) */
  const uint32_t lo = ((hi - q_hi * m) << 16) | (uint32_t)(n & 0xffff), q_lo = lo / m;
  const int64_t q = (int64_t)(((uint64_t)q_hi << 16) | q_lo); /* floor(|p| / |d|) */
  return (p < 0) == (d < 0) ? q : -q - (q_lo * m != lo);
}

void div_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, int32_t b_zp, const channel_quant_t *q) {
  const channel_quant_t k = *q;
  const int64_t half = (int64_t)1 << (k.shift - 1);
  for (int i = 0; i < n; i += period)
    for (int j = 0; j < period; ++j) {
      const int64_t num = (int64_t)(a[i + j] + k.bias) * k.mult; /* |num| < 2^39 */
      const int32_t den = b[j] - b_zp;                            /* |den| <= 255 */
      if (den == 0) { /* +-inf saturates; 0 / 0 is NaN, which QuantizeLinear saturates to the minimum */
        out[i + j] = (int8_t)(num > 0 ? k.act_max : k.act_min);
        continue;
      }
      const int64_t y = ((floor_div(num, den) + half) >> k.shift) + k.out_zp;
      out[i + j] = (int8_t)(y < k.act_min ? k.act_min : (y > k.act_max ? k.act_max : y));
    }
}

void concat_i8(const int8_t *in, int8_t *out, int rows, int len, int out_stride, const channel_quant_t *q) {
  for (int r = 0; r < rows; ++r) requantize_i8(in + r * len, out + r * out_stride, len, q);
}

void copy_strided_i8_ref(const int8_t *in, int8_t *out, const copy_shape_t *s) {
  const int rank = s->rank, inner = s->dims[rank - 1], step = s->strides[rank - 1];
  int32_t index[COPY_MAX_RANK] = {0};
  const int8_t *src = in + s->offset;
  for (;;) {
    const int8_t *p = src;
    for (int i = 0; i < inner; ++i, p += step) *out++ = *p;
    int d = rank - 2;  /* odometer over the outer dimensions */
    for (; d >= 0; --d) {
      src += s->strides[d];
      if (++index[d] < s->dims[d]) break;
      src -= (int32_t)s->dims[d] * s->strides[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

int matmul_act_scratch_bytes(const matmul_act_t *s) {
  int kp = (s->k + 3) & ~3;
  return s->n * kp + 2 * kp + 2 * s->n * 4 + s->n * 4;
}

static void matmul_rows(const int8_t *a, const int8_t *bt, int32_t *acc, int rows, int n, int kp) {
#ifdef EDGE_ISA_XEDGE
  matmul_i8_i32_xedge(a, bt, acc, rows, n, kp);
#else
  matmul_i8_i32_ref(a, bt, acc, rows, n, kp);
#endif
}

/* dst[0..kp) = the k bytes src[0], src[step], ..., zero filled to kp; returns their sum. */
static int32_t gather_row(int8_t *dst, const int8_t *src, int32_t step, int k, int kp) {
  int32_t sum = 0;
  for (int i = 0; i < k; ++i, src += step) sum += *dst++ = *src;
  for (int i = k; i < kp; ++i) *dst++ = 0;
  return sum;
}

void matmul_act_i8_ref(const int8_t *a, const int8_t *b, int8_t *out, const matmul_act_t *s, void *scratch) {
  const int m = s->m, n = s->n, k = s->k, kp = (k + 3) & ~3;
  const int32_t a_row = s->a_row, a_col = s->a_col, b_row = s->b_row, b_col = s->b_col;
  const int32_t a_zp = s->a_zp, b_zp = s->b_zp, zz = k * a_zp * b_zp;
  const channel_quant_t cq = {0, s->mult, s->shift, s->out_zp, s->act_min, s->act_max};
  int8_t *bt = (int8_t *)scratch, *rows = bt + n * kp;
  int32_t *acc = (int32_t *)(rows + 2 * kp), *col_corr = acc + 2 * n;
  for (int t = 0; t < s->batches; ++t) {
    const int8_t *A = a + s->a_offset[t], *B = b + s->b_offset[t];
    for (int j = 0; j < n; ++j)  /* B^T, zero filled to kp; a_zp * column sum - k a_zp b_zp */
      col_corr[j] = a_zp * gather_row(bt + j * kp, B + j * b_col, b_row, k, kp) - zz;
    for (int i0 = 0; i0 < m; i0 += 2) {
      const int count = m - i0 < 2 ? 1 : 2;
      int32_t row_corr[2];
      for (int r = 0; r < count; ++r) row_corr[r] = b_zp * gather_row(rows + r * kp, A + (i0 + r) * a_row, a_col, k, kp);
      matmul_rows(rows, bt, acc, count, n, kp);
      for (int r = 0; r < count; ++r) {
        int8_t *o = out + ((t * m) + i0 + r) * n;
        for (int j = 0; j < n; ++j) o[j] = requantize_with(acc[r * n + j] - row_corr[r] - col_corr[j], cq);
      }
    }
  }
}

/* The outputs of a row with maximum max and r = 2^62 / sum(e) (at most 2^32). */
static void softmax_row(const int8_t *x, int8_t *y, const softmax_t *s, int32_t max, uint64_t r) {
  const int len = s->len, inner = s->inner, total = 31 + s->shift;
  const uint32_t *e = s->exp_table;
  const uint64_t mult = (uint32_t)s->mult, round = (uint64_t)1 << (total - 1);
  for (int i = 0; i < len; ++i) {
    uint64_t p = ((uint64_t)e[max - x[i * inner]] * r) >> 31;  /* p / sum in 2^-31, at most 2^31 */
    y[i * inner] = clamp_i8((int32_t)((p * mult + round) >> total) + s->out_zp, s->act_min, s->act_max);
  }
}

void softmax_i8_ref(const int8_t *in, int8_t *out, const softmax_t *s) {
  const int len = s->len, inner = s->inner;
  const uint32_t *e = s->exp_table;
  for (int o = 0; o < s->outer; ++o)
    for (int c = 0; c < inner; ++c) {
      const int8_t *x = in + o * len * inner + c;
      int8_t *y = out + o * len * inner + c;
      int32_t max = -128;
      for (int i = 0; i < len; ++i) max = x[i * inner] > max ? x[i * inner] : max;
      uint64_t sum = 0;
      for (int i = 0; i < len; ++i) sum += e[max - x[i * inner]];
      softmax_row(x, y, s, max, ((uint64_t)1 << 62) / sum);  /* sum >= 2^30 (the maximum's own term) */
    }
}

static uint32_t isqrt64(uint64_t v) {  /* floor(sqrt(v)), bit by bit */
  uint64_t r = 0, bit = (uint64_t)1 << 62;
  while (bit > v) bit >>= 2;
  for (; bit; bit >>= 2) {
    if (v >= r + bit) {
      v -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
  }
  return (uint32_t)r;
}

/* A row's W << k in [2^62, 2^64) from its sum S and sum of squares, and the shift sh with
   n 2^p = (d x - S) r 2^-sh for r = 2^63 / sqrt(W << k) (below 2^32). */
static uint64_t layernorm_norm(const layernorm_t *s, int32_t sum, int32_t squares, int *sh) {
  uint64_t w = ((uint64_t)((int64_t)s->d * squares - (int64_t)sum * sum) << (2 * s->e_half)) + (uint64_t)s->eps;
  if (w == 0) w = 1;  /* a constant row without epsilon: every d x - S is 0 */
  const int k = __builtin_clzll(w) & ~1;
  *sh = 63 - s->e_half - k / 2 - s->p;
  return w << k;
}

/* Channels [c0, d) of a row: n 2^p = round((d x - S) r 2^-sh), out = round((n gamma + beta) 2^-total) + out_zp. */
static void layernorm_tail(const int8_t *x, int8_t *y, const layernorm_t *s, int32_t sum, uint32_t r, int sh, int c0) {
  const int d = s->d, total = s->total_shift;
  const int32_t zp = s->in_zp, out_zp = s->out_zp, lo = s->act_min, hi = s->act_max;
  const int64_t half = (int64_t)1 << (total - 1);
  for (int c = c0; c < d; ++c) {
    int64_t t = (int64_t)(d * (x[c] - zp) - sum) * (int64_t)r;
    int32_t n = (int32_t)(sh > 0 ? (t + ((int64_t)1 << (sh - 1))) >> sh : t * ((int64_t)1 << -sh));
    int64_t v = (int64_t)n * s->gamma[c] + s->beta[c];
    y[c] = clamp_i8((int32_t)((v + half) >> total) + out_zp, lo, hi);
  }
}

void layernorm_i8_ref(const int8_t *in, int8_t *out, const layernorm_t *s) {
  const int d = s->d;
  const int32_t zp = s->in_zp;
  for (int row = 0; row < s->rows; ++row) {
    const int8_t *x = in + row * d;
    int32_t sum = 0, squares = 0;
    for (int c = 0; c < d; ++c) {
      int32_t v = x[c] - zp;
      sum += v;
      squares += v * v;
    }
    int sh;
    const uint32_t r = (uint32_t)(0x7fffffffffffffffull / isqrt64(layernorm_norm(s, sum, squares, &sh)));
    layernorm_tail(x, out + row * d, s, sum, r, sh, 0);
  }
}

#ifdef EDGE_ISA_XEDGE
/* requantize_with(acc, k) (bias 0) for every |acc| < 2^bits as nn_i8.h's one-mulh path: acc and the divisor
   scaled by 2^pre so that the shift is at least 33, floor((acc 2^pre mult + 2^(S-1)) 2^-S) with S = shift + pre,
   = (mulh(acc 2^pre, mult) + 2^(S-33)) >> (S-32). */
typedef struct {
  int32_t mult, pre, round, post, out_zp, act_min, act_max;
} mulh_quant_t;

/* The mulh form of k for |acc| < 2^bits; 0 when acc 2^pre would not fit 31 bits or the shift exceeds 63. */
static int mulh_quant(const channel_quant_t *k, int bits, mulh_quant_t *f) {
  const int pre = k->shift >= 33 ? 0 : 33 - k->shift, S = k->shift + pre;
  if (bits + pre > 31 || S > 63) return 0;
  const mulh_quant_t r = {k->mult, pre, 1 << (S - 33), S - 32, k->out_zp, k->act_min, k->act_max};
  *f = r;
  return 1;
}

/* mulh_quant_t's requantization of register v in an asm loop: the clamp branches to the fix-ups of
   MULH_CLAMP_FIXUPS(v) (after the loop), which return to label 2 (the store). */
#define MULH_REQUANTIZE(v)                                                                          \
  "sll " v ", " v ", %[pre]\n" "mulh " v ", " v ", %[mult]\n" "add " v ", " v ", %[round]\n"        \
  "sra " v ", " v ", %[post]\n" "add " v ", " v ", %[zp]\n" "blt " v ", %[lo], 3f\n"                 \
  "blt %[hi], " v ", 4f\n" "2:\n"
#define MULH_CLAMP_FIXUPS(v) "j 5f\n" "3:\n" "mv " v ", %[lo]\n" "j 2b\n" "4:\n" "mv " v ", %[hi]\n" "j 2b\n" "5:\n"
#define MULH_OPERANDS(f)                                                                            \
  [pre] "r"(f.pre), [mult] "r"(f.mult), [round] "r"(f.round), [post] "r"(f.post), [zp] "r"(f.out_zp), \
      [lo] "r"(f.act_min), [hi] "r"(f.act_max)

/* out[j] = requantization of acc[j] + bias - corr[j], j < n (n >= 1): 13 instructions an output. */
static void requantize_row(const int32_t *acc, const int32_t *corr, int32_t bias, int8_t *out, uint32_t n,
                           mulh_quant_t f) {
  uint32_t v, w;
  __asm__ volatile("1:\n" EDGE_ASM_LW_PI("%[v]", "%[acc]", "4") EDGE_ASM_LW_PI("%[w]", "%[corr]", "4")
                   "add %[v], %[v], %[bias]\n" "sub %[v], %[v], %[w]\n" MULH_REQUANTIZE("%[v]")
                   EDGE_ASM_SB_PI("%[v]", "%[out]", "1") EDGE_ASM_BDNZ("%[n]", "1b") MULH_CLAMP_FIXUPS("%[v]")
                   : [acc] "+r"(acc), [corr] "+r"(corr), [out] "+r"(out), [n] "+r"(n), [v] "=&r"(v), [w] "=&r"(w)
                   : [bias] "r"(bias), MULH_OPERANDS(f)
                   : "memory");
}

/* |(a - a_zp)(b - b_zp)| <= 255^2 < 2^16 for int8 zero points. */
void mul_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const mul_quant_t *q) {
  const channel_quant_t k = {0, q->mult, q->shift, q->out_zp, q->act_min, q->act_max};
  const int32_t a_zp = q->a_zp, b_zp = q->b_zp;
  mulh_quant_t f;
  if (period < 1 || a_zp < -128 || a_zp > 127 || b_zp < -128 || b_zp > 127 || !mulh_quant(&k, 16, &f)) {
    mul_i8_ref(a, b, out, n, period, q);
    return;
  }
  for (int i = 0; i < n; i += period) {
    const int8_t *pb = b;
    uint32_t count = (uint32_t)period, x, y;
    __asm__ volatile("1:\n" EDGE_ASM_LB_PI("%[x]", "%[a]", "1") EDGE_ASM_LB_PI("%[y]", "%[b]", "1")
                     "sub %[x], %[x], %[a_zp]\n" "sub %[y], %[y], %[b_zp]\n" "mul %[x], %[x], %[y]\n"
                     MULH_REQUANTIZE("%[x]") EDGE_ASM_SB_PI("%[x]", "%[out]", "1") EDGE_ASM_BDNZ("%[n]", "1b")
                     MULH_CLAMP_FIXUPS("%[x]")
                     : [a] "+r"(a), [b] "+r"(pb), [out] "+r"(out), [n] "+r"(count), [x] "=&r"(x), [y] "=&r"(y)
                     : [a_zp] "r"(a_zp), [b_zp] "r"(b_zp), MULH_OPERANDS(f)
                     : "memory");
  }
}

/* The innermost dimensions merged while they are contiguous, then runs of the innermost one over the next: word
   copies (copy_words, copy_i8.h) when every run is word aligned (stride 1, a length and outer strides of whole
   words), else stride 1 as copy_run, stride 0 as its fill, any other byte by byte. */
void copy_strided_i8(const int8_t *in, int8_t *out, const copy_shape_t *s) {
  int rank = s->rank + 1;
  int32_t index[COPY_MAX_RANK + 1] = {0}, dims[COPY_MAX_RANK + 1] = {1}, strides[COPY_MAX_RANK + 1] = {0};
  for (int d = 1; d < rank; ++d) dims[d] = s->dims[d - 1], strides[d] = s->strides[d - 1];
  while (rank > 2 && strides[rank - 2] == dims[rank - 1] * strides[rank - 1]) {
    dims[rank - 2] *= dims[rank - 1];
    strides[rank - 2] = strides[rank - 1];
    --rank;
  }
  const int inner = dims[rank - 1], step = strides[rank - 1], runs = dims[rank - 2], jump = strides[rank - 2];
  const int8_t *src = in + s->offset;
  uint32_t misaligned = (uint32_t)(uintptr_t)src | (uint32_t)(uintptr_t)out | (uint32_t)inner;
  for (int d = 0; d < rank - 1; ++d) misaligned |= (uint32_t)strides[d];
  const int words = step == 1 && (misaligned & 3) == 0;
  for (;;) {
    const int8_t *p = src;
    for (int j = 0; j < runs; ++j, p += jump) {
      if (words) {
        out = copy_words(out, p, inner / 4, 0);
      } else if (step == 1 || step == 0) {
        out = copy_run(out, step ? p : 0, inner, *p);
      } else {
        const int8_t *q = p;
        for (int i = 0; i < inner; ++i, q += step) *out++ = *q;
      }
    }
    int d = rank - 3;  /* odometer over the outer dimensions */
    for (; d >= 0; --d) {
      src += strides[d];
      if (++index[d] < dims[d]) break;
      src -= dims[d] * strides[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

/* sum of the words p[0..words) as bytes, and of their squares (sdotsp.b with ones and with themselves). */
static inline void byte_sums(const int8_t *p, uint32_t words, int32_t *sum, int32_t *squares) {
  int32_t s = 0, q = 0;
  const uint32_t ones = 0x01010101u;
  uint32_t x;
  __asm__ volatile("1:\n" EDGE_ASM_LW_PI("%[x]", "%[p]", "4") EDGE_ASM_SDOTSP_B("%[s]", "%[x]", "%[ones]")
                   EDGE_ASM_SDOTSP_B("%[q]", "%[x]", "%[x]") EDGE_ASM_BDNZ("%[n]", "1b")
                   : [s] "+r"(s), [q] "+r"(q), [p] "+r"(p), [n] "+r"(words), [x] "=&r"(x)
                   : [ones] "r"(ones)
                   : "memory");
  *sum = s;
  *squares = q;
}

/* Word-aligned B^T rows of kp: their sums; else B gathered into bt. col_corr[j] = a_zp * sum_j - zz. */
void matmul_act_i8(const int8_t *a, const int8_t *b, int8_t *out, const matmul_act_t *s, void *scratch) {
  const int m = s->m, n = s->n, k = s->k, kp = (k + 3) & ~3;
  const int32_t a_row = s->a_row, a_col = s->a_col, b_row = s->b_row, b_col = s->b_col;
  const int32_t a_zp = s->a_zp, b_zp = s->b_zp, zz = k * a_zp * b_zp;
  const channel_quant_t cq = {0, s->mult, s->shift, s->out_zp, s->act_min, s->act_max};
  int bits = 16;  /* |acc| <= k 255^2 for int8 zero points */
  while (bits < 31 && ((int64_t)k * 65025 >> (bits - 16)) >= 65536) ++bits;
  mulh_quant_t f;
  const int zps = a_zp >= -128 && a_zp <= 127 && b_zp >= -128 && b_zp <= 127;
  if (!zps || !mulh_quant(&cq, bits, &f) || (k & 3)) {
    matmul_act_i8_ref(a, b, out, s, scratch);
    return;
  }
  int8_t *packed = (int8_t *)scratch, *rows = packed + n * kp;
  int32_t *acc = (int32_t *)(rows + 2 * kp), *col_corr = acc + 2 * n;
  const int a_rows = a_col == 1 && a_row == k, b_rows = b_row == 1 && b_col == k;  /* rows of k in place */
  for (int t = 0; t < s->batches; ++t) {
    const int8_t *A = a + s->a_offset[t], *B = b + s->b_offset[t];
    const int8_t *bt = b_rows && ((uintptr_t)B & 3) == 0 ? B : packed;
    for (int j = 0; j < n; ++j) {
      int32_t sum, squares;
      if (bt == B)
        byte_sums(B + j * k, (uint32_t)k / 4, &sum, &squares);
      else
        sum = gather_row(packed + j * k, B + j * b_col, b_row, k, k);
      col_corr[j] = a_zp * sum - zz;
    }
    const int direct = a_rows && ((uintptr_t)A & 3) == 0;
    for (int i0 = 0; i0 < m; i0 += 2) {
      const int count = m - i0 < 2 ? 1 : 2;
      const int8_t *src = direct ? A + i0 * k : rows;
      int32_t row_corr[2];
      for (int r = 0; r < count; ++r) {
        int32_t sum, squares;
        if (direct)
          byte_sums(src + r * k, (uint32_t)k / 4, &sum, &squares);
        else
          sum = gather_row(rows + r * k, A + (i0 + r) * a_row, a_col, k, k);
        row_corr[r] = b_zp * sum;
      }
      matmul_i8_i32_xedge(src, bt, acc, count, n, k);
      int8_t *o = out + ((t * m) + i0) * n;
      for (int r = 0; r < count; ++r) requantize_row(acc + r * n, col_corr, -row_corr[r], o + r * n, (uint32_t)n, f);
    }
  }
}
static inline uint32_t mulhu(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) >> 32); }
static inline int32_t mulhsu(int32_t a, uint32_t b) {
  int32_t r;
  __asm__("mulhsu %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}

/* The maximum of x[0..n) and -128: two byte loads and two 2-cycle compare steps a pair. */
static int32_t max_i8(const int8_t *x, int n) {
  int32_t m = -128;
  uint32_t pairs = (uint32_t)n / 2, v0, v1;
  if (pairs)
    __asm__ volatile("1:\n" EDGE_ASM_LB_PI("%[v0]", "%[p]", "1") EDGE_ASM_LB_PI("%[v1]", "%[p]", "1")
                     "bge %[m], %[v0], 2f\n" "mv %[m], %[v0]\n" "2:\n" "bge %[m], %[v1], 3f\n" "mv %[m], %[v1]\n"
                     "3:\n" EDGE_ASM_BDNZ("%[n]", "1b")
                     : [m] "+r"(m), [p] "+r"(x), [n] "+r"(pairs), [v0] "=&r"(v0), [v1] "=&r"(v1)
                     :
                     : "memory");
  return (n & 1) && *x > m ? *x : m;
}

/* sum of em[-x[i]], i < n, in 64 bits (entries at most 2^30, so a pair's sum fits a word): the table index
   -4 x by one mul, the word by a register+register load. */
static uint64_t exp_sum(const int8_t *x, int n, const uint32_t *em) {
  uint32_t lo = 0, hi = 0, pairs = (uint32_t)n / 2, v0, v1, c;
  const int32_t m4 = -4;
  if (pairs)
    __asm__ volatile("1:\n" EDGE_ASM_LB_PI("%[v0]", "%[p]", "1") EDGE_ASM_LB_PI("%[v1]", "%[p]", "1")
                     "mul %[v0], %[v0], %[m4]\n" "mul %[v1], %[v1], %[m4]\n"
                     EDGE_ASM_LW_RR("%[v0]", "%[em]", "%[v0]") EDGE_ASM_LW_RR("%[v1]", "%[em]", "%[v1]")
                     "add %[v0], %[v0], %[v1]\n" "add %[lo], %[lo], %[v0]\n" "sltu %[c], %[lo], %[v0]\n"
                     "add %[hi], %[hi], %[c]\n" EDGE_ASM_BDNZ("%[n]", "1b")
                     : [lo] "+r"(lo), [hi] "+r"(hi), [p] "+r"(x), [n] "+r"(pairs), [v0] "=&r"(v0), [v1] "=&r"(v1),
                       [c] "=&r"(c)
                     : [em] "r"(em), [m4] "r"(m4)
                     : "memory");
  const uint64_t sum = ((uint64_t)hi << 32) | lo;
  return n & 1 ? sum + em[-*x] : sum;
}

/* Entries of softmax_i8's output table (on the stack). */
#define SOFTMAX_TABLE 1024

/* Rows contiguous (inner = 1), 2 <= shift <= 32, exp_table entries at most 2^30 (exp(0) = 2^30): per row the
   maximum and the 64-bit sum of e (exp_sum), r = 2^62 / sum by libgcc's 64-bit division; per element
   p = (e r) >> 31 = mulhu(2 e, r) (r < 2^32, else the row as the reference), and the reference's
   (p mult + 2^(total-1)) >> total (total = 31 + shift >= 33: the rounding touches the high word only) as
   table[mulhu(p, mult) >> (shift - 2)] with table[k] = clamp(((k + 1) >> 1) + out_zp) (p <= 2^31 bounds k). */
void softmax_i8(const int8_t *in, int8_t *out, const softmax_t *s) {
  const int len = s->len, shift = s->shift;
  const uint32_t mult = (uint32_t)s->mult;
  const int kmax = shift >= 2 && shift <= 32 ? (int)(mulhu(1u << 31, mult) >> (shift - 2)) : SOFTMAX_TABLE;
  if (s->inner != 1 || kmax >= SOFTMAX_TABLE || len < 1) {
    softmax_i8_ref(in, out, s);
    return;
  }
  int8_t table[SOFTMAX_TABLE];
  for (int k = 0; k <= kmax; ++k) table[k] = clamp_i8(((k + 1) >> 1) + s->out_zp, s->act_min, s->act_max);
  const uint32_t sh = (uint32_t)shift - 2;
  const int32_t m4 = -4;
  for (int row = 0; row < s->outer; ++row) {
    const int8_t *x = in + row * len;
    int8_t *y = out + row * len;
    const int32_t max = max_i8(x, len);
    const uint32_t *em = s->exp_table + max;  /* em[-x] = exp_table[max - x] */
    const uint64_t r = ((uint64_t)1 << 62) / exp_sum(x, len, em);  /* sum >= 2^30 (the maximum's own term) */
    if (r >> 32) {  /* r = 2^32: the other terms are 0 */
      softmax_row(x, y, s, max, r);
      continue;
    }
    uint32_t pairs = (uint32_t)len / 2, v0, v1;
    if (pairs)
      __asm__ volatile("1:\n" EDGE_ASM_LB_PI("%[v0]", "%[x]", "1") EDGE_ASM_LB_PI("%[v1]", "%[x]", "1")
                       "mul %[v0], %[v0], %[m4]\n" "mul %[v1], %[v1], %[m4]\n"
                       EDGE_ASM_LW_RR("%[v0]", "%[em]", "%[v0]") EDGE_ASM_LW_RR("%[v1]", "%[em]", "%[v1]")
                       "slli %[v0], %[v0], 1\n" "slli %[v1], %[v1], 1\n"
                       "mulhu %[v0], %[v0], %[r]\n" "mulhu %[v1], %[v1], %[r]\n"
                       "mulhu %[v0], %[v0], %[mult]\n" "mulhu %[v1], %[v1], %[mult]\n"
                       "srl %[v0], %[v0], %[sh]\n" "srl %[v1], %[v1], %[sh]\n"
                       EDGE_ASM_LB_RR("%[v0]", "%[tab]", "%[v0]") EDGE_ASM_LB_RR("%[v1]", "%[tab]", "%[v1]")
                       EDGE_ASM_SB_PI("%[v0]", "%[y]", "1") EDGE_ASM_SB_PI("%[v1]", "%[y]", "1")
                       EDGE_ASM_BDNZ("%[n]", "1b")
                       : [x] "+r"(x), [y] "+r"(y), [n] "+r"(pairs), [v0] "=&r"(v0), [v1] "=&r"(v1)
                       : [em] "r"(em), [m4] "r"(m4), [r] "r"((uint32_t)r), [mult] "r"(mult), [sh] "r"(sh),
                         [tab] "r"(table)
                       : "memory");
    if (len & 1) *y = table[mulhu(mulhu(em[-*x] << 1, (uint32_t)r), mult) >> sh];
  }
}

/* floor((n1 2^32 + n0) / d) for n1 < d, d >= 2^31: two 16-bit quotient digits, each a 32-bit division and at
   most two corrections (longlong.h's __udiv_qrnnd_c). */
static uint32_t div_64_32(uint32_t n1, uint32_t n0, uint32_t d) {
  const uint32_t d1 = d >> 16, d0 = d & 0xffff;
  uint32_t q[2], r = n1;
  for (int i = 0; i < 2; ++i) {
    uint32_t qd = r / d1, m;
    r = ((r - qd * d1) << 16) | (i ? n0 & 0xffff : n0 >> 16);
    m = qd * d0;
    if (r < m) {
      --qd, r += d;
      if (r >= d && r < m) --qd, r += d;  /* r >= d: the addition above did not wrap */
    }
    r -= m;
    q[i] = qd;
  }
  return (q[0] << 16) | q[1];
}

/* 2^63 / floor(sqrt(v)) for v in [2^62, 2^64), exactly as the reference's isqrt64 and 64-bit division: the root
   of the high word bit by bit, the low half of the root from one 32-bit division (within 2 of the root), then
   corrected with 64-bit squares; the reciprocal by div_64_32. */
static uint32_t inverse_sqrt(uint64_t v) {
  uint32_t vh = (uint32_t)(v >> 32), h = 0;
  for (uint32_t bit = 1u << 30, rem = vh; bit; bit >>= 2) {
    if (rem >= h + bit) {
      rem -= h + bit;
      h = (h >> 1) + bit;
    } else {
      h >>= 1;
    }
  }
  uint64_t est = ((uint64_t)h << 16) + ((vh - h * h) << 15) / h;
  uint32_t root = est > 0xffffffffu ? 0xffffffffu : (uint32_t)est;
  while ((uint64_t)root * root > v) --root;
  while (root != 0xffffffffu && (uint64_t)(root + 1) * (root + 1) <= v) ++root;
  return div_64_32(0x7fffffffu, 0xffffffffu, root);
}

/* The sums with sdotsp.b (rows word aligned, d % 4 == 0); per element, with total_shift >= 33 and a row's
   1 <= sh <= 31 (else that row as the reference): t = (d x - S) r as mul and mulhsu, n = low word of
   (t + 2^(sh-1)) >> sh, v = n gamma + beta as mul, mulh and a carry, out = (high word of v + 2^(total-1)) >>
   (total - 32); the row's 2^63 / sqrt(W << k) by inverse_sqrt. */
void layernorm_i8(const int8_t *in, int8_t *out, const layernorm_t *s) {
  const int d = s->d, total = s->total_shift;
  if (total < 33) {
    layernorm_i8_ref(in, out, s);
    return;
  }
  const int words = ((uintptr_t)in & 3) == 0 && (d & 3) == 0;
  const int32_t zp = s->in_zp, out_zp = s->out_zp, lo = s->act_min, hi = s->act_max;
  const int32_t half = 1 << (total - 33), post = total - 32;
  const int32_t *gamma = s->gamma;
  const int64_t *beta = s->beta;
  for (int row = 0; row < s->rows; ++row) {
    const int8_t *x = in + row * d;
    int8_t *y = out + row * d;
    int32_t sum = 0, squares = 0;
    if (words) {
      int32_t sx, sq;
      byte_sums(x, (uint32_t)d / 4, &sx, &sq);  /* of x: S = sx - d zp, sum (x - zp)^2 = sq - 2 zp sx + d zp^2 */
      sum = (int32_t)((uint32_t)sx - (uint32_t)(d * zp));
      squares = (int32_t)((uint32_t)sq - 2u * (uint32_t)zp * (uint32_t)sx + (uint32_t)(d * zp * zp));
    } else {
      for (int c = 0; c < d; ++c) {
        int32_t v = x[c] - zp;
        sum += v;
        squares += v * v;
      }
    }
    int sh;
    const uint32_t r = inverse_sqrt(layernorm_norm(s, sum, squares, &sh));
    if (sh < 1 || sh > 31) {
      layernorm_tail(x, y, s, sum, r, sh, 0);
      continue;
    }
    const int32_t offset = d * zp + sum;
    const uint32_t rnd = 1u << (sh - 1);
    const int ls = 32 - sh;
    for (int c = 0; c < d; ++c) {
      const int32_t u = d * x[c] - offset;
      const uint32_t tl = (uint32_t)u * r + rnd;
      const int32_t th = mulhsu(u, r) + (tl < rnd);
      const int32_t n = (int32_t)(((uint32_t)th << ls) | (tl >> sh)), g = gamma[c];
      const uint32_t bl = (uint32_t)beta[c], vl = (uint32_t)n * (uint32_t)g + bl;
      const int32_t vh = mul_hi(n, g) + (int32_t)(beta[c] >> 32) + (vl < bl) + half;
      y[c] = clamp_i8((vh >> post) + out_zp, lo, hi);
    }
  }
}
#else
void softmax_i8(const int8_t *in, int8_t *out, const softmax_t *s) { softmax_i8_ref(in, out, s); }
void layernorm_i8(const int8_t *in, int8_t *out, const layernorm_t *s) { layernorm_i8_ref(in, out, s); }
void mul_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const mul_quant_t *q) {
  mul_i8_ref(a, b, out, n, period, q);
}
void copy_strided_i8(const int8_t *in, int8_t *out, const copy_shape_t *s) { copy_strided_i8_ref(in, out, s); }
void matmul_act_i8(const int8_t *a, const int8_t *b, int8_t *out, const matmul_act_t *s, void *scratch) {
  matmul_act_i8_ref(a, b, out, s, scratch);
}
#endif
