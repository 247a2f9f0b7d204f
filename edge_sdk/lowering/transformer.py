"""The transformer operators in integer arithmetic (firmware/kernels/nn_transformer_i8.c; the core has no FPU
and nothing here or there calls soft-float): the float islands quantize_static leaves between DequantizeLinear
and QuantizeLinear (GELU's Div -> Erf, Softmax, LayerNormalization) and the matmul of two activations. The
bounds below also cover the division of activations (layers.divide, `div_i8`), the elementwise operators
broadcasting an activation (layers.add / multiply / divide on layout.in_order's broadcast) and concat
(layout.concat, `concat_i8`), which are lowered next to their neighbours.

How each one rounds, against onnxruntime's float32 island (the bounds the README states; "steps" are steps of the
layer's output quantization, delta is what the firmware's value before its one final rounding may differ from the
exact real value):
- elementwise islands (`lut_i8`): the island's Relax function evaluated in float32 with numpy on each of the 256
  int8 inputs and quantized as QuantizeLinear does (round half to even): exactly onnxruntime's outputs, but where
  our float32 erf / tanh / exp and onnxruntime's differ by an ulp across a rounding boundary (one step).
- matmul of activations (`matmul_act_i8`): the exact int32 sum of (a - za)(b - zb), one requantization as every
  other layer (quant.py): one step at most, only near a .5 boundary.
- softmax (`softmax_i8`): exp(s_in (x - max)) from a 256-entry table (2^30 = 1, rounded), the row sum in 64 bits,
  one 64-bit reciprocal per row; delta <= (2 n + 4) 2^-31 / s_out for rows of n (e.g. 4e-6 steps for n = 16,
  s_out = 1/255): one step at most, only within delta (plus onnxruntime's float32 error) of a .5 boundary.
- layer-norm (`layernorm_i8`): the row's sum and sum of squares exact, V = d sum(x^2) - sum(x)^2 + d^2 eps / s_in^2
  in 64-bit fixed point, its inverse square root from an exact integer square root and one 64-bit division per
  row, (d x - sum(x)) / sqrt(V) in 2^-P, gamma and beta per channel in fixed point: delta computed per layer
  (`layer_norm_params`, in the layer's `about`), below 2^-20 steps for the ViT's layers; a layer whose scales
  would make it exceed 2^-8 steps is rejected rather than computed less exactly.
- division (`div_i8`): with A, B the zero-point-corrected int8 values and r = s_a / (s_b s_out) as mult 2^-shift
  (31 bits, so |mult 2^-shift - r| <= r 2^-31), the kernel computes floor(A mult / B) exactly (|A mult| < 2^39,
  |B| <= 255: long division in 16-bit digits on the core's 32-bit divider) and rounds it half up at bit `shift`,
  which is exactly A mult 2^-shift / B rounded half up (floor(floor(z) / 2^k) = floor(z / 2^k)): delta <=
  |y| 2^-31 <= 2^-24 steps for an output y that does not saturate (|y| <= 128 steps
  from the zero point): one step at most, only near a .5 boundary. B = 0 gives the saturated value onnxruntime's
  +-inf gives, and its NaN (0 / 0) the type's minimum, as QuantizeLinear does.
- add / sub / mul (/ div) broadcasting an activation: the smaller operand copied to the output's shape first
  (a strided copy reading its broadcast axes with stride 0: exact), then the kernels above: their bounds.
- concat (`concat_i8`): each activation requantized to the output's scale with one rounding (requantize_i8: one
  step at most, only near a .5 boundary; none when the scales are equal), a constant part (a class token)
  quantized at compile time as onnxruntime does (QuantizeLinear(DequantizeLinear(c)) in float32: exact).
- a layer-norm written out (ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta, as
  PyTorch exports a hand-written one): the QDQ model quantizes every intermediate, and onnxruntime rounds them, so
  each operator is its own layer with its own bound above (the means: average pooling's one rounding; Pow, Add
  eps and Sqrt: tables; Div: `div_i8`); fusing them into `layernorm_i8` would come nearer the float model but not
  within one step of onnxruntime's. An intermediate one step off (near its boundary) can move the output by
  more than a step; none did in the tests.
- not lowered: Pow of two activations (x^y has no exact integer form short of a 65,536-entry table per layer;
  a constant exponent is a table) and a division of a constant tensor by an activation: errors that name them.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from tvm import relax
from tvm.ir import Constant

from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering import evaluate, quant
from edge_sdk.lowering.layers import Match, storage_shift
from edge_sdk.lowering.layout import in_order
from edge_sdk.lowering.program import Data, In, Layer, Out, Scratch, Struct, Tensor, row_major

EXP_ONE_BITS = 30            # softmax: exp(0) = 2^30 in the table
LAYER_NORM_MAX_DELTA = 2.0 ** -8
LAYER_NORM_MAX_D = 16384     # sum(x^2) of a row in int32


def _tables(m: Match, codes: np.ndarray, shape: tuple[int, ...], what: str) -> tuple[np.ndarray, int | None]:
    """The island's function of each of the 256 codes: one table (256,) when its constants are scalars; else (a
    PReLU's slopes, the only constant tensor patterns._one_input_island lets in) evaluated on the whole tensor for
    each code, one table per index along the one axis the result varies with, (channels, 256), and that axis; an
    error if it varies with more."""
    nan_error = (f"the elementwise operators {what} give NaN for some of their int8 inputs (e.g. the log or square "
                 "root of a negative value), which QuantizeLinear has no integer for")
    if all(evaluate.constant(a).size == 1 for block in m.function.body.blocks for b in block.bindings
           if isinstance(b.value, relax.Call) for a in b.value.args if isinstance(a, Constant)):
        return evaluate.function(m.function, [codes], nan_error=nan_error), None
    y = np.stack([evaluate.function(m.function, [np.full(shape, c, codes.dtype)], nan_error=nan_error)
                  for c in codes])
    varying = [a for a in range(len(shape)) if not (y == y.take([0], axis=a + 1)).all()]
    if len(varying) > 1:
        raise EdgeSdkError(f"the elementwise operators {what} on {shape} have constants that vary along axes "
                           f"{varying}: a lookup table per element of one axis is the most the kernels take")
    if not varying:                 # non-scalar constants that do not change the result (e.g. all slopes equal)
        return y.reshape(256, -1)[:, 0], None
    axis = varying[0]
    return np.moveaxis(y, axis + 1, 1).reshape(256, shape[axis], -1)[:, :, 0].T, axis


def elementwise(m: Match) -> list[Layer]:
    """A float elementwise island on one int8 tensor (patterns._elementwise): a 256-entry table, or one per
    channel (lut_channels_i8) when its constants vary along one axis."""
    x, xq = m.input("input")
    out = m.output()
    in_type = evaluate.constant(m.exprs["input"].args[2]).dtype
    codes = (np.arange(-128, 128) + storage_shift(in_type)).astype(in_type)
    ops = [b.value.op.name.removeprefix("relax.") for block in m.function.body.blocks for b in block.bindings
           if b.value.op.name in evaluate.ELEMENTWISE]
    y, axis = _tables(m, codes, out.shape, " -> ".join(ops))
    table = (y.astype(np.int64) - storage_shift(y.dtype)).astype(np.int8)
    if axis is None:
        out.perm = x.order
        return [Layer("", "lut", "glue", "lut_i8", (In(0), Out(), out.nbytes, Data("table")), [x], out,
                      about=f"{' -> '.join(ops)}, {out.nbytes} elements", data={"table": table})]
    pre, x = in_order(m, x, tuple(a for a in x.order if a != axis) + (axis,))
    out.perm = x.order
    channels = out.shape[axis]
    return pre + [Layer("", "lut", "glue", "lut_channels_i8",
                        (In(0), Out(), out.nbytes // channels, channels, Data("tables")), [x], out,
                        about=f"{' -> '.join(ops)}, {out.nbytes} elements, a table per {channels} along axis {axis}",
                        data={"tables": table})]


def fuse_lookup_tables(layers: list[Layer], output: Tensor) -> list[Layer]:
    """Consecutive lookup tables as one: a `lut_i8` layer whose input is the output of another, read by no other
    layer and not the model's output, becomes that layer's table composed with its own (exact: each is a function
    of one int8 value; after a table per channel, `lut_channels_i8`, each of its tables composed). quantize_static
    quantizes between the operators of an island it knows (GELU's Div, Erf, Add: three tables, one pass here)."""
    readers: dict[int, int] = {}
    for layer in layers:
        for t in layer.inputs:
            readers[id(t.buffer)] = readers.get(id(t.buffer), 0) + 1
    fused: list[Layer] = []
    for layer in layers:
        first = fused[-1] if fused else None
        if (layer.function == "lut_i8" and first is not None and first.function in ("lut_i8", "lut_channels_i8")
                and layer.inputs[0] is first.output and readers.get(id(first.output), 0) == 1
                and first.output is not output.buffer):
            (key, tables), = first.data.items()
            first_ops, first_rest = first.about.split(", ", 1)
            fused[-1] = replace(first, output=layer.output,
                                data={key: layer.data["table"][tables.astype(np.int64) + 128]},
                                about=f"{first_ops} | {layer.about.split(', ', 1)[0]}, {first_rest}")
        else:
            fused.append(layer)
    return fused


def matmul_scratch_bytes(k: int, n: int) -> int:
    """nn_transformer_i8.c's matmul_act_scratch_bytes: B transposed (n rows of k rounded up to 4), two rows of A,
    their int32 sums and B's column sums. The generated program checks the two agree."""
    kp = -(-k // 4) * 4
    return n * kp + 2 * kp + 2 * n * 4 + n * 4


def matmul(m: Match) -> list[Layer]:
    """MatMul of two activations (Q K^T, P V): per batch, B packed transposed and A two rows at a time from any
    storage order (the strides of the two last axes), the dense int8 matmul, the zero points corrected with row and
    column sums, one requantization."""
    (a, aq), (b, bq) = m.input("lhs"), m.input("rhs")
    out = m.output()
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise EdgeSdkError(f"matmul of {a.shape} and {b.shape}: the kernels take operands of at least 2 axes")
    out.perm = row_major(len(out.shape))
    rows, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = out.shape[:-2]

    def batch_offsets(t) -> np.ndarray:
        dims, strides = t.shape[:-2], t.strides[:-2]
        lead = len(batch) - len(dims)
        return np.array([sum(i * s for i, d, s in zip(index[lead:], dims, strides) if d > 1)
                         for index in np.ndindex(*batch)] or [0], np.int32)

    mult, shift = quant.multiplier(aq.scale * bq.scale / out.q.scale)
    batches = math.prod(batch)
    shape = Struct("matmul_act_t", (batches, rows, n, k, a.strides[-2], a.strides[-1], b.strides[-2], b.strides[-1],
                                    Data("a_offset"), Data("b_offset"), aq.zero_point, bq.zero_point, mult, shift,
                                    out.q.zero_point, *m.activation_range(out.q)))
    return [Layer("", "matmul", "dense", "matmul_act_i8", (In(0), In(1), Out(), shape, Scratch()), [a, b], out,
                  about=f"{batches} x ({rows}x{k} @ {k}x{n})", macs=batches * rows * k * n,
                  data={"a_offset": batch_offsets(a), "b_offset": batch_offsets(b)},
                  scratch_bytes=matmul_scratch_bytes(k, n))]


def softmax_delta(n: int, out_scale: float) -> float:
    """The softmax kernel's bound on |value before rounding - exact value|, in output steps, for rows of n."""
    return (2 * n + 4) * 2.0 ** -31 / out_scale


def softmax(m: Match) -> list[Layer]:
    """Softmax along one axis, in any storage order (rows of `len` elements `inner` bytes apart)."""
    x, xq = m.input("input")
    out = m.output()
    out.perm = x.order
    axis = int(m.exprs["op"].attrs.axis) % len(x.shape)
    if out.q.scale > 1:
        raise EdgeSdkError(f"softmax output quantized with scale {out.q.scale}: probabilities need a scale of at most 1")
    position = x.order.index(axis)
    outer = math.prod(x.shape[a] for a in x.order[:position])
    inner = math.prod(x.shape[a] for a in x.order[position + 1:])
    length = x.shape[axis]
    table = np.rint(np.exp(-xq.scale * np.arange(256, dtype=np.float64)) * 2.0 ** EXP_ONE_BITS).astype(np.uint32)
    mult, shift = quant.multiplier(1.0 / out.q.scale)
    shape = Struct("softmax_t", (outer, length, inner, Data("exp"), mult, shift, out.q.zero_point,
                                 *m.activation_range(out.q)))
    return [Layer("", "softmax", "glue", "softmax_i8", (In(0), Out(), shape), [x], out,
                  about=f"{outer * inner} rows of {length}, delta {softmax_delta(length, out.q.scale):.1e} steps",
                  data={"exp": table})]


def _ceil_log2(v: float) -> int:
    return math.ceil(math.log2(v))


def layer_norm_params(d: int, eps: float, in_scale: float, g: np.ndarray, b: np.ndarray) -> dict:
    """The fixed-point parameters of layernorm_i8 for rows of d, and their delta (output steps); g and b are
    gamma and beta divided by the output scale."""
    extra = d * d * eps / in_scale ** 2                      # d^2 eps / s_in^2 in V's units
    v_max = d * d * 127.5 ** 2                               # the largest d sum(x^2) - sum(x)^2 of int8 values
    e = min(30, 62 - _ceil_log2(v_max + extra + 1)) // 2 * 2
    if e < 0:
        raise EdgeSdkError(f"layer-norm epsilon {eps} is too large for its input scale {in_scale} "
                           "(d^2 eps / s^2 does not fit 64 bits)")
    p = 30 - _ceil_log2(math.sqrt(d)) if d > 1 else 30     # |normalized| < sqrt(d): below 2^30 in 2^-P
    g_max = max(float(np.abs(g).max(initial=0.0)), 2.0 ** -20)
    b_limit = math.sqrt(d) * g_max + 256                     # beyond it every output saturates anyway
    total = min(p + 30 - _ceil_log2(g_max), 62 - _ceil_log2(2 * math.sqrt(d) * g_max + 256))
    pg = total - p
    if pg < 0:
        raise EdgeSdkError(f"layer-norm gamma / output scale up to {g_max:.3g}: too large for the fixed-point kernel")
    delta = (g_max * (2.0 ** -(p + 1) + math.sqrt(d) * 2.0 ** -29 + math.sqrt(d) * 2.0 ** -(e + 1))
             + math.sqrt(d) * 2.0 ** -(pg + 1) + 2.0 ** -(total + 1))
    return {"e_half": e // 2, "eps": int(round(extra * 2.0 ** e)), "p": p, "total_shift": total, "delta": delta,
            "gamma": np.rint(g * 2.0 ** pg).astype(np.int32),
            "beta": np.rint(np.clip(b, -b_limit, b_limit) * 2.0 ** total).astype(np.int64)}


def layer_norm(m: Match) -> list[Layer]:
    """LayerNormalization over the trailing axes (stored innermost, in logical order: else copied so)."""
    x, xq = m.input("input")
    out = m.output()
    attrs = m.exprs["op"].attrs
    rank = len(x.shape)
    axes = sorted(int(a) % rank for a in attrs.axes)
    if axes != list(range(rank - len(axes), rank)):
        raise EdgeSdkError(f"layer-norm over axes {axes} of {x.shape}: the kernel normalizes trailing axes")
    kept = [a for a in x.order if a not in axes]
    pre, x = in_order(m, x, tuple(kept + axes))
    out.perm = x.order
    d = math.prod(x.shape[a] for a in axes)
    if d > LAYER_NORM_MAX_D:
        raise EdgeSdkError(f"layer-norm over {d} elements: the kernel takes rows of at most {LAYER_NORM_MAX_D}")
    ones = np.ones(d, np.float64)
    gamma = evaluate.constant(m.exprs["gamma"]).astype(np.float64).reshape(-1) * ones if attrs.scale else ones
    beta = evaluate.constant(m.exprs["beta"]).astype(np.float64).reshape(-1) * ones if attrs.center else 0 * ones
    lp = layer_norm_params(d, float(attrs.epsilon), xq.scale, gamma / out.q.scale, beta / out.q.scale)
    if lp["delta"] > LAYER_NORM_MAX_DELTA:
        raise EdgeSdkError(f"layer-norm of {x.shape}: its fixed point would be {lp['delta']:.2g} steps off (more than "
                           f"{LAYER_NORM_MAX_DELTA}); check the model's quantization scales")
    shape = Struct("layernorm_t", (x.nbytes // d, d, xq.zero_point, lp["e_half"], lp["p"], lp["total_shift"],
                                   out.q.zero_point, *m.activation_range(out.q), lp["eps"], Data("gamma"),
                                   Data("beta")))
    return pre + [Layer("", "layer_norm", "glue", "layernorm_i8", (In(0), Out(), shape), [x], out,
                        about=f"{x.nbytes // d} rows of {d}, delta {lp['delta']:.1e} steps",
                        data={"gamma": lp["gamma"], "beta": lp["beta"]})]
