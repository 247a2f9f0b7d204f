/* Bio-FO forward-only training in Q16.16 fixed point (the core has no FPU): one dense ReLU layer at a time,
   each with a fixed random classifier head B (classes x width), trained with a local cross-entropy error and
   plain SGD; no error crosses layers. edge_sdk/learning/fixed_point.py is the bit-exact Python model.
   Layouts: W row-major [n_out][n_in], B row-major [classes][n_out]; activations are vectors of q16_t. */
#ifndef BIO_FO_Q16_H
#define BIO_FO_Q16_H

#include <stdint.h>

typedef int32_t q16_t;
#define Q16_ONE 65536

/* exp(x) for x <= 0: 2^(x log2 e), the fraction by a cubic polynomial, the integer part by a shift. */
q16_t q16_exp_nonpos(q16_t x);

/* pre = W x + b; h = ReLU(pre). */
void bio_fo_dense_relu(const q16_t *W, const q16_t *b, const q16_t *x, q16_t *pre, q16_t *h, int n_out, int n_in);

/* logits = B h. */
void bio_fo_head(const q16_t *B, const q16_t *h, q16_t *logits, int classes, int n_out);

/* One training step of one layer on one sample (label in 0..classes-1); returns the predicted class. */
int bio_fo_train_step(q16_t *W, q16_t *b, const q16_t *B, const q16_t *x, int label, q16_t lr, int n_out, int n_in,
                      int classes, q16_t *scratch);

/* Predicted class of the layer's head for input x. */
int bio_fo_predict(const q16_t *W, const q16_t *b, const q16_t *B, const q16_t *x, int n_out, int n_in, int classes,
                   q16_t *scratch);

#endif
