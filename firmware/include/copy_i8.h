/* Byte-run copies and fills for the int8 kernels (im2col rows, padding): words where the alignment allows,
   post-increment loads / stores and bdnz loops on xedge. */
#ifndef COPY_I8_H
#define COPY_I8_H

#include <stdint.h>

#include "edge_insn.h"

/* dst[0..words) = src words, or the pad word when src is NULL (dst, src word aligned). Copies move two words
   an iteration, so no store waits for the load right before it. Returns dst + 4 * words. */
static inline int8_t *copy_words(int8_t *dst, const int8_t *src, int words, uint32_t pad_word) {
  uint32_t *d = (uint32_t *)dst;
  const uint32_t *s = (const uint32_t *)src;
  if (words <= 0) return dst;
#ifdef EDGE_ISA_XEDGE
  uint32_t n = (uint32_t)words, t0, t1;
  if (src) {
    if (n >= 2) {
      n /= 2;
      __asm__ volatile("1:\n" EDGE_ASM_LW_PI("%[t0]", "%[s]", "4") EDGE_ASM_LW_PI("%[t1]", "%[s]", "4")
                       EDGE_ASM_SW_PI("%[t0]", "%[d]", "4") EDGE_ASM_SW_PI("%[t1]", "%[d]", "4")
                       EDGE_ASM_BDNZ("%[n]", "1b")
                       : [t0] "=&r"(t0), [t1] "=&r"(t1), [s] "+r"(s), [d] "+r"(d), [n] "+r"(n) : : "memory");
    }
    if (words & 1) *d = *s;
  } else {
    __asm__ volatile("1:\n" EDGE_ASM_SW_PI("%[p]", "%[d]", "4") EDGE_ASM_BDNZ("%[n]", "1b")
                     : [d] "+r"(d), [n] "+r"(n) : [p] "r"(pad_word) : "memory");
  }
  (void)t0, (void)t1;
#else
  for (int i = 0; i < words; ++i) d[i] = src ? s[i] : pad_word;
#endif
  return dst + 4 * words;
}

/* dst[0..n) = src[0..n), or the byte `value` when src is NULL; the word-aligned middle as words when dst and
   src share their alignment, else byte by byte (two bytes an iteration on xedge). Returns dst + n. */
static inline int8_t *copy_run(int8_t *dst, const int8_t *src, int n, int32_t value) {
  if (n <= 0) return dst;
  int head = (int)(-(uintptr_t)dst & 3);
  if (src && (((uintptr_t)src ^ (uintptr_t)dst) & 3)) head = n;  /* never aligned together */
  if (head > n) head = n;
  int words = (n - head) / 4, tail = n - head - 4 * words;
#ifdef EDGE_ISA_XEDGE
  if (src && head >= 2) {
    uint32_t pairs = (uint32_t)head / 2, t0, t1;
    __asm__ volatile("1:\n" EDGE_ASM_LB_PI("%[t0]", "%[s]", "1") EDGE_ASM_LB_PI("%[t1]", "%[s]", "1")
                     EDGE_ASM_SB_PI("%[t0]", "%[d]", "1") EDGE_ASM_SB_PI("%[t1]", "%[d]", "1")
                     EDGE_ASM_BDNZ("%[n]", "1b")
                     : [t0] "=&r"(t0), [t1] "=&r"(t1), [s] "+r"(src), [d] "+r"(dst), [n] "+r"(pairs) : : "memory");
    head &= 1;
  }
#endif
  for (int i = 0; i < head; ++i) *dst++ = src ? *src++ : (int8_t)value;
  dst = copy_words(dst, src, words, (uint8_t)value * 0x01010101u);
  if (src) src += 4 * words;
  for (int i = 0; i < tail; ++i) *dst++ = src ? *src++ : (int8_t)value;
  return dst;
}

#endif /* COPY_I8_H */
