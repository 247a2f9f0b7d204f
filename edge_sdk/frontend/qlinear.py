"""ONNX's integer operators in the QDQ form the compiler lowers (DequantizeLinear -> float operator ->
QuantizeLinear), constant weights in the form the int8 kernels take, and the check that every quantization
parameter is a constant.

    QLinearConv(x, sx, zx, w, sw, zw, sy, zy[, B]) -> Q(Conv(DQ(x, sx, zx), DQ(w, sw, zw)[, DQ(B, sx*sw, 0)]), sy, zy)
    QLinearMatMul(a, sa, za, b, sb, zb, sy, zy)    -> Q(MatMul(DQ(a, sa, za), DQ(b, sb, zb)), sy, zy)
    ConvInteger(x, w[, zx, zw])                    -> Cast<int32>(Conv(DQ(x, 1, zx), DQ(w, 1, zw)))
    MatMulInteger(a, b[, za, zb])                  -> Cast<int32>(MatMul(DQ(a, 1, za), DQ(b, 1, zb)))

ONNX defines each as the integer sum of the zero-point-corrected products (for the QLinear operators rescaled
once by sx * sw / sy, rounded half to even and saturated); the QDQ form is what onnxruntime's QDQ tools write
for the same layer, and the firmware computes it as that exact integer sum rescaled once (lowering/quant.py).
A scale or zero point of one element is per tensor; more elements are per output channel for a weight (the
conv's axis 0, the matmul's last axis) and per row for a matmul's activation (its second-to-last axis, which
the kernels reject: one scale per activation tensor). float16 / bfloat16 scales (QLinearMatMul) are widened to
float32, which holds them exactly.

ConvInteger / MatMulInteger produce int32 accumulators: their QDQ form is the float sum of scale-1 dequantized
values (exact below 2^24) cast to int32. The firmware computes that sum exactly in int32 and stores it
(lowering/integer.py) as the model's output; an int32 output that another node reads is an error that names it
(no kernel reads int32).

Wide weights: the int8 kernels multiply int8 weights w - zw (zero point 0), but asymmetric 8-bit weights (uint8
with a zero point away from 128, or int8 with one away from 0) give w - zw in [-255, 255]. (ConvInteger /
MatMulInteger's kernel takes them as they are: int16 weights.) Any other Conv (one group),
MatMul or Gemm whose constant weights leave int8 that way reads its input n = 2 or 3 times over: a 1x1 conv /
matmul with 0/1 weights first repeats the input n times along the reduction axis (requantized to its own scale
and zero point: each output is one input times 1, exact), and the weights become n int8 parts summing to
w - zw, one per repeat (floor((v + i) / n) for i < n). The layer's integer sum is unchanged, so it stays exact,
for n times the layer's MACs and the repeat's.

The firmware's requantization is fixed at compile time: a scale or zero point of a QuantizeLinear,
DequantizeLinear or of the operators above that is not an initializer or a Constant (a graph input, or computed
by another node) is an error that names it, and so is blocked quantization (block_size)."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edge_sdk.errors import EdgeSdkError

STANDARD_DOMAINS = ("", "ai.onnx")
QDQ_OPSET = 13          # the first opset with per-axis QuantizeLinear / DequantizeLinear
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
INT8_MIN, INT8_MAX = -128, 127


def _constant_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """The graph's initializers and Constant node outputs by name."""
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.domain in STANDARD_DOMAINS and len(n.attribute) == 1:
            a = n.attribute[0]
            v = helper.get_attribute_value(a)
            values[n.output[0]] = numpy_helper.to_array(v) if isinstance(v, TensorProto) else \
                np.asarray(v, np.float32 if a.name.startswith("value_float") else np.int64)
    return values


def _label(node: onnx.NodeProto) -> str:
    return node.name or node.output[0]


