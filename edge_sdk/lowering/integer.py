"""int32 outputs: ConvInteger and MatMulInteger as a model's output, their exact integer sum stored as int32.

The frontend writes them as Cast<int32>(Conv / MatMul(DequantizeLinear(x, 1, zx), DequantizeLinear(w, 1, zw)))
(frontend/qlinear.py); the patterns edge.conv_integer and edge.matmul_integer match that in Relax and lower it
to one call of conv2d_i32 (firmware/include/nn_int32.h, plain C): sum (x - zx)(w - zw) over the reduction in 32
bits, int32 output (4 bytes an element in the memory plan), returned to the host as it is. Its weights are int16
w - zw (the zero point per tensor or per output channel folded in), so asymmetric 8-bit weights (w - zw up to
+-255) stay exact with no split; padding, any group count, dilation and strides are the kernel's. A matmul is
the 1x1 conv over its rows. The operands must be dequantized with scale 1 (the integers themselves): a Cast to
int32 of another float result is not an integer sum, and is an error."""
from __future__ import annotations

import numpy as np

from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering.layers import Match, conv_operands, shape_of
from edge_sdk.lowering.layout import in_order
from edge_sdk.lowering.program import Data, In, Layer, Out, Struct, Tensor, row_major

WEIGHT_BITS = 16       # the kernel's int16 weights: w - zw of any 8-bit weights


def _weights(m: Match, x_scale: float, channel_axis: int, op: str) -> np.ndarray:
    """The integer weights w - zw as int16, after checking both operands are dequantized with scale 1."""
    w, scales = m.weights("weight", channel_axis, bits=WEIGHT_BITS)
    if x_scale != 1.0 or not np.all(scales == 1.0):
        raise EdgeSdkError(f"an int32 Cast of a {op} whose operands are dequantized with scales "
                           f"{x_scale:g} and {np.unique(scales).tolist()}: the compiler computes an int32 output only "
                           "as an exact integer sum (ConvInteger / MatMulInteger: scale 1)")
    return w.astype(np.int16)


def _layer(op: str, x: Tensor, x_zp: int, rows: np.ndarray, out: Tensor, shape: tuple, about: str, macs: int) -> Layer:
    return Layer("", op, "dense", "conv2d_i32", (In(0), Data("weights"), Out(), Struct("conv_i32_shape_t", shape),
                                                  x_zp), [x], out, about=about, data={"weights": rows}, macs=macs)


def conv(m: Match) -> list[Layer]:
    """ConvInteger: the conv's taps (padding, groups, dilation, strides) on the HWC input, int32 HWC output."""
    a, pre, x, xq, out = conv_operands(m)
    w = _weights(m, xq.scale, channel_axis=0, op="Conv")
    cout, _, kh, kw = w.shape
    _, cin, h, wd = x.shape
    ho, wo = out.shape[2], out.shape[3]
    rows = w.transpose(0, 2, 3, 1).reshape(cout, -1)      # (Cout, Kh, Kw, Cin / groups)
    (sh, sw), (dh, dw), (top, left) = a.strides, a.dilation, a.padding[:2]
    shape = (h, wd, cin, cout, kh, kw, sh, sw, dh, dw, top, left, ho, wo, a.groups)
    extra = (f", {a.groups} groups" if a.groups > 1 else "") + (f", dilation {dh}x{dw}" if dh * dw > 1 else "")
    return pre + [_layer("conv_integer", x, xq.zero_point, rows, out, shape,
                         f"{kh}x{kw}/{sh if sh == sw else f'{sh}x{sw}'} pad {','.join(map(str, a.padding))}"
                         f"{extra}, {cin} -> {cout} channels, {h}x{wd} -> {ho}x{wo}, int32 out",
                         ho * wo * cout * rows.shape[1])]


def matmul(m: Match) -> list[Layer]:
    """MatMulInteger by constant weights (K, N): every row of the input (its last axis K) times them."""
    x, xq = m.input("input")
    pre, x = in_order(m, x, row_major(len(x.shape)))
    out = m.output()
    out.perm = row_major(len(out.shape))
    if len(shape_of(m.exprs["weight"])) != 2:
        raise EdgeSdkError(f"a matmul by constant weights of shape {shape_of(m.exprs['weight'])}: the kernels take "
                           "one 2-D weight matrix (a batch of constant matrices is not supported)")
    w = _weights(m, xq.scale, channel_axis=1, op="MatMul")
    k, cout = w.shape
    rows = x.nbytes // k
    shape = (rows, 1, k, cout, 1, 1, 1, 1, 1, 1, 0, 0, rows, 1, 1)
    return pre + [_layer("matmul_integer", x, xq.zero_point, np.ascontiguousarray(w.T), out, shape,
                         f"{k} -> {cout} x {rows} rows, int32 out", rows * k * cout)]
