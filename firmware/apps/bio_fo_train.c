/* On-device Bio-FO training: trains the task of the generated header bio_fo_task.h (data, initial weights,
   fixed heads, hyper-parameters; written by edge_sdk/learning/on_device.py) greedily layer by layer, prints
   each layer's test accuracy and training cycles, then every trained weight for the bit-exact comparison.
   It streams: a sample's input to layer l is computed through the frozen layers 0..l-1 when it is needed, so
   no activation cache of the size of the dataset is kept (RAM: the parameters and two vectors of the widest
   layer). The stack is painted at start and its high-water mark printed at the end (`stack_used`). */
#include <stdint.h>
#include <stdio.h>

#include "bio_fo_q16.h"
#include "bio_fo_task.h"
#include "perf.h"

static q16_t scratch[2 * BF_MAX_WIDTH];
static q16_t frozen_out[2][BF_MAX_WIDTH];
extern uint32_t __stack_bottom[];
#define STACK_PAINT 0x5ac5ac5au
static uint16_t order[BF_N_TRAIN];
static uint32_t rng_state = BF_SEED;

static uint32_t xorshift32(void) {
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

static void shuffle(void) {
  for (int i = BF_N_TRAIN - 1; i > 0; --i) {
    int j = (int)(xorshift32() % (uint32_t)(i + 1));
    uint16_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

/* Sample x through the frozen layers 0..l-1 (the input of layer l). */
static const q16_t *through_frozen(const q16_t *x, int l) {
  for (int k = 0, n_in = BF_IN; k < l; n_in = bf_width[k], ++k) {
    bio_fo_dense_relu(bf_W[k], bf_b[k], x, scratch, frozen_out[k % 2], bf_width[k], n_in);
    x = frozen_out[k % 2];
  }
  return x;
}

/* Fill the unused stack below the current frame with a pattern; the lowest word it no longer holds at the
   end is the deepest the stack went. */
static void paint_stack(void) {
  uint32_t *sp;
  __asm__ volatile("mv %0, sp" : "=r"(sp));
  for (uint32_t *w = __stack_bottom; w < sp - 16; ++w) *w = STACK_PAINT;
}

static uint32_t stack_high_water(void) {
  extern uint32_t __stack_top[];
  uint32_t *w = __stack_bottom;
  while (w < __stack_top && *w == STACK_PAINT) ++w;
  return (uint32_t)((char *)__stack_top - (char *)w);
}

int main(void) {
  paint_stack();
  int n_in = BF_IN;
  for (int i = 0; i < BF_N_TRAIN; ++i) order[i] = (uint16_t)i;
  for (int l = 0; l < BF_LAYERS; ++l) {
    int n_out = bf_width[l];
    q16_t *W = bf_W[l], *b = bf_b[l];
    const q16_t *B = bf_B[l];
    uint64_t c0 = perf_cycles();
    for (int e = 0; e < BF_EPOCHS; ++e) {
      shuffle();
      for (int s = 0; s < BF_N_TRAIN; ++s)
        bio_fo_train_step(W, b, B, through_frozen(bf_train_x + order[s] * BF_IN, l), bf_train_y[order[s]], bf_lr[l],
                          n_out, n_in, BF_CLASSES, scratch);
    }
    uint64_t cycles = perf_cycles() - c0;
    int correct = 0;
    for (int s = 0; s < BF_N_TEST; ++s)
      correct += bio_fo_predict(W, b, B, through_frozen(bf_test_x + s * BF_IN, l), n_out, n_in, BF_CLASSES, scratch) ==
                 bf_test_y[s];
    printf("layer %d: test_correct %d/%d, train_cycles %llu, train_samples %d\n", l, correct, BF_N_TEST,
           (unsigned long long)cycles, BF_EPOCHS * BF_N_TRAIN);
    n_in = n_out;
  }
  for (int l = 0, n_in_l = BF_IN; l < BF_LAYERS; n_in_l = bf_width[l], ++l) {
    int n = bf_width[l] * n_in_l;
    printf("weights %d %d\n", l, n + bf_width[l]);
    for (int i = 0; i < n; i += 8) {
      for (int k = i; k < i + 8 && k < n; ++k) printf("%08lx ", (unsigned long)(uint32_t)bf_W[l][k]);
      printf("\n");
    }
    for (int o = 0; o < bf_width[l]; ++o) printf("%08lx ", (unsigned long)(uint32_t)bf_b[l][o]);
    printf("\n");
  }
  printf("stack_used %lu\n", (unsigned long)stack_high_water());
  return 0;
}
