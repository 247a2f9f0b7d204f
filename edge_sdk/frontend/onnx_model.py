"""Read an ONNX model with `onnx`, check it, rewrite its integer operators (QLinearConv, ...) in QDQ form
(qlinear.py), infer its shapes and check it is one the compiler can take: one input of static shape and one
output, float32 or already quantized int8 / uint8 (or an int32 output: a ConvInteger / MatMulInteger's sum), only
operators of the compiler's set. `reference` runs a model with onnxruntime the way the compiled firmware is
compared with it (graph optimizations off: the ONNX QDQ definition)."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError

from edge_sdk.errors import EdgeSdkError
from edge_sdk.frontend.qlinear import STANDARD_DOMAINS, to_qdq

# A model's input and output: float32 (quantized / dequantized on the host exactly as QuantizeLinear /
# DequantizeLinear do) or already quantized int8 / uint8 (the host stores / returns the integers as they are);
# the output may also be int32: the exact sum of a ConvInteger / MatMulInteger (qlinear.py), returned as it is.
BOUNDARY_DTYPES = ("float32", "int8", "uint8")
INTEGER_SUM_OPS = ("Conv", "MatMul")   # in QDQ form: ConvInteger / MatMulInteger, cast to the int32 output


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: its name, shape (an output's may hold None: dynamic) and numpy dtype."""
    name: str
    shape: tuple[int, ...]
    dtype: str


def read(model: str | Path | onnx.ModelProto) -> onnx.ModelProto:
    """The model (a path or a ModelProto), checked by onnx, its integer operators in QDQ form (qlinear.py) and
    every shape inferred."""
    what = "the model"
    if not isinstance(model, onnx.ModelProto):
        path = Path(model)
        what = f"'{path}'"
        if not path.is_file():
            raise EdgeSdkError(f"model file '{path}' does not exist")
        try:
            model = onnx.load_model_from_string(path.read_bytes())
        except DecodeError:
            raise EdgeSdkError(f"'{path}' is not an ONNX model (it does not parse as an ONNX protobuf); export "
                               "one with torch.onnx.export or another ONNX exporter") from None
    try:
        onnx.checker.check_model(model)
        return onnx.shape_inference.infer_shapes(to_qdq(model), check_type=True, strict_mode=True, data_prop=True)
    except onnx.checker.ValidationError as err:
        raise EdgeSdkError(f"{what} is not a valid ONNX model: {_first_line(err)}") from None
    except onnx.shape_inference.InferenceError as err:
        raise EdgeSdkError(f"shape inference failed on {what}: {_first_line(err)}") from None


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _spec(value: onnx.ValueInfoProto, role: str) -> TensorSpec:
    """The tensor's spec; an input must have a static shape (the output's follows from it)."""
    t = value.type.tensor_type
    if not value.type.HasField("tensor_type") or not t.HasField("shape"):
        raise EdgeSdkError(f"the model's {role} '{value.name}' is not a tensor of known rank")
    if role == "output":
        return TensorSpec(value.name, tuple(d.dim_value or None for d in t.shape.dim),
                          onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name)
    dims = []
    for k, d in enumerate(t.shape.dim):
        if not d.HasField("dim_value") or d.dim_value < 1:
            label = d.dim_param or "unknown"
            shown = ", ".join(str(x.dim_value) if x.HasField("dim_value") else (x.dim_param or "?") for x in t.shape.dim)
            raise EdgeSdkError(
                f"the model's {role} '{value.name}' has a dynamic shape ({shown}): dimension {k} is '{label}'; the "
                "firmware's buffers are sized at compile time, so export the model with a fixed shape (e.g. batch "
                "1) or fix it with `python -m onnxruntime.tools.make_dynamic_shape_fixed`")
        dims.append(d.dim_value)
    return TensorSpec(value.name, tuple(dims), onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name)


def _integer_sum(model: onnx.ModelProto, name: str) -> bool:
    """Whether tensor `name` is a Cast to int32 of a Conv / MatMul (ConvInteger / MatMulInteger in QDQ form)."""
    producers = {o: n for n in model.graph.node for o in n.output}
    cast = producers.get(name)
    return cast is not None and cast.op_type == "Cast" and \
        any(a.name == "to" and a.i == onnx.TensorProto.INT32 for a in cast.attribute) and \
        getattr(producers.get(cast.input[0]), "op_type", None) in INTEGER_SUM_OPS


