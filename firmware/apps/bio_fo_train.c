/* On-device Bio-FO training: trains the task of the generated header bio_fo_task.h (data, initial weights,
   fixed heads, hyper-parameters; written by edge_sdk/learning/on_device.py) greedily layer by layer, prints
   each layer's test accuracy and training cycles, then every trained weight for the bit-exact comparison. */
#include <stdint.h>
#include <stdio.h>

#include "bio_fo_q16.h"
#include "bio_fo_task.h"
#include "perf.h"

static q16_t act_train[2][BF_N_TRAIN * BF_MAX_WIDTH];
static q16_t act_test[2][BF_N_TEST * BF_MAX_WIDTH];
static q16_t scratch[2 * BF_MAX_WIDTH];
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

int main(void) {
  const q16_t *x_train = bf_train_x, *x_test = bf_test_x;
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
        bio_fo_train_step(W, b, B, x_train + order[s] * n_in, bf_train_y[order[s]], bf_lr[l], n_out, n_in, BF_CLASSES,
                          scratch);
    }
    uint64_t cycles = perf_cycles() - c0;
    int correct = 0;
    for (int s = 0; s < BF_N_TEST; ++s)
      correct += bio_fo_predict(W, b, B, x_test + s * n_in, n_out, n_in, BF_CLASSES, scratch) == bf_test_y[s];
    printf("layer %d: test_correct %d/%d, train_cycles %llu, train_samples %d\n", l, correct, BF_N_TEST,
           (unsigned long long)cycles, BF_EPOCHS * BF_N_TRAIN);
    /* The frozen layer's outputs are the next layer's inputs: compute them once. */
    q16_t *next_train = act_train[l % 2], *next_test = act_test[l % 2];
    for (int s = 0; s < BF_N_TRAIN; ++s)
      bio_fo_dense_relu(W, b, x_train + s * n_in, scratch, next_train + s * n_out, n_out, n_in);
    for (int s = 0; s < BF_N_TEST; ++s)
      bio_fo_dense_relu(W, b, x_test + s * n_in, scratch, next_test + s * n_out, n_out, n_in);
    x_train = next_train, x_test = next_test, n_in = n_out;
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
  return 0;
}
