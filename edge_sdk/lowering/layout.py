"""Storage orders and the data-movement operators (reshape, squeeze / unsqueeze, transpose, gather with a
constant index, slice, expand, concat).

Every tensor is dense in some order of its logical axes (program.Tensor.order). A data-movement operator first
tries to be a view — the same bytes read in another order or from an offset, no layer at all: a transpose always
is one, a reshape is one when every group of axes it merges or splits lies contiguous and in order in storage
(e.g. the flatten(2) of an HWC image), a gather or slice when the elements it keeps are dense. Otherwise one copy
layer moves the bytes (`transpose_i8` when the move is a 2-D transpose, else `copy_strided_i8`; an expand, the
broadcast of an elementwise operand, reads its broadcast axes with stride 0). A kernel that needs its input in a
certain order (conv: HWC; layer-norm, dense: the last axis innermost) or shape (an elementwise kernel: both
operands of the output's shape) asks `in_order`, which inserts that copy only when the order or shape differs. A
change of quantization between input and output (or a ReLU) adds a requantize layer. A concat writes each input
into its part of the output (`concat_i8`, requantizing)."""
from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering import evaluate, quant
from edge_sdk.lowering.program import Data, In, Layer, Out, Struct, Tensor, row_major
from edge_sdk.lowering.quant import QParams

if TYPE_CHECKING:
    from edge_sdk.lowering.layers import Match

COPY_MAX_RANK = 6      # nn_transformer_i8.h: copy_shape_t


def rescale(in_q: QParams, out: Tensor, act: tuple[int, int]) -> Struct:
    """channel_quant_t taking an int8 value of in_q to out's quantization (bias = -in_zp)."""
    mult, shift = quant.multiplier(in_q.scale / out.q.scale)   # a ratio of 1: 2^30, 30 (exact identity)
    return Struct("channel_quant_t", (-in_q.zero_point, mult, shift, out.q.zero_point, *act))


def _merged(dims: list[int], strides: list[int]) -> tuple[list[int], list[int]]:
    """The same walk over memory with size-1 dimensions dropped and neighbours that step as one merged."""
    pairs = [(d, s) for d, s in zip(dims, strides) if d > 1]
    out: list[list[int]] = []
    for d, s in pairs:
        if out and out[-1][1] == s * d:
            out[-1] = [out[-1][0] * d, s]
        else:
            out.append([d, s])
    return [d for d, _ in out] or [1], [s for _, s in out] or [1]


def copy_layer(x: Tensor, out: Tensor, dims: list[int], strides: list[int], offset: int = 0) -> Layer:
    """A layer writing out densely with x's elements offset + sum(i_k * strides[k]) (dims: out's storage order)."""
    dims, strides = _merged(dims, strides)
    if len(dims) == 2 and offset == 0 and strides == [1, dims[0]]:
        rows, cols = dims[1], dims[0]
        return Layer("", "transpose", "glue", "transpose_i8", (In(0), Out(), rows, cols), [x], out,
                     about=f"{rows}x{cols} -> {cols}x{rows}")
    if len(dims) > COPY_MAX_RANK:
        raise EdgeSdkError(f"a data movement of {x.shape} needs {len(dims)} nested loops; the copy kernel takes at "
                           f"most {COPY_MAX_RANK}")
    pad = COPY_MAX_RANK - len(dims)
    shape = Struct("copy_shape_t", (len(dims), offset, tuple(dims) + (1,) * pad, tuple(strides) + (0,) * pad))
    return Layer("", "copy", "glue", "copy_strided_i8", (In(0), Out(), shape), [x], out,
                 about=f"{x.shape} -> {out.shape}, {len(dims)}-D strided")


