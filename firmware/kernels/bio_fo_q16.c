/* Bio-FO training kernels in Q16.16 (see bio_fo_q16.h). Every product is formed in 64 bits and shifted right
   arithmetically, so edge_sdk/learning/fixed_point.py reproduces every bit. */
#include "bio_fo_q16.h"

#define Q 16
#define LOG2E_Q16 94548 /* log2(e) */
#define EXP2_C1 45560   /* 2^f ~ 1 + C1 f + C2 f^2 + C3 f^3 on [0, 1) */
#define EXP2_C2 14822
#define EXP2_C3 5123
#define MAX_CLASSES 16
/* The update path rounds to nearest: a plain arithmetic shift floors, and flooring millions of small
   updates drifts every weight downwards. */
#define RSHIFT_Q(v) (((v) + (1 << (Q - 1))) >> Q)

q16_t q16_exp_nonpos(q16_t x) {
  int32_t y = (int32_t)(((int64_t)x * LOG2E_Q16) >> Q);
  int32_t n = y >> Q; /* floor: n <= 0 */
  int32_t f = y - (int32_t)((uint32_t)n << Q);
  int32_t p = EXP2_C3;
  p = EXP2_C2 + (int32_t)(((int64_t)p * f) >> Q);
  p = EXP2_C1 + (int32_t)(((int64_t)p * f) >> Q);
  p = Q16_ONE + (int32_t)(((int64_t)p * f) >> Q);
  return -n >= 31 ? 0 : p >> -n;
}

void bio_fo_dense_relu(const q16_t *W, const q16_t *b, const q16_t *x, q16_t *pre, q16_t *h, int n_out, int n_in) {
  for (int o = 0; o < n_out; ++o) {
    int64_t acc = 0;
    const q16_t *w = W + o * n_in;
    for (int i = 0; i < n_in; ++i) acc += (int64_t)w[i] * x[i];
    pre[o] = (q16_t)(acc >> Q) + b[o];
    h[o] = pre[o] > 0 ? pre[o] : 0;
  }
}

void bio_fo_head(const q16_t *B, const q16_t *h, q16_t *logits, int classes, int n_out) {
  for (int c = 0; c < classes; ++c) {
    int64_t acc = 0;
    for (int o = 0; o < n_out; ++o) acc += (int64_t)B[c * n_out + o] * h[o];
    logits[c] = (q16_t)(acc >> Q);
  }
}

static int argmax(const q16_t *v, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

int bio_fo_predict(const q16_t *W, const q16_t *b, const q16_t *B, const q16_t *x, int n_out, int n_in, int classes,
                   q16_t *scratch) {
  q16_t *pre = scratch, *h = scratch + n_out, logits[MAX_CLASSES];
  bio_fo_dense_relu(W, b, x, pre, h, n_out, n_in);
  bio_fo_head(B, h, logits, classes, n_out);
  return argmax(logits, classes);
}

int bio_fo_train_step(q16_t *W, q16_t *b, const q16_t *B, const q16_t *x, int label, q16_t lr, int n_out, int n_in,
                      int classes, q16_t *scratch) {
  q16_t *pre = scratch, *h = scratch + n_out, logits[MAX_CLASSES], err[MAX_CLASSES];
  bio_fo_dense_relu(W, b, x, pre, h, n_out, n_in);
  bio_fo_head(B, h, logits, classes, n_out);
  int predicted = argmax(logits, classes);
  /* softmax - onehot: the local error at the fixed head */
  int64_t sum = 0;
  for (int c = 0; c < classes; ++c) sum += err[c] = q16_exp_nonpos(logits[c] - logits[predicted]);
  for (int c = 0; c < classes; ++c)
    err[c] = (q16_t)(((int64_t)err[c] << Q) / sum) - (c == label ? Q16_ONE : 0);
  /* delta = (B^T err) * ReLU'(pre); W -= lr * delta x^T; b -= lr * delta */
  for (int o = 0; o < n_out; ++o) {
    if (pre[o] <= 0) continue;
    int64_t acc = 0;
    for (int c = 0; c < classes; ++c) acc += (int64_t)B[c * n_out + o] * err[c];
    q16_t delta = (q16_t)RSHIFT_Q(acc);
    q16_t step = (q16_t)RSHIFT_Q((int64_t)lr * delta);
    q16_t *w = W + o * n_in;
    for (int i = 0; i < n_in; ++i) w[i] -= (q16_t)RSHIFT_Q((int64_t)step * x[i]);
    b[o] -= step;
  }
  return predicted;
}
