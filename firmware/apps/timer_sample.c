/* Periodic sampling on the machine-timer interrupt: every PERIOD ticks of mtime the interrupt handler reads a
   "sensor" (a 16-bit LFSR standing in for an ADC) into a buffer and arms the next deadline (drift-free:
   deadline += PERIOD); main sleeps in wfi between samples, then prints the samples and a filtered value.
   The printed result is the same on Spike and on the RTL (interrupts arrive at different cycles, never at a
   different sample); each handler also checks that it never ran before its deadline. */
#include <stdint.h>
#include <stdio.h>
#include "timer.h"

#define SAMPLES 16
#define PERIOD 20   /* mtime ticks: 2,000 core cycles on the RTL */

static volatile uint32_t taken;
static volatile uint32_t early;   /* handlers that ran before their deadline (must stay 0) */
static uint64_t deadline;
static uint16_t lfsr = 0xACE1u;
static int16_t samples[SAMPLES];

static int16_t read_sensor(void) {
  uint16_t bit = ((lfsr >> 0) ^ (lfsr >> 2) ^ (lfsr >> 3) ^ (lfsr >> 5)) & 1u;
  lfsr = (uint16_t)((lfsr >> 1) | (bit << 15));
  return (int16_t)(lfsr & 0x0FFF) - 0x800;
}

void __attribute__((interrupt("machine"))) edge_irq_timer(void) {
  if (timer_now() < deadline) early = early + 1;
  samples[taken] = read_sensor();
  taken = taken + 1;
  if (taken == SAMPLES) {
    timer_irq_disable();
  } else {
    deadline += PERIOD;
    timer_set_deadline(deadline);
  }
}

int main(void) {
  deadline = timer_now() + PERIOD;
  timer_set_deadline(deadline);
  timer_irq_enable();
  /* Check and sleep with interrupts masked (wfi still wakes on a pending, enabled interrupt), then unmask to
     take it: an interrupt between the check and the wfi cannot leave main asleep after the last sample. */
  for (;;) {
    EDGE_CSR_CLEAR(mstatus, MSTATUS_MIE);
    if (taken >= SAMPLES) break;
    wait_for_interrupt();
    EDGE_CSR_SET(mstatus, MSTATUS_MIE);
  }
  int32_t filtered = 0;   /* an exponential moving average, alpha 1/4, in Q2 */
  for (int i = 0; i < SAMPLES; ++i) {
    printf("sample %2d: %5d\n", i, samples[i]);
    filtered += ((int32_t)samples[i] * 4 - filtered) / 4;
  }
  printf("filtered %ld (Q2), samples %lu, early %lu\n", (long)filtered, (unsigned long)taken, (unsigned long)early);
  return early != 0;
}