def _attributes(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _int8_parts(v: np.ndarray) -> list[np.ndarray]:
    """The integers v as the fewest near-equal int8 parts that sum to them (floor((v + i) / n), i < n)."""
    n = 1
    while -(-int(v.max(initial=0)) // n) > INT8_MAX or int(v.min(initial=0)) // n < INT8_MIN:
        n += 1
    return [np.floor_divide(v + i, n).astype(np.int8) for i in range(n)]


class _Graph:
    """A graph being rewritten: its constants, the tensor names in use, the new node list."""

    def __init__(self, graph: onnx.GraphProto):
        self.graph = graph
        self.constants = _constant_values(graph)
        self.inputs = {i.name for i in graph.input} - self.constants.keys()
        self.names = {*self.constants, *self.inputs, *(o for n in graph.node for o in n.output)}
        self.nodes: list[onnx.NodeProto] = []
        self.integer_sums: set[str] = set()   # outputs of the Conv / MatMul of ConvInteger / MatMulInteger

    def constant(self, node: onnx.NodeProto, index: int, role: str) -> np.ndarray | None:
        """The value of the node's input `index` (its `role`, e.g. "x_scale"); None when it is absent. An
        EdgeSdkError when it is not a constant."""
        if index >= len(node.input) or not node.input[index]:
            return None
        name = node.input[index]
        if name not in self.constants:
            source = "a graph input" if name in self.inputs else "computed by another node"
            raise EdgeSdkError(
                f"node '{_label(node)}' ({node.op_type}): its {role} '{name}' is {source}; the firmware's "
                "requantization is fixed at compile time, so scale must be a constant (and so must the zero point): "
                "make it an initializer")
        return self.constants[name]

    def check_qdq(self, node: onnx.NodeProto) -> None:
        """A QuantizeLinear / DequantizeLinear the firmware can compute: constant parameters, not blocked."""
        self.constant(node, 1, "scale")
        self.constant(node, 2, "zero point")
        if _attributes(node).get("block_size", 0):
            raise EdgeSdkError(f"node '{_label(node)}' ({node.op_type}) is blocked quantization (block_size "
                               f"{_attributes(node)['block_size']}); the kernels take activations quantized per "
                               "tensor and weights per tensor or per output channel")

    def new_name(self, base: str) -> str:
        name, k = base, 0
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def initializer(self, base: str, values: np.ndarray) -> str:
        name = self.new_name(base)
        self.constants[name] = values
        self.graph.initializer.append(numpy_helper.from_array(np.array(values), name))
        return name

    def emit(self, op: str, inputs: list[str], output: str, name: str, **attributes) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attributes))
        return output

    def parameters(self, base: str, scale: np.ndarray, zero_point: np.ndarray | None) -> tuple[list[str], bool]:
        """Initializers of a float32 scale and its zero point (scalars, or 1-D of one length), and whether they
        are per axis."""
        n = max(scale.size, 1 if zero_point is None else zero_point.size)
        shape = () if n == 1 else (n,)
        names = [self.initializer(f"{base}_scale",
                                  np.broadcast_to(scale.astype(np.float32).reshape(-1), (n,)).reshape(shape))]
        if zero_point is not None:
            names.append(self.initializer(f"{base}_zero_point",
                                          np.broadcast_to(zero_point.reshape(-1), (n,)).reshape(shape)))
        return names, n > 1

    def dequantize(self, node, index: int, scale: np.ndarray, zero_point: np.ndarray | None, axis: int,
                   role: str) -> str:
        """DequantizeLinear of the node's input `index` (per tensor, or along `axis`)."""
        tensor = node.input[index]
        names, per_axis = self.parameters(f"{_label(node)}_{role}", scale, zero_point)
        return self.emit("DequantizeLinear", [tensor, *names], self.new_name(f"{tensor}_dequantized"),
                         f"{_label(node)}/dequantize_{role}", **({"axis": axis} if per_axis else {}))

    def computed(self, node, op: str, inputs: list[str]) -> str:
        """`op` in float on the dequantized inputs, with the node's attributes."""
        return self.emit(op, inputs, self.new_name(f"{node.output[0]}_float"), _label(node), **_attributes(node))

    def qlinear(self, node, op: str, weight_axis: int, activation_axis: int) -> None:
        """QLinearConv / QLinearMatMul: input and weights dequantized, `op` in float, the output quantized."""
        sx, zx = self.constant(node, 1, "x_scale"), self.constant(node, 2, "x_zero_point")
        sw, zw = self.constant(node, 4, "w_scale"), self.constant(node, 5, "w_zero_point")
        sy, zy = self.constant(node, 6, "y_scale"), self.constant(node, 7, "y_zero_point")
        inputs = [self.dequantize(node, 0, sx, zx, activation_axis, "x"),
                  self.dequantize(node, 3, sw, zw, weight_axis, "w")]
        if len(node.input) > 8 and node.input[8]:      # QLinearConv's int32 bias: scale sx * sw, zero point 0
            inputs.append(self.dequantize(node, 8, sx.astype(np.float32) * sw.astype(np.float32), None, 0, "bias"))
        names, per_axis = self.parameters(f"{_label(node)}_y", sy, zy)
        self.emit("QuantizeLinear", [self.computed(node, op, inputs), *names], node.output[0],
                  f"{_label(node)}/quantize_y", **({"axis": activation_axis} if per_axis else {}))

    def integer(self, node, op: str, weight_axis: int, activation_axis: int) -> None:
        """ConvInteger / MatMulInteger: the scale-1 dequantized operands, `op` in float, cast to int32 (an error
        when another node reads the int32 result)."""
        readers = [n for n in self.graph.node if node.output[0] in n.input]
        if readers:
            r = readers[0]
            raise EdgeSdkError(f"node '{_label(node)}' ({node.op_type}): its int32 output '{node.output[0]}' is read "
                               f"by node '{_label(r)}' ({r.op_type}); the firmware stores an int32 sum only as the "
                               "model's output (no kernel reads int32): make it the output, or quantize the layer "
                               "(QLinearConv / QLinearMatMul, or QDQ)")
        one = np.ones((), np.float32)
        inputs = [self.dequantize(node, 0, one, self.constant(node, 2, "x_zero_point"), activation_axis, "x"),
                  self.dequantize(node, 1, one, self.constant(node, 3, "w_zero_point"), weight_axis, "w")]
        result = self.computed(node, op, inputs)
        self.integer_sums.add(result)
        self.emit("Cast", [result], node.output[0], f"{_label(node)}/cast_int32", to=TensorProto.INT32)

    def repeated(self, node, x_dq: onnx.NodeProto, op: str, k: int, n: int) -> str:
        """The activation x_dq dequantizes, repeated n times along the reduction axis of `op` (k long): a 1x1
        Conv / a MatMul with 0/1 weights, quantized with x's own scale and zero point (exact)."""
        ones = np.tile(np.eye(k, dtype=np.int8), (n, 1) if op == "Conv" else (1, n))
        if op == "Conv":
            ones = ones.reshape(n * k, k, 1, 1)
        label = f"{_label(node)}/repeat_input"
        one = [self.initializer(f"{label}_scale", np.ones((), np.float32)),
               self.initializer(f"{label}_zero_point", np.zeros((), np.int8))]
        weights = self.emit("DequantizeLinear", [self.initializer(f"{label}_weights", ones), *one],
                            self.new_name(f"{label}_weights_dequantized"), f"{label}/dequantize_weights")
        result = self.emit(op, [x_dq.output[0], weights], self.new_name(f"{label}_float"), label)
        quantized = self.emit("QuantizeLinear", [result, *x_dq.input[1:3]], self.new_name(label),
                              f"{label}/quantize")
        return self.emit("DequantizeLinear", [quantized, *x_dq.input[1:3]], self.new_name(f"{label}_dequantized"),
                         f"{label}/dequantize")

    def split_wide_weights(self, node, producers: dict[str, onnx.NodeProto]) -> bool:
        """A Conv / MatMul / Gemm of dequantized input and constant weights whose w - zw leave int8: its input
        repeated and its weights split in int8 parts (the module's docstring); whether it was."""
        x_dq, w_dq = (producers.get(name) for name in node.input[:2])
        if not (x_dq and w_dq and x_dq.op_type == w_dq.op_type == "DequantizeLinear" and len(x_dq.input) == 3
                and w_dq.input[0] in self.constants and self.constants[x_dq.input[1]].size == 1):
            return False
        w = self.constants[w_dq.input[0]]
        if node.op_type == "MatMul" and w.ndim != 2:
            raise EdgeSdkError(f"node '{_label(node)}' (MatMul) multiplies by constant weights of shape {w.shape}; "
                               "the dense kernels take one 2-D weight matrix (a batched matmul is lowered for two "
                               "activations only)")
        attributes = _attributes(node)
        if attributes.get("group", 1) != 1 or attributes.get("transA", 0):
            return False
        axis = {"Conv": 1, "MatMul": 0, "Gemm": 1 if attributes.get("transB", 0) else 0}[node.op_type]
        zw = self.constant(w_dq, 2, "zero point")
        zw = np.zeros((), w.dtype) if zw is None else zw
        channel_axis = _attributes(w_dq).get("axis", 1) % w.ndim
        zw_along = zw.reshape([-1 if a == channel_axis else 1 for a in range(w.ndim)]) if zw.size > 1 else zw
        parts = _int8_parts(w.astype(np.int64) - zw_along.astype(np.int64))
        if len(parts) == 1:
            return False
        node.input[0] = self.repeated(node, x_dq, "Conv" if node.op_type == "Conv" else "MatMul", w.shape[axis],
                                      len(parts))
        label = f"{_label(node)}/int8_weights"
        node.input[1] = self.emit(
            "DequantizeLinear", [self.initializer(label, np.concatenate(parts, axis=axis)), w_dq.input[1],
                                 self.initializer(f"{label}_zero_point", np.zeros(zw.shape, np.int8))],
            self.new_name(f"{label}_dequantized"), label, **_attributes(w_dq))
        return True


