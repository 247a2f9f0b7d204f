"""The pattern table of the MCU backend: each pattern is a quantized operator as TVM's ONNX importer writes a
QDQ model in Relax (DequantizeLinear -> op -> QuantizeLinear, the int8 weights dequantized constants) and names
the kernel selection that lowers it (layers.py). Registered once with TVM's `register_patterns` under the
prefix "edge"; `FuseOpsByPattern` + `MergeCompositeFunctions` (partition.py) turn every match into a composite
function `edge.<op>` whose parameters and result are int8 tensors.

ONNX_OPS is what the frontend accepts: the ONNX operators these patterns are made of."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tvm.relax.backend.pattern_registry import get_patterns_with_prefix, register_patterns
from tvm.relax.backend.utils import has_leaking_intermediate_variables
from tvm.relax.dpl.pattern import DFPattern, is_const, is_op, wildcard

from edge_sdk.lowering import layers

PREFIX = "edge"


@dataclass(frozen=True)
class KernelPattern:
    name: str
    pattern: DFPattern
    annotations: dict[str, DFPattern]
    lower: Callable[[layers.Match], list]
    onnx_ops: tuple[str, ...]
    accepts: Callable[[dict], bool] = field(default=lambda exprs: True)   # on the annotated expressions


def _dq(x: DFPattern) -> DFPattern:
    return is_op("relax.dequantize")(x, is_const(), is_const())


def _q(x: DFPattern) -> DFPattern:
    return is_op("relax.quantize")(x, is_const(), is_const())


def _with_relu(core: DFPattern, ann: dict) -> DFPattern:
    """core, or ReLU(core) (quantize_static folds ReLU into the output's zero point; other QDQ tools keep it)."""
    ann["relu"] = is_op("relax.nn.relu")(core)
    return core | ann["relu"]


def _conv(name: str, lower, accepts) -> KernelPattern:
    ann = {"input": _dq(wildcard()), "weight": _dq(is_const()), "bias": _dq(is_const())}
    ann["op"] = is_op("relax.nn.conv2d")(ann["input"], ann["weight"])
    biased = is_op("relax.add")(ann["op"], is_op("relax.reshape")(ann["bias"], wildcard())) | ann["op"]
    ann["root"] = _q(_with_relu(biased, ann))
    return KernelPattern(name, ann["root"], ann, lower, ("Conv", "Relu"), accepts)


def _is_depthwise(exprs: dict) -> bool:
    conv = exprs["op"]
    channels = layers.shape_of(conv.args[0])[1]
    return conv.attrs.groups == channels == layers.shape_of(conv)[1] > 1


def _dense() -> KernelPattern:
    ann = {"input": _dq(wildcard()), "weight": _dq(is_const()), "bias": _dq(is_const())}
    ann["transpose"] = is_op("relax.permute_dims")(ann["weight"])
    ann["op"] = is_op("relax.matmul")(ann["input"], ann["transpose"] | ann["weight"])
    biased = is_op("relax.add")(ann["op"], ann["bias"]) | ann["op"]
    ann["root"] = _q(_with_relu(biased, ann))
    return KernelPattern("edge.dense", ann["root"], ann, layers.dense, ("Gemm", "MatMul", "Relu"))


def _add() -> KernelPattern:
    ann = {"lhs": _dq(wildcard()), "rhs": _dq(wildcard())}
    ann["root"] = _q(_with_relu(is_op("relax.add")(ann["lhs"], ann["rhs"]), ann))
    return KernelPattern("edge.add", ann["root"], ann, layers.add, ("Add", "Relu"))


def _unary(name: str, op: str, lower, onnx_ops: tuple[str, ...], accepts=lambda exprs: True,
           attributes: int = 0) -> KernelPattern:
    """QuantizeLinear([ReLU](op(DequantizeLinear(x)))) for an op of one tensor and `attributes` other arguments."""
    ann = {"input": _dq(wildcard())}
    ann["op"] = is_op(op)(ann["input"], *(wildcard() for _ in range(attributes)))
    ann["root"] = _q(_with_relu(ann["op"], ann))
    return KernelPattern(name, ann["root"], ann, lower, onnx_ops, accepts)


def _is_spatial_mean(exprs: dict) -> bool:
    mean = exprs["op"]
    rank = len(layers.shape_of(mean.args[0]))
    return rank == 4 and sorted(int(a) % rank for a in mean.attrs.axis) == [2, 3]


def _requantize() -> KernelPattern:
    ann = {"input": _dq(wildcard())}
    ann["root"] = _q(_with_relu(ann["input"], ann))
    return KernelPattern("edge.requantize", ann["root"], ann, layers.requantize, ("Relu", "Identity"))


TABLE = (
    _conv("edge.conv2d", layers.conv2d, lambda exprs: exprs["op"].attrs.groups == 1),
    _conv("edge.depthwise_conv2d", layers.depthwise_conv2d, _is_depthwise),
    _dense(),
    _add(),
    _unary("edge.max_pool2d", "relax.nn.max_pool2d", layers.max_pool2d, ("MaxPool",)),
    _unary("edge.avg_pool2d", "relax.nn.avg_pool2d", layers.avg_pool2d, ("AveragePool",)),
    _unary("edge.global_avg_pool2d", "relax.mean", layers.global_avg_pool2d, ("GlobalAveragePool", "ReduceMean"),
           _is_spatial_mean),
    _unary("edge.reshape", "relax.reshape", layers.reshape, ("Reshape", "Flatten"), attributes=1),
    _requantize(),
)
BY_NAME = {p.name: p for p in TABLE}
ONNX_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "Constant", "Clip"}.union(*(p.onnx_ops for p in TABLE)))
# Clip: quantize_static folds a Clip after a quantized op into the output's range, as it does ReLU.


def _check(pattern: KernelPattern):
    def check(context) -> bool:
        exprs = {k: context.annotated_expr[k] for k in context.annotated_expr}
        return not has_leaking_intermediate_variables(context) and pattern.accepts(exprs)
    return check


def fusion_patterns() -> list:
    """The table as TVM FusionPatterns, highest priority first (registered once per process)."""
    if not get_patterns_with_prefix(PREFIX):
        # register_patterns gives later entries the higher priority: the table lists the highest first.
        register_patterns([(p.name, p.pattern, p.annotations, _check(p)) for p in reversed(TABLE)])
    return list(get_patterns_with_prefix(PREFIX))
