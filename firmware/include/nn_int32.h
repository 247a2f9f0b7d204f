/* int32-output layer kernels: a layer whose result is its exact integer sum, stored as int32 instead of
   requantized to int8 (ONNX ConvInteger / MatMulInteger as a model's output; edge_sdk/lowering/integer.py).
   Plain C on every ISA.

   Layouts as in nn_i8.h: input int8 HWC (a uint8 tensor stored minus 128, its zero point too, so x - x_zp is
   the uint8 difference), output int32 HWC (channels fastest). Weights int16 w - w_zp (the weight zero point, per
   tensor or per output channel, folded in: [-255, 255] for 8-bit weights), one row of Kh*Kw*(Cin/groups) per
   output channel in (Kh, Kw, Cin/groups) order. A matmul is the 1x1 conv over its rows (h = rows, w = 1). Taps
   outside the image (padding, which ONNX fills with x_zp) add nothing. The sum wraps modulo 2^32 (computed in
   uint32: no signed overflow). */
#ifndef NN_INT32_H
#define NN_INT32_H

#include <stdint.h>

typedef struct {
  int h, w, cin, cout, kh, kw, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, out_h, out_w, groups;
} conv_i32_shape_t;

/* y[oy][ox][co] = sum over the taps (ky, kx) in the image and the channels ci of co's group of
   (x[iy][ix][ci] - x_zp) * w[co][ky][kx][ci], with iy = oy * stride_h + ky * dilation_h - pad_top (ix alike).
   y: out_h x out_w x cout int32 (word aligned). */
void conv2d_i32(const int8_t *x, const int16_t *w, void *y, const conv_i32_shape_t *s, int32_t x_zp);

#endif
