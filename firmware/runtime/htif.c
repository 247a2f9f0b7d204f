/* Host interface of the edge-sdk MCU (HTIF, as Spike's front end speaks it; the RTL harness speaks it too).
   tohost = (code << 1) | 1 ends the program; tohost = &magic_mem runs a proxied system call (write). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "perf.h"

/* 64-bit HTIF registers, kept as two words: the core writes only the low one (see tohost_write). */
volatile uint32_t tohost[2] __attribute__((section(".tohost"), aligned(64)));
volatile uint32_t fromhost[2] __attribute__((section(".tohost"), aligned(64)));

#define SYS_WRITE 64

static volatile uint64_t magic_mem[8] __attribute__((aligned(64)));

/* Only the low word is written: device and command (the high word) are zero for both uses. */
static void tohost_write(uint32_t value) {
  tohost[0] = value;
}

/* The counters stop while the core waits for the host: how long a simulator takes to answer is not a
   property of the program, and so Spike and the RTL count the same instructions. */
#define COUNTERS_ALL 0x1fdu /* mcountinhibit: CY, IR and mhpmcounter3..8 */

static inline void counters_inhibit(uint32_t bits) {
  __asm__ volatile(".option push\n.option arch, +zicsr\ncsrw mcountinhibit, %0\n.option pop" : : "r"(bits));
}

static long host_write(int fd, const void *buf, size_t len) {
  counters_inhibit(COUNTERS_ALL);
  magic_mem[0] = SYS_WRITE;
  magic_mem[1] = (uint64_t)fd;
  magic_mem[2] = (uint64_t)(uintptr_t)buf;
  magic_mem[3] = len;
  __sync_synchronize();
  tohost_write((uint32_t)(uintptr_t)magic_mem);
  while (fromhost[0] == 0) {
  }
  fromhost[0] = 0;
  __sync_synchronize();
  counters_inhibit(0);
  return (long)magic_mem[0];
}

/* Console streams, line-buffered so a line costs one host call. */
struct line_buffer {
  int fd;
  unsigned len;
  char data[128];
};
static struct line_buffer out_buf = {1, 0, {0}}, err_buf = {2, 0, {0}};

static void buffer_flush(struct line_buffer *b) {
  if (b->len) host_write(b->fd, b->data, b->len);
  b->len = 0;
}

static int buffer_put(struct line_buffer *b, char c) {
  b->data[b->len++] = c;
  if (c == '\n' || b->len == sizeof b->data) buffer_flush(b);
  return (unsigned char)c;
}

static int out_put(char c, FILE *f) { (void)f; return buffer_put(&out_buf, c); }
static int err_put(char c, FILE *f) { (void)f; return buffer_put(&err_buf, c); }
static int out_flush(FILE *f) { (void)f; buffer_flush(&out_buf); return 0; }
static int err_flush(FILE *f) { (void)f; buffer_flush(&err_buf); return 0; }

static FILE out_stream = FDEV_SETUP_STREAM(out_put, NULL, out_flush, _FDEV_SETUP_WRITE);
static FILE err_stream = FDEV_SETUP_STREAM(err_put, NULL, err_flush, _FDEV_SETUP_WRITE);
FILE *const stdin = NULL;
FILE *const stdout = &out_stream;
FILE *const stderr = &err_stream;

ssize_t write(int fd, const void *buf, size_t len) {
  if (fd == 1) buffer_flush(&out_buf);
  if (fd == 2) buffer_flush(&err_buf);
  return host_write(fd, buf, len);
}

/* The exit report: one host-channel line the SDK parses (and strips) for the counters. */
static char *put_dec(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static char *put_field(char *p, const char *name, uint64_t v) {
  *p++ = ' ';
  while (*name) *p++ = *name++;
  *p++ = '=';
  return put_dec(p, v);
}

void _exit(int code) {
  uint64_t cycles = perf_cycles(), instret = perf_instret();
  uint32_t events[6] = {perf_load_use_stalls(), perf_branch_penalty(), perf_muldiv_stalls(),
                        perf_simd_insns(), perf_mem_insns(), perf_loop_insns()};
  static const char *const names[6] = {"load_use_stall", "branch_penalty", "muldiv_stall",
                                       "simd_insns", "mem_insns", "loop_insns"};
  buffer_flush(&out_buf);
  buffer_flush(&err_buf);
  char line[256], *p = line;
  const char *tag = "\n@edge-sdk-exit";
  while (*tag) *p++ = *tag++;
  p = put_field(p, "code", (uint32_t)code);
  p = put_field(p, "cycles", cycles);
  p = put_field(p, "instret", instret);
  for (int i = 0; i < 6; ++i) p = put_field(p, names[i], events[i]);
  *p++ = '\n';
  host_write(2, line, (size_t)(p - line));
  tohost_write(((uint32_t)code << 1) | 1);
  for (;;) {
  }
}

/* The stack's region (link.ld): [__stack_bottom, __stack_top), at the bottom of DMEM. */
extern char __stack_bottom[], __stack_top[];

/* Called by crt0's trap vector with the program's sp: every trap is fatal here. Exit code 128 + mcause.
   The SDK reads sp < stack bottom as a stack overflow (edge_sdk/sim/result.py). */
void edge_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval, uint32_t sp) {
  fprintf(stderr, "\n@edge-sdk-trap mcause=%lu mepc=0x%08lx mtval=0x%08lx sp=0x%08lx stack=0x%08lx-0x%08lx\n",
          (unsigned long)mcause, (unsigned long)mepc, (unsigned long)mtval, (unsigned long)sp,
          (unsigned long)(uintptr_t)__stack_bottom, (unsigned long)(uintptr_t)__stack_top);
  _exit(128 + (int)(mcause & 0x7f));
}
