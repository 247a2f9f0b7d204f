/* The packed N:M sparse weight format of riscv_ext/nm_format.py (its docstring is the specification).
   Per row: nnz = k / M * N int8 values (value_stride bytes, a multiple of 4) and nnz log2(M)-bit offsets,
   NM_FIELDS(M) a 32-bit word (16, 8, 8), LSB first (offset_stride words). Entry e multiplies activation
   (e / N) * M + offset(e) of the row's reduction axis. */
#ifndef NM_FORMAT_H
#define NM_FORMAT_H

#include <stdint.h>

#define NM_BITS(m) ((m) == 4 ? 2 : ((m) == 8 ? 3 : 4))
#define NM_FIELDS(m) ((m) == 4 ? 16 : 8)  /* whole SIMD words of entries per offsets word */

typedef struct {
  const int8_t *values;     /* [rows][value_stride] */
  const uint32_t *offsets;  /* [rows][offset_stride] */
  int rows, k, n, m, value_stride, offset_stride;
} nm_weights_t;

static inline int nm_nnz(const nm_weights_t *w) { return w->k / w->m * w->n; }

/* Reduction index of entry e of a row whose offsets start at `offsets`. */
static inline int nm_column(const uint32_t *offsets, int e, int n, int m) {
  int f = NM_FIELDS(m);
  return (e / n) * m + (int)((offsets[e / f] >> ((e % f) * NM_BITS(m))) & (uint32_t)(m - 1));
}

#endif /* NM_FORMAT_H */