def _equivalent(shape, a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Two storage orders of `shape` that lay the bytes out the same way (they differ in size-1 axes only)."""
    return [i for i in a if shape[i] > 1] == [i for i in b if shape[i] > 1]


def _broadcast_strides(x: Tensor, shape) -> list[int]:
    """x's strides as a tensor of `shape` it broadcasts to (numpy's rules): 0 along every broadcast axis."""
    lead = len(shape) - len(x.shape)
    return [x.strides[a - lead] if a >= lead and x.shape[a - lead] == shape[a] else 0 for a in range(len(shape))]


def in_order(m: Match, x: Tensor, order: tuple[int, ...], shape=None) -> tuple[list[Layer], Tensor]:
    """x broadcast to `shape` (default: its own) and stored in `order`: x itself when that changes nothing, else a
    copy layer into a new tensor."""
    shape = x.shape if shape is None else tuple(shape)
    if shape == x.shape and _equivalent(x.shape, x.order, order):
        return [], x
    t = m.new_tensor(shape, x.q, order)
    strides = _broadcast_strides(x, shape)
    return [copy_layer(x, t, [shape[a] for a in order], [strides[a] for a in order])], t


def dense_order(shape, strides) -> tuple[int, ...] | None:
    """The storage order in which elements at `strides` are dense (the last axis stepping by 1 byte), or None."""
    big = sorted((a for a in range(len(shape)) if shape[a] > 1), key=lambda a: -strides[a])
    step = 1
    for a in reversed(big):
        if strides[a] != step:
            return None
        step *= shape[a]
    return tuple([a for a in range(len(shape)) if shape[a] == 1] + big)


def reshape_view(shape, order, new_shape) -> tuple[int, ...] | None:
    """The storage order of `new_shape` that reads the bytes of a tensor (shape, order) as they are after a
    row-major reshape, or None when the reshape has to move them: each group of logical axes the reshape merges
    or splits must lie contiguous and in logical order in storage."""
    big = [a for a in range(len(shape)) if shape[a] > 1]
    new_big = [b for b in range(len(new_shape)) if new_shape[b] > 1]
    groups, i, j = [], 0, 0
    while i < len(big):
        gi, gj = [big[i]], [new_big[j]]
        pi, pj = shape[big[i]], new_shape[new_big[j]]
        i, j = i + 1, j + 1
        while pi != pj:
            if pi < pj:
                gi.append(big[i])
                pi, i = pi * shape[big[i]], i + 1
            else:
                gj.append(new_big[j])
                pj, j = pj * new_shape[new_big[j]], j + 1
        groups.append((gi, gj))
    position = {a: p for p, a in enumerate(a for a in order if shape[a] > 1)}
    placed = []
    for gi, gj in groups:
        ps = [position[a] for a in gi]
        if ps != list(range(ps[0], ps[0] + len(ps))):
            return None
        placed.append((ps[0], gj))
    return tuple([b for b in range(len(new_shape)) if new_shape[b] == 1] + [b for _, gj in sorted(placed) for b in gj])


def _moved(m: Match, x: Tensor, xq: QParams, out: Tensor, view: tuple[int, ...] | None, offset: int,
           walk: tuple[list[int], list[int]] | None = None, order: tuple[int, ...] | None = None) -> list[Layer]:
    """out = x's elements: a view in storage order `view` from byte `offset` on when that is not None, else a
    copy into storage order `order` (default row-major) of the elements the walk (dims, strides, in that order)
    visits from `offset` on; then the requantize to out's quantization (and ReLU) when there is one."""
    requantized = xq != out.q or "relu" in m.exprs
    moved = m.new_tensor(out.shape, xq) if requantized else out
    layers = []
    if view is not None:
        moved.base, moved.perm, moved.offset = x, view, offset
    else:
        moved.perm = row_major(len(out.shape)) if order is None else order
        layers.append(copy_layer(x, moved, *walk, offset))
    if requantized:
        out.perm = moved.order
        layers.append(Layer("", "requantize", "glue", "requantize_i8",
                            (In(0), Out(), out.nbytes, rescale(xq, out, m.activation_range(out.q))), [moved], out,
                            about=f"{out.nbytes} elements"))
    return layers


def reshape(m: Match) -> list[Layer]:
    """Reshape / Flatten / Squeeze / Unsqueeze: a view when the bytes can stay, else a copy into row-major
    order (the logical order both shapes share)."""
    x, xq = m.input("input")
    out = m.output()
    view = reshape_view(x.shape, x.order, out.shape)
    return _moved(m, x, xq, out, view, 0, (list(x.shape), list(x.strides)))


