"""Kernel selection: each matched pattern (a composite function of the partitioned Relax module) becomes one
or more kernel calls (`Layer`s) with their constant data: weights in the kernels' layouts, biases with the
input zero point folded in, fixed-point requantization parameters (quant.py).

Kernels (firmware/include/nn_i8.h, nn_glue_i8.h, nn_transformer_i8.h): conv2d, depthwise and FC on the dense
kernels (`_xedge`, the SIMD variants; `_ref`, plain C, with --isa base); conv2d and FC whose weights follow an N:M
pattern on the sparse kernels (`_nm_i8_sw`, `_nm_i8_xdec`) where the cost model predicts them faster (sparsity.py); the
glue kernels in plain C. Data movement and storage orders: layout.py; the transformer operators: transformer.py;
int32 outputs (ConvInteger / MatMulInteger): integer.py."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering import quant, sparsity
from edge_sdk.lowering.layout import constant_in_order, in_order, rescale
from edge_sdk.lowering.program import HWC, Data, In, Layer, Out, Scratch, Struct, Tensor, row_major
from edge_sdk.lowering.quant import QParams
from riscv_ext import nm_format


def _const(expr) -> np.ndarray:
    return expr.value.numpy()


def shape_of(expr) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in expr.ty.shape)
    except (TypeError, ValueError, AttributeError):
        raise EdgeSdkError(f"a tensor of the model has no static shape ({expr.ty}); the firmware's buffers are "
                           "sized at compile time: give the model a static input shape") from None


def _row_stride(k: int) -> int:
    return -(-k // 4) * 4


def storage_shift(dtype) -> int:
    """What the firmware subtracts from values of a QDQ type to store them as int8 (uint8: 128)."""
    return 128 if dtype == np.uint8 else 0


def qparams_of(scale, zero_point, what: str) -> QParams:
    s, z = _const(scale), _const(zero_point)
    if s.size != 1 or z.size != 1:
        raise EdgeSdkError(f"{what} is quantized per channel; the kernels take one scale per activation tensor")
    if z.dtype not in (np.int8, np.uint8):
        raise EdgeSdkError(f"{what} is quantized to {z.dtype}; the kernels compute in int8 (int8 or uint8 QDQ)")
    return QParams(float(s.reshape(())), int(z.reshape(())) - storage_shift(z.dtype))


@dataclass
class Match:
    """One matched pattern as the kernel selection sees it."""
    pattern: str                         # e.g. "edge.conv2d"
    exprs: dict                          # annotation name -> matched Relax expression
    tensors: dict                        # the composite function's parameters -> Tensor
    isa: str
    new_tensor: Callable[..., Tensor]    # (shape, qparams, storage order = the default) -> a new tensor
    sparse: bool = True                  # N:M sparse kernels allowed
    function: object = None              # the composite Relax function
    _output: Tensor | None = None

    def input(self, key: str) -> tuple[Tensor, QParams]:
        """The tensor read through the annotated dequantize, and the quantization that dequantize gives it."""
        dq = self.exprs[key]
        return self.tensors[dq.args[0]], qparams_of(dq.args[1], dq.args[2], f"the input of {self.pattern}")

    def is_constant(self, key: str) -> bool:
        return self.exprs[key].args[0] not in self.tensors

    def constant(self, key: str) -> tuple[np.ndarray, QParams]:
        """The int8 values (as stored: uint8 ones minus 128) and quantization of an annotated dequantized constant."""
        dq = self.exprs[key]
        values = _const(dq.args[0])
        return (values.astype(np.int64) - storage_shift(values.dtype)).astype(np.int8), \
            qparams_of(dq.args[1], dq.args[2], f"a constant operand of {self.pattern}")

    def output(self) -> Tensor:
        """The pattern's result tensor (one per match: every call returns the same)."""
        if self._output is None:
            self._output = self._new_output()
        return self._output

    def _new_output(self) -> Tensor:
        root = self.exprs["root"]
        if root.op.name == "relax.astype":       # an int32 sum stored as it is (integer.py)
            return self.new_tensor(shape_of(root), QParams(1.0, 0), dtype="int32")
        if root.attrs.out_dtype not in ("int8", "uint8"):
            raise EdgeSdkError(f"{self.pattern} quantizes its output to {root.attrs.out_dtype}; the kernels "
                               "compute in int8 (int8 or uint8 QDQ)")
        return self.new_tensor(shape_of(root), qparams_of(root.args[1], root.args[2], f"the output of {self.pattern}"))

    def weights(self, key: str, channel_axis: int, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """The integer weights (zero point folded in; an error unless they fit `bits`-bit integers, the kernel's
        weights) and one scale per output channel (`channel_axis`)."""
        dq = self.exprs[key]
        w, s, z = _const(dq.args[0]), _const(dq.args[1]).astype(np.float64), _const(dq.args[2])
        channels = w.shape[channel_axis]
        if s.size > 1 and dq.attrs.axis % w.ndim != channel_axis:
            raise EdgeSdkError(f"the weights of {self.pattern} are quantized along axis {dq.attrs.axis}, not per "
                               f"output channel (axis {channel_axis}); re-quantize them per channel or per tensor")
        shape = [1] * w.ndim
        shape[channel_axis] = -1 if z.size > 1 else 1
        v = w.astype(np.int64) - z.astype(np.int64).reshape(shape)
        if v.min(initial=0) < -(1 << (bits - 1)) or v.max(initial=0) >= 1 << (bits - 1):
            raise EdgeSdkError(f"the weights of {self.pattern} minus their zero point leave int{bits} (range "
                               f"{v.min()}..{v.max()}); quantize weights symmetrically (zero point 0)")
        return v, np.broadcast_to(s.reshape(-1), (channels,)).copy()

    def bias(self, key: str, acc_scales: np.ndarray) -> np.ndarray:
        """The bias in accumulator units (scale s_in * s_w per channel), int64; zeros without one."""
        if key not in self.exprs:
            return np.zeros(len(acc_scales), np.int64)
        dq = self.exprs[key]
        b = _const(dq.args[0]).astype(np.float64) - _const(dq.args[2]).astype(np.float64)
        s = _const(dq.args[1]).astype(np.float64)
        return np.rint(np.broadcast_to(b * s, acc_scales.shape) / acc_scales).astype(np.int64)

    def activation_range(self, out: QParams) -> tuple[int, int]:
        return quant.activation_range(out, lo=0.0) if "relu" in self.exprs else quant.activation_range(out)


def _int32(values: np.ndarray, what: str) -> np.ndarray:
    if values.min(initial=0) < -(1 << 31) or values.max(initial=0) >= 1 << 31:
        raise EdgeSdkError(f"{what} does not fit int32")
    return values.astype(np.int32)


def _dense_kernel(name: str, isa: str) -> str:
    return f"{name}_ref" if isa == "base" else f"{name}_xedge"


def _padded_input(m: Match, x: Tensor, q: QParams, pads: tuple[int, int, int, int]) -> tuple[list[Layer], Tensor, int]:
    """Symmetric padding stays in the conv kernel (it reads the zero point); other padding becomes a pad_i8
    layer into a new tensor, the conv then unpadded."""
    top, left, bottom, right = pads
    if top == left == bottom == right:
        return [], x, top
    n, c, h, w = x.shape
    padded = m.new_tensor((n, c, h + top + bottom, w + left + right), q)
    layer = Layer("", "pad", "glue", "pad_i8", (In(0), Out(), h, w, c, top, left, bottom, right, q.zero_point),
                  [x], padded, about=f"{h}x{w}x{c} padded {top},{left},{bottom},{right}")
    return [layer], padded, 0


def _quant_data(m: Match, rows: np.ndarray, w_scales: np.ndarray, xq: QParams, out: Tensor) -> tuple[dict, Struct]:
    """A weight layer's quant_t and its arrays: the bias with -in_zp * sum(w) folded in, the per-channel
    multipliers."""
    acc_scales = xq.scale * w_scales
    mult, shift = quant.multipliers(acc_scales / out.q.scale)
    bias = _int32(m.bias("bias", acc_scales) - xq.zero_point * rows.astype(np.int64).sum(axis=1),
                  f"the bias of {m.pattern}")
    q = Struct("quant_t", (Data("bias"), Data("mult"), Data("shift"), xq.zero_point, out.q.zero_point,
                           *m.activation_range(out.q)))
    return {"bias": bias, "mult": mult, "shift": shift}, q


def _weight_data(m: Match, rows: np.ndarray, w_scales: np.ndarray, xq: QParams, out: Tensor) -> tuple[dict, Struct, int]:
    """A dense weight layer's constant data and quant_t: the weight rows zero filled to a multiple of 4 bytes
    and the quantization arrays; and the row stride."""
    cout, k = rows.shape
    stride = _row_stride(k)
    packed = np.zeros((cout, stride), np.int8)
    packed[:, :k] = rows
    qdata, q = _quant_data(m, rows, w_scales, xq, out)
    return {"weights": packed, **qdata}, q, stride


def _sparse_layer(m: Match, kind: str, op: str, x: Tensor, out: Tensor, rows: np.ndarray, w_scales, xq,
                  shape: Struct | None, about: str, macs: int) -> tuple[Layer | None, str | None]:
    """The layer on an N:M sparse kernel when its weights follow a pattern and the cost model fitted to measured
    cycles (lowering/sparsity.py) predicts a sparse kernel beats the dense one at this shape on this ISA; else
    None; and the pattern the weights follow ("N:M" or None), so the report names it whichever kernel runs it."""
    if not m.sparse or m.isa == "base":
        return None, None
    pattern = sparsity.detect(rows)
    cout, k = rows.shape
    pixels = conv_out_pixels(shape) if kind == "conv" else 1
    variant = sparsity.choose(kind, pattern, m.isa, pixels, cout, k) if pattern else "dense"
    if variant == "dense":
        return None, pattern.name if pattern else None
    packed = nm_format.pack(rows, pattern)
    qdata, q = _quant_data(m, rows, w_scales, xq, out)
    nm = Struct("nm_weights_t", (Data("values"), Data("offsets"), packed.rows, packed.k, pattern.n, pattern.m,
                                 packed.value_stride, packed.offset_stride))
    data = {"values": packed.values, "offsets": packed.offsets, **qdata}
    suffix = "xdec" if variant == "ext" else "sw"
    if kind == "conv":
        function, args = f"conv2d_nm_i8_{suffix}", (In(0), nm, Out(), shape, q, Scratch())
        scratch = conv2d_scratch_bytes(*rows.shape[::-1])
    else:
        function = f"fc_nm_i8_{suffix}"
        args, scratch = ((In(0), nm, Out(), q, Scratch()), packed.value_stride) if suffix == "sw" else \
            ((In(0), nm, Out(), q), 0)
    return Layer("", op, sparsity.VARIANT_KIND[variant], function, args, [x], out, about=about, data=data,
                 macs=macs, scratch_bytes=scratch, pattern=pattern.name), pattern.name


def _conv2d_layer(op: str, m: Match, x: Tensor, out: Tensor, shape: Struct, rows, w_scales, xq, about, macs) -> Layer:
    """A call of the conv2d kernel (the SIMD one needs scratch: im2col rows and accumulators), or of its N:M
    sparse counterpart."""
    sparse, pattern = _sparse_layer(m, "conv", op, x, out, rows, w_scales, xq, shape, about, macs)
    if sparse:
        return sparse
    data, q, stride = _weight_data(m, rows, w_scales, xq, out)
    scratch = 0 if m.isa == "base" else conv2d_scratch_bytes(*rows.shape[::-1])
    return Layer("", op, "dense", _dense_kernel("conv2d_i8", m.isa),
                 (In(0), Data("weights"), stride, Out(), shape, q) + ((Scratch(),) if scratch else ()), [x], out,
                 about=about, data=data, macs=macs, scratch_bytes=scratch, pattern=pattern)


def conv_out_pixels(shape: Struct) -> int:
    """Output pixels of a conv_shape_t (h, w, cin, cout, kh, kw, stride, pad)."""
    h, w, _, _, kh, kw, stride, pad = shape.fields
    return ((h + 2 * pad - kh) // stride + 1) * ((w + 2 * pad - kw) // stride + 1)


def conv2d_scratch_bytes(k: int, cout: int) -> int:
    """nn_dense_i8.c's conv2d_scratch_bytes (two im2col rows, the decimated rows, accumulators); the generated
    program checks the two agree before it runs."""
    kp = _row_stride(k)
    return 4 * kp + 4 * kp + 8 * cout * 4 + 16


@dataclass(frozen=True)
class Window:
    """A conv's or pool's window on an image: (h, w) strides and dilation, (top, left, bottom, right) padding; a
    1-D one's as the image (1, C, 1, W) sees it (stride s: (s, s), one output row either way)."""
    strides: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int = 1

    @staticmethod
    def of(attrs, one_d: bool) -> "Window":
        strides, padding = [int(v) for v in attrs.strides], [int(v) for v in attrs.padding]
        dilation = [int(v) for v in attrs.dilation]
        groups = int(getattr(attrs, "groups", 1))
        if one_d:
            return Window((strides[0], strides[0]), (0, padding[0], 0, padding[1]), (1, dilation[0]), groups)
        return Window(tuple(strides), tuple(padding), tuple(dilation), groups)


def image_operands(m: Match, x: Tensor, out: Tensor) -> tuple[list[Layer], Tensor, Tensor, bool]:
    """x and out as the images (1, C, H, W) the kernels read and write, stored HWC (x copied there when stored
    otherwise); a 1-D operator's (1, C, W) input stored (W, C) and viewed as (1, C, 1, W), its output a view
    (W, C) of the image the kernel writes. Returns the copies, the two images and whether the operator is 1-D;
    an error unless it takes one image or sequence (batch 1)."""
    one_d = len(x.shape) == 3
    if len(x.shape) not in (3, 4) or x.shape[0] != 1:
        raise EdgeSdkError(f"{m.pattern.removeprefix('edge.')} of input {x.shape}: the kernels take one NCHW image "
                           "or NCW sequence (batch 1)")
    if not one_d:
        pre, x = in_order(m, x, HWC)
        return pre, x, out, False
    pre, x = in_order(m, x, (0, 2, 1))
    image = m.new_tensor((1, x.shape[1], 1, x.shape[2]), x.q, HWC, x.dtype)
    image.base = x
    written = m.new_tensor((1, out.shape[1], 1, out.shape[2]), out.q, HWC, out.dtype)
    out.base, out.perm = written, (0, 2, 1)
    return pre, image, written, True


def conv_operands(m: Match) -> tuple[Window, list[Layer], Tensor, QParams, Tensor]:
    """A conv's window, the layers that put its input in HWC order, that input and the output as images
    (image_operands: a 1-D conv's too), the input's quantization; an error unless the conv takes one image."""
    a = m.exprs["op"].attrs
    x, xq = m.input("input")
    if (a.data_layout, a.kernel_layout) not in (("NCHW", "OIHW"), ("NCW", "OIW")):
        raise EdgeSdkError(f"conv of input {x.shape} ({a.data_layout}, {a.kernel_layout}): the kernels take one "
                           "NCHW image or NCW sequence (batch 1)")
    moved, x, out, one_d = image_operands(m, x, m.output())
    return Window.of(a, one_d), moved, x, xq, out


def ungrouped_undilated(w: np.ndarray, groups: int, dilation: tuple[int, int]) -> np.ndarray:
    """Weights (Cout, Cin / groups, Kh, Kw) of a grouped and dilated conv as those of an ordinary conv with the same
    sums: block-diagonal over the groups and the taps spread `dilation` apart, zeros between (the dense kernels
    then also multiply the zeros: groups x, and (dilated / undilated window) x, more MACs; an N:M sparse kernel,
    where the zeros make a pattern, skips them)."""
    cout, cin_g, kh, kw = w.shape
    dh, dw = dilation
    full = np.zeros((cout, cin_g * groups, (kh - 1) * dh + 1, (kw - 1) * dw + 1), w.dtype)
    per_group = cout // groups
    for g in range(groups):
        full[g * per_group:(g + 1) * per_group, g * cin_g:(g + 1) * cin_g, ::dh, ::dw] = \
            w[g * per_group:(g + 1) * per_group]
    return full


def _conv(m: Match, depthwise: bool) -> list[Layer]:
    a, moved, x, xq, out = conv_operands(m)
    sh, sw = a.strides
    if sh != sw:
        raise EdgeSdkError(f"conv2d with strides ({sh}, {sw}): the kernels take one stride for both axes")
    w, w_scales = m.weights("weight", channel_axis=0)
    w = w[:, :, None, :] if w.ndim == 3 else w               # a 1-D conv's (Cout, Cin, K): (Cout, Cin, 1, K)
    macs_per_output = math.prod(w.shape[1:])                  # the conv's own, without the zeros added below
    w = ungrouped_undilated(w, 1 if depthwise else a.groups, a.dilation)
    cout, _, kh, kw = w.shape
    cin = x.shape[1]
    pre, x_in, pad = _padded_input(m, x, xq, a.padding)
    pre = moved + pre
    h, wd, ho, wo = x_in.shape[2], x_in.shape[3], out.shape[2], out.shape[3]
    shape = Struct("conv_shape_t", (h, wd, cin, cout, kh, kw, sh, pad))
    about = f"{kh}x{kw}/{sh} pad {pad}" + (f" (dilation {a.dilation[0]}x{a.dilation[1]})" if a.dilation != (1, 1)
                                           else "")
    if not depthwise:
        rows = w.transpose(0, 2, 3, 1).reshape(cout, -1)      # (Cout, Kh, Kw, Cin): the im2col row order
        groups = f", {a.groups} groups as one block-diagonal conv" if a.groups > 1 else ""
        return pre + [_conv2d_layer("conv2d", m, x_in, out, shape, rows, w_scales, xq,
                                    f"{about}, {cin} -> {cout} channels{groups}, {h}x{wd} -> {ho}x{wo}",
                                    ho * wo * cout * macs_per_output)]
    data, q, stride = _weight_data(m, w.reshape(cout, kh * kw), w_scales, xq, out)   # a filter row per channel
    return pre + [Layer("", "depthwise_conv2d", "dense", _dense_kernel("depthwise_i8", m.isa),
                        (In(0), Data("weights"), stride, Out(), shape, q), [x_in], out,
                        about=f"{about}, {cin} channels, {h}x{wd} -> {ho}x{wo}",
                        data=data, macs=ho * wo * cout * macs_per_output)]


def conv2d(m: Match) -> list[Layer]:
    return _conv(m, depthwise=False)


def depthwise_conv2d(m: Match) -> list[Layer]:
    return _conv(m, depthwise=True)


def dense(m: Match) -> list[Layer]:
    """y = x W^T + b over the last axis of x: FC for one row, the conv2d kernel (1x1 over M pixels) for M rows."""
    x, xq = m.input("input")
    pre, x = in_order(m, x, row_major(len(x.shape)))
    out = m.output()
    out.perm = row_major(len(out.shape))
    transposed = "transpose" in m.exprs        # Gemm with transB: weights stored (N, K)
    w, w_scales = m.weights("weight", channel_axis=0 if transposed else 1)
    if w.ndim != 2:
        raise EdgeSdkError(f"a matmul by constant weights of shape {w.shape}: the dense kernels take one 2-D weight "
                           f"matrix (a batch of constant matrices is not supported)")
    rows = w if transposed else w.T
    cout, k = rows.shape
    if x.shape[-1] != k:
        raise EdgeSdkError(f"matmul of {x.shape} with weights of {k} inputs")
    m_rows = x.nbytes // k
    if m_rows > 1:
        shape = Struct("conv_shape_t", (m_rows, 1, k, cout, 1, 1, 1, 0))
        return pre + [_conv2d_layer("dense", m, x, out, shape, rows, w_scales, xq, f"{k} -> {cout} x {m_rows} rows",
                                    m_rows * k * cout)]
    sparse, pattern = _sparse_layer(m, "fc", "dense", x, out, rows, w_scales, xq, None, f"{k} -> {cout}", k * cout)
    if sparse:
        return pre + [sparse]
    data, q, stride = _weight_data(m, rows, w_scales, xq, out)
    return pre + [Layer("", "dense", "dense", _dense_kernel("fc_i8", m.isa),
                        (In(0), Data("weights"), stride, Out(), k, cout, q), [x], out, about=f"{k} -> {cout}",
                        data=data, macs=k * cout, pattern=pattern)]


def _operands(m: Match) -> tuple[tuple[Tensor, QParams], tuple, bool]:
    """The operands of an elementwise binary operator: (an activation and its quantization, the other operand (a
    Tensor, or the stored int8 values of a constant) and its quantization, whether the two were swapped to put
    the activation first)."""
    if m.is_constant("lhs"):
        return m.input("rhs"), m.constant("lhs"), True
    return m.input("lhs"), m.constant("rhs") if m.is_constant("rhs") else m.input("rhs"), False


def _second_operand(m: Match, a: Tensor, b, out: Tensor) -> tuple[list[Layer], object, int, dict, list]:
    """The operands of an elementwise layer, both of out's shape in one storage order (that of an activation of
    out's shape, a's first): an activation of another shape broadcast by a copy (layout.in_order, numpy's rules),
    one in another order copied; a constant as its shortest repeating period in that order. Returns the layers
    that put them there, the kernel argument of the second, the period (= the element count for an
    activation), the constant data and the layer's inputs (a first)."""
    full = [t for t in (a, b) if isinstance(t, Tensor) and t.shape == out.shape]
    if full:
        out.perm = full[0].order
    pre, a = in_order(m, a, out.order, out.shape)
    if isinstance(b, np.ndarray):
        values, period = constant_in_order(b, out)
        return pre, Data("operand"), period, {"operand": values}, [a]
    more, b = in_order(m, b, out.order, out.shape)
    return pre + more, In(1), out.nbytes, {}, [a, b]


def add(m: Match) -> list[Layer]:
    """Add / Sub of two activations (add_i8) or of an activation and a constant (add_bcast_i8): each operand
    scaled by its own multiplier, one rounding (add_quant_t); Sub negates the right-hand operand's multiplier."""
    (a, aq), (b, bq), swapped = _operands(m)
    out = m.output()
    op = "subtract" if m.exprs["op"].op.name == "relax.subtract" else "add"
    sign_lhs, sign_rhs = 1, (-1 if op == "subtract" else 1)
    ma, mb = aq.scale / out.q.scale, bq.scale / out.q.scale
    _, shift = quant.multiplier(max(ma, mb))
    sign_a, sign_b = (sign_rhs, sign_lhs) if swapped else (sign_lhs, sign_rhs)
    mult_a, mult_b = int(round(sign_a * ma * 2.0 ** shift)), int(round(sign_b * mb * 2.0 ** shift))
    q = Struct("add_quant_t", (aq.zero_point, bq.zero_point, mult_a, mult_b, shift, out.q.zero_point,
                               *m.activation_range(out.q)))
    pre, operand, period, data, inputs = _second_operand(m, a, b, out)
    if isinstance(operand, In):
        return pre + [Layer("", op, "glue", "add_i8", (In(0), In(1), Out(), out.nbytes, q), inputs, out,
                            about=f"{out.nbytes} elements")]
    return pre + [Layer("", op, "glue", "add_bcast_i8", (In(0), operand, Out(), out.nbytes, period, q), inputs, out,
                        about=f"{out.nbytes} elements, a constant of {period}", data=data)]


def _periodic_layer(m: Match, op: str, function: str, a: Tensor, b, out: Tensor, *params) -> list[Layer]:
    """function(a, b, out, n, period, *params): an elementwise kernel whose second operand repeats every `period`
    elements (_second_operand)."""
    pre, operand, period, data, inputs = _second_operand(m, a, b, out)
    return pre + [Layer("", op, "glue", function, (In(0), operand, Out(), out.nbytes, period, *params), inputs, out,
                        about=f"{out.nbytes} elements" + ("" if period == out.nbytes else f", a constant of {period}"),
                        data=data)]


def multiply(m: Match) -> list[Layer]:
    """Mul of two activations or of an activation and a constant tensor (mul_i8): the exact product of the two
    zero-point-corrected int8 values, requantized once with s_a * s_b / s_out (a scalar constant factor is a
    lookup table instead: transformer.elementwise)."""
    (a, aq), (b, bq), _ = _operands(m)
    out = m.output()
    mult, shift = quant.multiplier(aq.scale * bq.scale / out.q.scale)
    q = Struct("mul_quant_t", (aq.zero_point, bq.zero_point, mult, shift, out.q.zero_point, *m.activation_range(out.q)))
    return _periodic_layer(m, "multiply", "mul_i8", a, b, out, q)


def divide(m: Match) -> list[Layer]:
    """Div of an activation by an activation or a constant tensor (div_i8; a scalar constant is a lookup table
    instead): the zero-point-corrected int8 values A and B, A * mult / (B 2^shift) rounded half up exactly with
    one 64-bit division (mult 2^-shift = s_a / (s_b s_out), as every requantization; transformer.py)."""
    if m.is_constant("lhs"):
        raise EdgeSdkError(f"a Div of a constant tensor of shape {m.constant('lhs')[0].shape} by an activation: the "
                           "kernels divide an activation by an activation or a constant (a scalar constant divided "
                           "by an activation is a lookup table)")
    (a, aq), (b, bq), _ = _operands(m)
    out = m.output()
    mult, shift = quant.multiplier(aq.scale / (bq.scale * out.q.scale))
    q = Struct("channel_quant_t", (-aq.zero_point, mult, shift, out.q.zero_point, *m.activation_range(out.q)))
    return _periodic_layer(m, "divide", "div_i8", a, b, out, bq.zero_point, q)


def _pool(m: Match) -> tuple[list[Layer], Tensor, QParams, Tensor, Struct]:
    """A max or average pool's copies into HWC order, input, its quantization, output (as images: a 1-D pool's
    too, image_operands) and pool_shape_t."""
    x, xq = m.input("input")
    attrs = m.exprs["op"].attrs
    pre, x, out, one_d = image_operands(m, x, m.output())
    what = m.exprs["op"].op.name.removeprefix("relax.nn.")
    if attrs.layout not in ("NCHW", "NCW"):
        raise EdgeSdkError(f"{what} of input {x.shape} ({attrs.layout}): the kernels take one NCHW image or NCW "
                           "sequence (batch 1)")
    window = Window.of(attrs, one_d)
    if window.dilation != (1, 1):
        raise EdgeSdkError(f"{what} with dilation {window.dilation} is not supported")
    kh, kw = (1, int(attrs.pool_size[0])) if one_d else (int(k) for k in attrs.pool_size)
    (sh, sw), (top, left) = window.strides, window.padding[:2]
    _, c, h, w = x.shape
    return pre, x, xq, out, Struct("pool_shape_t", (h, w, c, kh, kw, sh, sw, top, left, out.shape[2], out.shape[3]))


def max_pool2d(m: Match) -> list[Layer]:
    pre, x, xq, out, shape = _pool(m)
    h, w, c, kh, kw, sh = shape.fields[:6]
    return pre + [Layer("", "max_pool2d", "glue", "maxpool2d_i8",
                        (In(0), Out(), shape, rescale(xq, out, m.activation_range(out.q))), [x], out,
                        about=f"{kh}x{kw}/{sh}, {c} channels, {h}x{w} -> {out.shape[2]}x{out.shape[3]}")]


def _avg_pool(x: Tensor, xq: QParams, out: Tensor, shape: Struct, per_count: bool, act, about: str) -> Layer:
    kh, kw = shape.fields[3:5]
    counts = np.arange(1, kh * kw + 1) if per_count else np.array([kh * kw])
    mult, shift = quant.multipliers(xq.scale / (out.q.scale * counts))
    q = Struct("avgpool_quant_t", (Data("mult"), Data("shift"), xq.zero_point, out.q.zero_point, *act, int(per_count)))
    return Layer("", "avg_pool2d", "glue", "avgpool2d_i8", (In(0), Out(), shape, q), [x], out, about=about,
                 data={"mult": mult, "shift": shift})


def avg_pool2d(m: Match) -> list[Layer]:
    attrs = m.exprs["op"].attrs
    if attrs.ceil_mode and attrs.count_include_pad:
        raise EdgeSdkError(f"{m.exprs['op'].op.name.removeprefix('relax.nn.')} with ceil_mode and count_include_pad "
                           "is not supported")
    pre, x, xq, out, shape = _pool(m)
    partial_windows = any(int(p) for p in attrs.padding) or bool(attrs.ceil_mode)
    per_count = partial_windows and not attrs.count_include_pad
    h, w, c, kh, kw, sh = shape.fields[:6]
    return pre + [_avg_pool(x, xq, out, shape, per_count, m.activation_range(out.q),
                            f"{kh}x{kw}/{sh}, {c} channels, {h}x{w} -> {shape.fields[9]}x{shape.fields[10]}")]


def _reduction(m: Match) -> tuple[list[Layer], Tensor, QParams, Tensor, list[int], Struct]:
    """ReduceMean / ReduceMax as a pool whose window is the reduced axes, their elements one contiguous run in
    storage and every other axis outside them (the pool's channels, innermost); an input in another order is first
    copied into one. Returns those copies, the input, its quantization, the output, the axes and the pool's shape."""
    x, xq = m.input("input")
    out = m.output()
    op = m.exprs["op"]
    rank = len(x.shape)
    axes = sorted({int(a) % rank for a in op.attrs.axis}) if op.attrs.axis is not None else list(range(rank))
    kept = [a for a in x.order if a not in axes]
    reduced_first = [a in axes for a in x.order if x.shape[a] > 1]
    pre = []
    if reduced_first != sorted(reduced_first, reverse=True):   # not: the reduced run, then the kept axes
        pre, x = in_order(m, x, tuple(axes + kept))
    if op.attrs.keepdims:
        out.perm = tuple(axes + kept)
    else:
        out.perm = tuple(sorted(kept).index(a) for a in kept)
    window = math.prod(x.shape[a] for a in axes)
    return pre, x, xq, out, axes, Struct("pool_shape_t", (window, 1, out.nbytes, window, 1, 1, 1, 0, 0, 1, 1))


def mean(m: Match) -> list[Layer]:
    """ReduceMean / GlobalAveragePool: an average pool over the reduced axes (_reduction)."""
    pre, x, xq, out, axes, shape = _reduction(m)
    window, channels = shape.fields[0], shape.fields[2]
    return pre + [_avg_pool(x, xq, out, shape, False, m.activation_range(out.q),
                            f"mean of {window} over axes {axes} of {x.shape}, {channels} channels")]


def reduce_max(m: Match) -> list[Layer]:
    """ReduceMax: a max pool over the reduced axes (_reduction)."""
    pre, x, xq, out, axes, shape = _reduction(m)
    window, channels = shape.fields[0], shape.fields[2]
    return pre + [Layer("", "reduce_max", "glue", "maxpool2d_i8",
                        (In(0), Out(), shape, rescale(xq, out, m.activation_range(out.q))), [x], out,
                        about=f"max of {window} over axes {axes} of {x.shape}, {channels} channels")]


def requantize(m: Match) -> list[Layer]:
    """A change of scale or zero point, ReLU (QuantizeLinear(Relu(DequantizeLinear)))."""
    x, xq = m.input("input")
    out = m.output()
    out.perm = x.order
    return [Layer("", "requantize", "glue", "requantize_i8",
                  (In(0), Out(), out.nbytes, rescale(xq, out, m.activation_range(out.q))), [x], out,
                  about=f"{out.nbytes} elements")]