def interface(model: onnx.ModelProto) -> tuple[TensorSpec, TensorSpec]:
    """The model's one input and one output; an EdgeSdkError for any other number, a dynamic input shape or a
    type other than BOUNDARY_DTYPES (an output: or int32, the sum of a ConvInteger / MatMulInteger)."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    for role, values in (("input", inputs), ("output", list(model.graph.output))):
        if len(values) != 1:
            raise EdgeSdkError(f"the compiler takes models with one {role}; this one has {len(values)}: "
                               + ", ".join(f"'{v.name}'" for v in values))
    x, y = _spec(inputs[0], "input"), _spec(model.graph.output[0], "output")
    for role, t in (("input", x), ("output", y)):
        if t.dtype == "int32" and role == "output" and _integer_sum(model, t.name):
            continue
        if t.dtype not in BOUNDARY_DTYPES:
            host = "quantized" if role == "input" else "dequantized"
            also = ", or an int32 one: the sum of a ConvInteger / MatMulInteger" if role == "output" else ""
            why = "this one is not such a sum" if t.dtype == "int32" and also else "the firmware computes on int8 tensors"
            raise EdgeSdkError(f"the model's {role} '{t.name}' is {t.dtype}: the compiler takes a float32 {role} "
                               f"({host} on the host) or an int8 / uint8 one (already quantized){also}; {why}")
    return x, y


def _float_tensors(model: onnx.ModelProto) -> set[str]:
    """The names of the model's float tensors (types from shape inference)."""
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE, onnx.TensorProto.BFLOAT16}
    g = model.graph
    values = [*g.input, *g.value_info, *g.output]
    return {v.name for v in values if v.type.tensor_type.elem_type in floats} | \
        {i.name for i in g.initializer if i.data_type in floats}


def check_operators(model: onnx.ModelProto, supported: Collection[str], integer_only: Collection[str] = ()) -> None:
    """An EdgeSdkError naming the first nodes whose operator is not in `supported` (ONNX op types), or is one of
    `integer_only` (shape arithmetic the compiler folds) reading or writing float tensors."""
    bad = [n for n in model.graph.node if n.domain not in STANDARD_DOMAINS or n.op_type not in supported]
    if bad:
        first = bad[0]
        op = first.op_type if first.domain in STANDARD_DOMAINS else f"{first.domain}.{first.op_type}"
        more = f" ({len(bad) - 1} more node(s) too: {', '.join(sorted({n.op_type for n in bad[1:]}))})" if bad[1:] else ""
        article = "an" if op[0] in "AEIOU" else "a"
        raise EdgeSdkError(f"node '{first.name or first.output[0]}' is {article} {op} operator, which the compiler "
                           f"does not lower yet{more}; supported operators: {', '.join(sorted(supported))}")
    _check_resize_scales(model)
    outputs = {o.name for o in model.graph.output}
    for n in model.graph.node:
        if n.op_type == "Cast" and not (n.output[0] in outputs and _integer_sum(model, n.output[0])):
            raise EdgeSdkError(f"node '{n.name or n.output[0]}' is a Cast operator, which the compiler lowers only as "
                               "the int32 output of a ConvInteger / MatMulInteger (a Cast to int32 of a Conv / MatMul, "
                               "the model's output)")
    floats = _float_tensors(model) if integer_only else set()
    for n in model.graph.node:
        if n.op_type in integer_only and floats.intersection([*n.input, *n.output]):
            raise EdgeSdkError(f"node '{n.name or n.output[0]}' is a {n.op_type} of float tensors (activations), which "
                               f"the compiler does not lower yet: it takes {n.op_type} only in shape arithmetic "
                               "(integer tensors it computes at compile time)")


def _constant_value(model: onnx.ModelProto, name: str) -> np.ndarray | None:
    """The value of an initializer or of a Constant node's output, None for any other tensor."""
    for i in model.graph.initializer:
        if i.name == name:
            return onnx.numpy_helper.to_array(i)
    for n in model.graph.node:
        if n.op_type == "Constant" and n.output[0] == name and n.attribute[0].name == "value":
            return onnx.numpy_helper.to_array(n.attribute[0].t)
    return None


def _exact_scale(v: float) -> bool:
    """An integer >= 1, or 1/2, 1/4, ... (exact in float32)."""
    if v >= 1:
        return v.is_integer()
    if not v > 0:
        return False
    k = 1 / v
    return k.is_integer() and int(k) & (int(k) - 1) == 0


def _check_resize_scales(model: onnx.ModelProto) -> None:
    """A Resize given `scales` (not sizes): TVM's importer turns them into output sizes and resizes by out / in,
    which is the scale ONNX (and onnxruntime) uses only for the scales it takes: 1 on batch and channels, and on
    H and W an integer or the reciprocal of a power of two (exact in float32, dividing the input)."""
    for n in model.graph.node:
        scales = _constant_value(model, n.input[2]) if n.op_type == "Resize" and len(n.input) > 2 and n.input[2] \
            else None
        if scales is None or scales.size == 0:
            continue
        if not (np.all(scales[:2] == 1) and all(_exact_scale(float(v)) for v in scales[2:])):
            raise EdgeSdkError(f"node '{n.name or n.output[0]}' is a Resize with scales {scales.tolist()}: the "
                               "compiler takes scales of 1 on batch and channels and, on the image axes, integers or "
                               "1/2, 1/4, ... (give the output `sizes` instead for other factors)")


def reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """The model's output for input x from onnxruntime with graph optimizations disabled (the optimized int8
    kernels saturate intermediate sums on CPUs without VNNI)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]