def nearest_source(out_len: int, in_len: int, mode: str, rounding: str) -> np.ndarray:
    """The input index each output index reads along one axis of a nearest-neighbour Resize (ONNX's coordinate
    transformation `mode` and nearest `rounding`, the scale out_len / in_len)."""
    i, scale = np.arange(out_len, dtype=np.float64), out_len / in_len
    coordinates = {"asymmetric": lambda: i / scale,
                   "half_pixel": lambda: (i + 0.5) / scale - 0.5,
                   "pytorch_half_pixel": lambda: (i + 0.5) / scale - 0.5 if out_len > 1 else 0 * i,
                   "align_corners": lambda: i * (in_len - 1) / (out_len - 1) if out_len > 1 else 0 * i,
                   "tf_half_pixel_for_nn": lambda: (i + 0.5) / scale}
    rounded = {"floor": np.floor, "ceil": np.ceil, "round": lambda v: np.floor(v + 0.5),
               "round_prefer_ceil": lambda v: np.floor(v + 0.5), "round_prefer_floor": lambda v: np.ceil(v - 0.5)}
    if mode not in coordinates or rounding not in rounded:
        raise EdgeSdkError(f"a nearest Resize with coordinate transformation '{mode}' and rounding '{rounding}' is "
                           f"not supported (supported: {', '.join(coordinates)}; {', '.join(rounded)})")
    return np.clip(rounded[rounding](coordinates[mode]()), 0, in_len - 1).astype(np.int64)