REWRITES = {
    "QLinearConv": lambda g, n: g.qlinear(n, "Conv", weight_axis=0, activation_axis=1),
    "QLinearMatMul": lambda g, n: g.qlinear(n, "MatMul", weight_axis=-1, activation_axis=-2),
    "ConvInteger": lambda g, n: g.integer(n, "Conv", weight_axis=0, activation_axis=1),
    "MatMulInteger": lambda g, n: g.integer(n, "MatMul", weight_axis=-1, activation_axis=-2),
}
WEIGHT_OPS = ("Conv", "MatMul", "Gemm")


def _set_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto], removed: list[onnx.NodeProto],
               split: list[onnx.NodeProto]) -> None:
    """The graph's nodes become `nodes`, less the weights' DequantizeLinear nodes in `split` that nothing reads
    any more; the initializers only those and the `removed` nodes (the integer operators rewritten) read go too."""
    used = {i for n in nodes for i in n.input} | {o.name for o in graph.output}
    unread = [d for d in split if d.output[0] not in used]
    nodes = [n for n in nodes if all(n is not d for d in unread)]
    orphaned = {i for d in removed + unread for i in d.input} - {i for n in nodes for i in n.input} - \
        {i.name for i in graph.input}
    graph.ClearField("node")
    graph.node.extend(nodes)
    for k in reversed(range(len(graph.initializer))):
        if graph.initializer[k].name in orphaned:
            del graph.initializer[k]


