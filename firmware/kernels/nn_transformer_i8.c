/* int8 transformer kernels (layouts, arithmetic and error bounds in nn_transformer_i8.h; of div_i8 and concat_i8
   in nn_i8.h): integer arithmetic only, plain C; the activation x activation matmul runs on the dense int8 matmul
   of matmul_i8.c. */
#include "nn_transformer_i8.h"

#include <stdint.h>

#include "matmul_i8.h"

static inline int8_t clamp_i8(int32_t y, int32_t lo, int32_t hi) { return (int8_t)(y < lo ? lo : (y > hi ? hi : y)); }

void lut_i8(const int8_t *in, int8_t *out, int n, const int8_t *table) {
  const int8_t *t = table + 128;
  for (int i = 0; i < n; ++i) out[i] = t[in[i]];
}

void add_bcast_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const add_quant_t *q) {
  for (int i = 0; i < n; i += period) add_i8(a + i, b, out + i, period, q);
}

void mul_i8(const int8_t *a, const int8_t *b, int8_t *out, int n, int period, const mul_quant_t *q) {
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

void copy_strided_i8(const int8_t *in, int8_t *out, const copy_shape_t *s) {
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

void matmul_act_i8(const int8_t *a, const int8_t *b, int8_t *out, const matmul_act_t *s, void *scratch) {
  const int m = s->m, n = s->n, k = s->k, kp = (k + 3) & ~3;
  const int32_t a_row = s->a_row, a_col = s->a_col, b_row = s->b_row, b_col = s->b_col;
  const int32_t a_zp = s->a_zp, b_zp = s->b_zp, zz = k * a_zp * b_zp;
  const channel_quant_t cq = {0, s->mult, s->shift, s->out_zp, s->act_min, s->act_max};
  int8_t *bt = (int8_t *)scratch, *rows = bt + n * kp;
  int32_t *acc = (int32_t *)(rows + 2 * kp), *col_corr = acc + 2 * n;
  for (int t = 0; t < s->batches; ++t) {
    const int8_t *A = a + s->a_offset[t], *B = b + s->b_offset[t];
    for (int j = 0; j < n; ++j) {  /* B^T, zero filled to kp; a_zp * column sum - k a_zp b_zp */
      int8_t *row = bt + j * kp;
      int32_t sum = 0;
      for (int i = 0; i < k; ++i) sum += row[i] = B[i * b_row + j * b_col];
      for (int i = k; i < kp; ++i) row[i] = 0;
      col_corr[j] = a_zp * sum - zz;
    }
    for (int i0 = 0; i0 < m; i0 += 2) {
      const int count = m - i0 < 2 ? 1 : 2;
      int32_t row_corr[2];
      for (int r = 0; r < count; ++r) {
        const int8_t *src = A + (i0 + r) * a_row;
        int8_t *row = rows + r * kp;
        int32_t sum = 0;
        for (int i = 0; i < k; ++i) sum += row[i] = src[i * a_col];
        for (int i = k; i < kp; ++i) row[i] = 0;
        row_corr[r] = b_zp * sum;
      }
      matmul_rows(rows, bt, acc, count, n, kp);
      for (int r = 0; r < count; ++r) {
        int8_t *o = out + ((t * m) + i0 + r) * n;
        for (int j = 0; j < n; ++j) o[j] = requantize_with(acc[r * n + j] - row_corr[r] - col_corr[j], cq);
      }
    }
  }
}

void softmax_i8(const int8_t *in, int8_t *out, const softmax_t *s) {
  const int len = s->len, inner = s->inner, total = 31 + s->shift;
  const uint32_t *e = s->exp_table;
  const uint64_t mult = (uint32_t)s->mult, round = (uint64_t)1 << (total - 1);
  for (int o = 0; o < s->outer; ++o)
    for (int c = 0; c < inner; ++c) {
      const int8_t *x = in + o * len * inner + c;
      int8_t *y = out + o * len * inner + c;
      int32_t max = -128;
      for (int i = 0; i < len; ++i) max = x[i * inner] > max ? x[i * inner] : max;
      uint64_t sum = 0;
      for (int i = 0; i < len; ++i) sum += e[max - x[i * inner]];
      const uint64_t r = ((uint64_t)1 << 62) / sum;  /* sum >= 2^30 (the maximum's own term): r <= 2^32 */
      for (int i = 0; i < len; ++i) {
        uint64_t p = ((uint64_t)e[max - x[i * inner]] * r) >> 31;  /* p / sum in 2^-31, at most 2^31 */
        y[i * inner] = clamp_i8((int32_t)((p * mult + round) >> total) + s->out_zp, s->act_min, s->act_max);
      }
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

void layernorm_i8(const int8_t *in, int8_t *out, const layernorm_t *s) {
  const int d = s->d, total = s->total_shift;
  const int32_t zp = s->in_zp, out_zp = s->out_zp, lo = s->act_min, hi = s->act_max;
  const int64_t half = (int64_t)1 << (total - 1);
  for (int row = 0; row < s->rows; ++row) {
    const int8_t *x = in + row * d;
    int8_t *y = out + row * d;
    int32_t sum = 0, squares = 0;
    for (int c = 0; c < d; ++c) {
      int32_t v = x[c] - zp;
      sum += v;
      squares += v * v;
    }
    uint64_t w = ((uint64_t)((int64_t)d * squares - (int64_t)sum * sum) << (2 * s->e_half)) + (uint64_t)s->eps;
    if (w == 0) w = 1;  /* a constant row without epsilon: every d x - S is 0 */
    const int k = __builtin_clzll(w) & ~1;  /* w << k in [2^62, 2^64) */
    const uint64_t r = 0x7fffffffffffffffull / isqrt64(w << k);  /* 2^63 / sqrt(w << k), below 2^32 */
    const int sh = 63 - s->e_half - k / 2 - s->p;  /* n 2^p = (d x - S) r 2^-sh */
    for (int c = 0; c < d; ++c) {
      int64_t t = (int64_t)(d * (x[c] - zp) - sum) * (int64_t)r;
      int32_t n = (int32_t)(sh > 0 ? (t + ((int64_t)1 << (sh - 1))) >> sh : t * ((int64_t)1 << -sh));
      int64_t v = (int64_t)n * s->gamma[c] + s->beta[c];
      y[c] = clamp_i8((int32_t)((v + half) >> total) + out_zp, lo, hi);
    }
  }
}
