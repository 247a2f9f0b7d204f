/* int32-output layer kernels (nn_int32.h). */
#include "nn_int32.h"

void conv2d_i32(const int8_t *x, const int16_t *w, void *y, const conv_i32_shape_t *s, int32_t x_zp) {
  int32_t *out = (int32_t *)y;
  const int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups, k = s->kh * s->kw * cin_g;
  for (int oy = 0; oy < s->out_h; ++oy) {
    for (int ox = 0; ox < s->out_w; ++ox) {
      for (int co = 0; co < s->cout; ++co) {
        const int8_t *xg = x + (co / cout_g) * cin_g;
        const int16_t *row = w + co * k;
        uint32_t acc = 0;
        for (int ky = 0; ky < s->kh; ++ky) {
          const int iy = oy * s->stride_h + ky * s->dilation_h - s->pad_top;
          if (iy < 0 || iy >= s->h) continue;
          for (int kx = 0; kx < s->kw; ++kx) {
            const int ix = ox * s->stride_w + kx * s->dilation_w - s->pad_left;
            if (ix < 0 || ix >= s->w) continue;
            const int8_t *px = xg + (iy * s->w + ix) * s->cin;
            const int16_t *pw = row + (ky * s->kw + kx) * cin_g;
            for (int ci = 0; ci < cin_g; ++ci) acc += (uint32_t)((px[ci] - x_zp) * pw[ci]);
          }
        }
        *out++ = (int32_t)acc;
      }
    }
  }
}