def to_qdq(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its QLinearConv / QLinearMatMul / ConvInteger / MatMulInteger nodes in QDQ form and its
    constant weights in int8 (those of ConvInteger / MatMulInteger as they are: their kernel takes w - zw in
    int16) (a new model, at opset 13 or later for the former, when anything changed). An EdgeSdkError naming a
    scale or zero point that is not a constant, blocked quantization, a MatMul by a batch of constant matrices,
    or a ConvInteger / MatMulInteger whose int32 output another node reads."""
    standard = [n for n in model.graph.node if n.domain in STANDARD_DOMAINS]
    checks = _Graph(model.graph)
    for node in standard:
        if node.op_type in QDQ_OPS:
            checks.check_qdq(node)
    integer_ops = any(n.op_type in REWRITES for n in standard)
    opset = next((o.version for o in model.opset_import if o.domain in STANDARD_DOMAINS), QDQ_OPSET)
    new = onnx.ModelProto()
    if integer_ops and opset < QDQ_OPSET:
        try:
            new = onnx.version_converter.convert_version(model, QDQ_OPSET)
        except Exception as err:  # noqa: BLE001 - the converter raises several kinds; the user needs the message
            raise EdgeSdkError(f"onnx could not convert the model from opset {opset} to {QDQ_OPSET} (per-axis "
                               f"QuantizeLinear / DequantizeLinear, for its integer operators' QDQ form): "
                               f"{type(err).__name__}: {err}") from None
    else:
        new.CopyFrom(model)
    g = _Graph(new.graph)
    removed = []
    for node in new.graph.node:
        if node.domain in STANDARD_DOMAINS and node.op_type in REWRITES:
            REWRITES[node.op_type](g, node)
            removed.append(node)
        else:
            g.nodes.append(onnx.NodeProto.FromString(node.SerializeToString()))
    rewritten, g.nodes = g.nodes, []
    producers = {o: n for n in rewritten for o in n.output}
    split = []
    for node in rewritten:
        if node.domain in STANDARD_DOMAINS and node.op_type in WEIGHT_OPS and node.output[0] not in g.integer_sums:
            weights = producers.get(node.input[1])
            split += [weights] if g.split_wide_weights(node, producers) else []
        g.nodes.append(node)
    if not (removed or split):
        return model
    _set_nodes(new.graph, g.nodes, removed, split)
    return new