def _nearest_walk(source: np.ndarray, stride: int) -> tuple[list[int], list[int], int]:
    """One axis of a nearest Resize as copy loops: output index i reading input i // s (upsampling by an
    integer s: the loops (in, s) with strides (stride, 0)) or k i + c (downsampling by an integer k); the loops'
    dims, strides and their offset; an error for any other index map (a non-integer scale)."""
    n = len(source)
    for s in range(1, n + 1):
        if n % s == 0 and np.array_equal(source, np.arange(n) // s):
            return [n // s, s], [stride, 0], 0
    k = int(source[1] - source[0]) if n > 1 else 1
    if k > 0 and np.array_equal(source, source[0] + k * np.arange(n)):
        return [n], [k * stride], int(source[0]) * stride
    raise EdgeSdkError(f"a nearest Resize whose output indices read input {source.tolist()[:8]}"
                       f"{'...' if n > 8 else ''}: the kernels take integer up- or downsampling factors")


def resize(m: Match) -> list[Layer]:
    """Resize (nearest neighbour, integer up- or downsampling of H and W): one copy into HWC order reading each
    input pixel s times (stride 0) or every k-th one, whatever x's storage order."""
    x, xq = m.input("input")
    a = m.exprs["op"].attrs
    if a.method != "nearest_neighbor" or a.layout != "NCHW":
        raise EdgeSdkError(f"a Resize with method '{a.method}' ({a.layout}): the kernels take nearest-neighbour "
                           "resizing of NCHW images")
    out = m.output()
    dims, strides, offset = [x.shape[0]], [x.strides[0]], 0
    for axis in (2, 3):
        source = nearest_source(out.shape[axis], x.shape[axis], str(a.coordinate_transformation_mode),
                                str(a.rounding_method))
        d, st, o = _nearest_walk(source, x.strides[axis])
        dims, strides, offset = dims + d, strides + st, offset + o
    return _moved(m, x, xq, out, None, offset, (dims + [x.shape[1]], strides + [x.strides[1]]), order=(0, 2, 3, 1))


def permute_dims(m: Match) -> list[Layer]:
    """Transpose: always a view (the storage order permuted with the axes)."""
    x, xq = m.input("input")
    out = m.output()
    axes = m.exprs["op"].attrs.axes
    axes = [int(a) % len(x.shape) for a in axes] if axes is not None else list(reversed(range(len(x.shape))))
    strides = [x.strides[a] for a in axes]
    return _moved(m, x, xq, out, dense_order(out.shape, strides), 0)


def _strided(m: Match, x: Tensor, xq: QParams, out: Tensor, strides: list[int], offset: int) -> list[Layer]:
    return _moved(m, x, xq, out, dense_order(out.shape, strides), offset, (list(out.shape), strides))


def take(m: Match) -> list[Layer]:
    """Gather with one constant index: the slice at that index (a view when it is dense)."""
    x, xq = m.input("input")
    out = m.output()
    op = m.exprs["op"]
    index = evaluate.constant(op.args[1])
    if index.size != 1 or index.ndim != 0:
        raise EdgeSdkError(f"a Gather of {x.shape} with an index tensor of shape {index.shape}: the compiler takes "
                           "one constant index (a scalar)")
    axis = int(op.attrs.axis) % len(x.shape)
    i = int(index)
    if not -x.shape[axis] <= i < x.shape[axis]:
        raise EdgeSdkError(f"a Gather index {i} is out of range for axis {axis} of {x.shape}")
    i %= x.shape[axis]
    strides = [s for a, s in enumerate(x.strides) if a != axis]
    return _strided(m, x, xq, out, strides, i * x.strides[axis])


def strided_slice(m: Match) -> list[Layer]:
    """Slice with constant starts, ends and steps (a view when the kept elements are dense)."""
    x, xq = m.input("input")
    out = m.output()
    op = m.exprs["op"]
    axes, begin, end = (evaluate.constant(a).tolist() for a in op.args[1:4])
    steps = evaluate.constant(op.args[4]).tolist() if len(op.args) > 4 else [1] * len(axes)
    strides, offset = list(x.strides), 0
    for a, b, e, s in zip(axes, begin, end, steps):
        a = int(a) % len(x.shape)
        start, _, step = slice(int(b), int(e), int(s)).indices(x.shape[a])
        offset += start * x.strides[a]
        strides[a] = x.strides[a] * step
    return _strided(m, x, xq, out, strides, offset)


def broadcast_to(m: Match) -> list[Layer]:
    """Expand of an activation: a copy reading every broadcast axis with stride 0 (a view when nothing is)."""
    x, xq = m.input("input")
    out = m.output()
    view = x.order if x.shape == out.shape else None
    return _moved(m, x, xq, out, view, 0, (list(out.shape), _broadcast_strides(x, out.shape)))


def concat(m: Match) -> list[Layer]:
    """Concat along one axis: in the output's storage order (the first activation's) the axis splits the output
    into `outer` rows, each the inputs' parts one after another; concat_i8 writes one input's part of every row,
    each element requantized to the output's quantization. An activation stored in another order is copied into
    this one first; a constant (a class token) is quantized to the output at compile time as onnxruntime does
    (QuantizeLinear(DequantizeLinear(c)) in float32), so its layer only copies. The first input's layer writes the
    output (the buffer's first writer, for the memory plan), the others a view of it from their part's first
    byte (the view's shape is the part's; its bytes are not dense when there is more than one row)."""
    out = m.output()
    keys = list(itertools.takewhile(m.exprs.__contains__, (f"part{i}" for i in itertools.count())))
    activations = [m.input(k)[0] for k in keys if not m.is_constant(k)]
    if activations:
        out.perm = activations[0].order
    axis = int(m.exprs["op"].attrs.axis) % len(out.shape)
    position = out.order.index(axis)
    outer = math.prod(out.shape[a] for a in out.order[:position])
    inner = math.prod(out.shape[a] for a in out.order[position + 1:])
    layers, start = [], 0
    for k in keys:
        if m.is_constant(k):
            values, q = m.constant(k)
            shape, in_q = values.shape, out.q
            source, inputs, data = Data("part"), [], {"part": out.to_storage(out.q.quantize(q.dequantize(values)))}
        else:
            x, in_q = m.input(k)
            pre, x = in_order(m, x, out.order)
            layers += pre
            shape, source, inputs, data = x.shape, In(0), [x], {}
        target = out
        if start:
            target = m.new_tensor(shape, out.q, out.order)
            target.base, target.offset = out, start * inner
        length = shape[axis] * inner
        layers.append(Layer("", "concat", "glue", "concat_i8", (source, Out(), outer, length, out.shape[axis] * inner,
                                                               rescale(in_q, out, m.activation_range(out.q))),
                            inputs, target, data=data,
                            about=f"{'' if inputs else 'constant '}{shape} -> {out.shape} along axis {axis}: "
                                  f"{outer} rows of {length} from byte {start * inner}"))
        start += shape[axis]
    return layers


def constant_in_order(values: np.ndarray, out: Tensor) -> tuple[np.ndarray, int]:
    """A constant operand of an elementwise layer broadcast to out's shape in out's storage order, as the shortest
    period that repeats over the whole tensor (a bias over the last axis: its own length), and that period."""
    stored = out.to_storage(np.broadcast_to(values, out.shape))
    n = stored.size
    period = next(p for p in range(1, n + 1) if n % p == 0 and (stored.reshape(-1, p) == stored[:p]).all())
    return np.ascontiguousarray(stored[:period]), period
