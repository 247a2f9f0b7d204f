"""The pattern table of the MCU backend: each pattern is a quantized operator as TVM's ONNX importer writes a
QDQ model in Relax (DequantizeLinear -> op -> QuantizeLinear, the int8 weights dequantized constants; or, for
ConvInteger / MatMulInteger, DequantizeLinear -> op -> Cast to int32, the model's output) and names
the kernel selection that lowers it (layers.py). Registered once with TVM's `register_patterns` under the
prefix "edge"; `FuseOpsByPattern` + `MergeCompositeFunctions` (partition.py) turn every match into a composite
function `edge.<op>` whose parameters and result are int8 tensors (the int32 patterns' result: int32).

ONNX_OPS is what the frontend accepts: the ONNX operators these patterns are made of and the shape arithmetic the
compiler computes at compile time (INTEGER_ONLY_OPS, only on integer tensors)."""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tvm.relax.backend.pattern_registry import get_patterns_with_prefix, register_patterns
from tvm.relax.backend.utils import has_leaking_intermediate_variables
from tvm import relax
from tvm.ir import Constant
from tvm.relax.dpl.pattern import DFPattern, is_const, is_op, is_tuple, wildcard

from edge_sdk.lowering import evaluate, integer, layers, layout, transformer

PREFIX = "edge"
ELEMENTWISE_DEPTH = 6      # the longest chain of float elementwise operators one lookup table replaces
CONCAT_MAX_INPUTS = 8      # the most tensors one Concat may join


@dataclass(frozen=True)
class KernelPattern:
    name: str
    pattern: DFPattern
    annotations: dict[str, DFPattern]
    lower: Callable[[layers.Match], list]
    onnx_ops: tuple[str, ...]
    # on the annotated expressions and the bindings the match covers (variable -> value)
    accepts: Callable[[dict, dict], bool] = field(default=lambda exprs, bindings: True)


def _dq(x: DFPattern) -> DFPattern:
    return is_op("relax.dequantize")(x, is_const(), is_const())


def _q(x: DFPattern) -> DFPattern:
    return is_op("relax.quantize")(x, is_const(), is_const())


def _constant() -> DFPattern:
    return is_const() | _dq(is_const())


def _union(patterns) -> DFPattern:
    return functools.reduce(operator.or_, patterns)


def _any_op(names) -> DFPattern:
    return _union(is_op(n) for n in names)


def _any_tuple(fields: list[DFPattern]) -> DFPattern:
    """A tuple of the first n of `fields`, for any n >= 1."""
    return _union(is_tuple(fields[:n]) for n in range(1, len(fields) + 1))


def _with_relu(core: DFPattern, ann: dict) -> DFPattern:
    """core, or ReLU(core) (quantize_static folds ReLU into the output's zero point; other QDQ tools keep it)."""
    ann["relu"] = is_op("relax.nn.relu")(core)
    return core | ann["relu"]


def _conv(name: str, lower, accepts) -> KernelPattern:
    """A 2-D or 1-D conv (the kernels see a 1-D one as an image of one row: layers.image_operands)."""
    ann = {"input": _dq(wildcard()), "weight": _dq(is_const()), "bias": _dq(is_const())}
    ann["op"] = _any_op(("relax.nn.conv2d", "relax.nn.conv1d"))(ann["input"], ann["weight"])
    biased = is_op("relax.add")(ann["op"], is_op("relax.reshape")(ann["bias"], wildcard())) | ann["op"]
    ann["root"] = _q(_with_relu(biased, ann))
    return KernelPattern(name, ann["root"], ann, lower, ("Conv", "Relu"), accepts)


def _is_depthwise(exprs: dict, bindings: dict) -> bool:
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


def _cast_int32(x: DFPattern) -> DFPattern:
    """TVM's ONNX importer's Cast of a float tensor to int32: non-finite values to 0, to int64, wrapped modulo 2^32
    into int32's range, to int32."""
    finite = is_op("relax.where")(is_op("relax.logical_not")(is_op("relax.isfinite")(x)), is_const(), x)
    wide = is_op("relax.floor_mod")(is_op("relax.astype")(finite), is_const())
    wrapped = is_op("relax.where")(is_op("relax.greater_equal")(wide, is_const()),
                                   is_op("relax.subtract")(wide, is_const()), wide)
    return is_op("relax.astype")(wrapped)


def _integer(name: str, op: str, lower, onnx_op: str) -> KernelPattern:
    """ConvInteger / MatMulInteger as the frontend writes them: Cast<int32>(op(DequantizeLinear(x),
    DequantizeLinear(constant weights))), the int32 sum stored as it is (integer.py)."""
    ann = {"input": _dq(wildcard()), "weight": _dq(is_const())}
    ann["op"] = is_op(op)(ann["input"], ann["weight"])
    ann["root"] = _cast_int32(ann["op"])
    return KernelPattern(name, ann["root"], ann, lower, (onnx_op, "Cast"),
                         lambda exprs, bindings: str(exprs["root"].attrs.dtype) == "int32")


def _activations(*keys: str):
    """accepts: the annotated dequantizes read activations, not constants."""
    return lambda exprs, bindings: not any(isinstance(exprs[k].args[0], Constant) for k in keys)


def _matmul() -> KernelPattern:
    """MatMul of two activations (attention: Q K^T, P V); constant weights are edge.dense's."""
    ann = {"lhs": _dq(wildcard()), "rhs": _dq(wildcard())}
    ann["root"] = _q(is_op("relax.matmul")(ann["lhs"], ann["rhs"]))
    return KernelPattern("edge.matmul", ann["root"], ann, transformer.matmul, ("MatMul",), _activations("lhs", "rhs"))


def _elementwise_chains(start: DFPattern) -> list[DFPattern]:
    """`start` followed by 1, 2, ... ELEMENTWISE_DEPTH float elementwise operators, each of the one tensor before it
    and scalar constants or arguments. Each level has operator patterns of its own: the matcher memoizes a pattern's
    match, so one shared by two levels would only match chains that repeat the same operator."""
    chains, chain = [], start
    for _ in range(ELEMENTWISE_DEPTH):
        unary, binary = _any_op(evaluate.UNARY), _any_op(evaluate.BINARY)
        chain = _union([unary(chain), binary(chain, _constant()), binary(_constant(), chain),
                        _any_op(evaluate.BINARY_WITH_ATTRIBUTES)(chain, _constant()
                                                                 | is_op("relax.reshape")(_constant(), wildcard())),
                        *(is_op(name)(chain, *(wildcard() for _ in range(scalars)))
                          for name, (scalars, _) in evaluate.UNARY_WITH_ATTRIBUTES.items())])
        chains.append(chain)
    return chains


def _elementwise() -> KernelPattern:
    """QuantizeLinear of a float elementwise island on one int8 tensor: a chain f_n(...f_1(DequantizeLinear(x))) of
    up to ELEMENTWISE_DEPTH operators of one tensor and scalar constants (GELU's Div -> Erf; Add 1; Mul 0.5; Tanh;
    Sigmoid; Log; LeakyRelu; HardSigmoid's Mul, Add, Clip), or two such chains of the same x joined by a binary
    operator and followed by another chain (HardSwish x * (clip(x + 3) / 6), ELU, SELU, Softplus, Mish, Softsign,
    ThresholdedRelu as TVM's importer writes them; each use of x is dequantized on its own: partition.py)."""
    ann = {"input": _dq(wildcard()), "other_input": _dq(wildcard())}
    first, second = _elementwise_chains(ann["input"]), _elementwise_chains(ann["other_input"])
    fork = _any_op(evaluate.BINARY)(_union([ann["input"], *first]), _union([ann["other_input"], *second]))
    ann["root"] = _q(_union([*first, fork, *_elementwise_chains(fork)]))
    return KernelPattern("edge.elementwise", ann["root"], ann, transformer.elementwise,
                         ("Erf", "Tanh", "Sigmoid", "Exp", "Sqrt", "Neg", "Abs", "Gelu", "Add", "Sub", "Mul", "Div",
                          "Pow", "Log", "LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Selu", "Softplus", "Mish",
                          "Softsign", "ThresholdedRelu", "PRelu"), _one_input_island)


def _constant_shape(expr, bindings: dict) -> tuple[int, ...] | None:
    """The shape of the constant `expr` is (through dequantize and reshape), None when it is no constant."""
    while isinstance(expr, relax.Var) and expr in bindings:
        value = bindings[expr]
        if not (isinstance(value, relax.Call) and value.op.name in ("relax.dequantize", "relax.reshape")):
            return None
        expr = value.args[0]
    return evaluate.constant(expr).shape if isinstance(expr, Constant) else None


def _one_input_island(exprs: dict, bindings: dict) -> bool:
    """Every constant operand is a scalar, but a PReLU's slopes, which may vary along one axis (one table per
    index along it: transformer.elementwise; a binary operator with a constant tensor has its own kernels); both
    branches of a fork dequantize the same int8 tensor with the same parameters; and it is more than ReLUs (a
    requantization: edge.requantize)."""
    if "other_input" in exprs:
        a, b = exprs["input"], exprs["other_input"]
        if not (a.args[0].same_as(b.args[0]) and all(np.array_equal(evaluate.constant(x), evaluate.constant(y))
                                                     for x, y in zip(a.args[1:], b.args[1:]))):
            return False
    calls = [v for v in bindings.values() if isinstance(v, relax.Call)
             and v.op.name not in ("relax.dequantize", "relax.quantize", "relax.reshape")]
    for v in calls:
        varying = 1 if v.op.name in evaluate.BINARY_WITH_ATTRIBUTES else 0
        shapes = [_constant_shape(a, bindings) for a in v.args]
        if any(sum(d > 1 for d in shape) > varying for shape in shapes if shape is not None):
            return False
    return bool({v.op.name for v in calls} - {"relax.nn.relu"})


def _binary(name: str, ops: tuple[str, ...], lower, onnx_ops: tuple[str, ...]) -> KernelPattern:
    """An elementwise operator of two tensors (an activation and an activation or constant), [ReLU]."""
    ann = {"lhs": _dq(wildcard()), "rhs": _dq(wildcard())}
    ann["op"] = _any_op(ops)(ann["lhs"], ann["rhs"])
    ann["root"] = _q(_with_relu(ann["op"], ann))
    return KernelPattern(name, ann["root"], ann, lower, (*onnx_ops, "Relu"),
                         lambda exprs, bindings: not (isinstance(exprs["lhs"].args[0], Constant)
                                                    and isinstance(exprs["rhs"].args[0], Constant)))


def _concat() -> KernelPattern:
    """Concat of up to CONCAT_MAX_INPUTS activations or constants (a class token), annotated "part0", "part1", ..."""
    parts = [_dq(wildcard()) for _ in range(CONCAT_MAX_INPUTS)]
    ann = {f"part{k}": part for k, part in enumerate(parts)}
    ann["op"] = is_op("relax.concat")(_any_tuple(parts))
    ann["root"] = _q(ann["op"])
    return KernelPattern("edge.concat", ann["root"], ann, layout.concat, ("Concat",))


def _layer_norm() -> KernelPattern:
    ann = {"input": _dq(wildcard()), "gamma": _constant(), "beta": _constant()}
    ann["op"] = is_op("relax.nn.layer_norm")(ann["input"], ann["gamma"], ann["beta"])
    ann["root"] = _q(ann["op"])
    return KernelPattern("edge.layer_norm", ann["root"], ann, transformer.layer_norm, ("LayerNormalization",))


def _unary(name: str, ops: tuple[str, ...], lower, onnx_ops: tuple[str, ...], attributes: int = 0) -> KernelPattern:
    """QuantizeLinear([ReLU](op(DequantizeLinear(x)))) for an op of one tensor and `attributes` other arguments."""
    ann = {"input": _dq(wildcard())}
    ann["op"] = _any_op(ops)(ann["input"], *(wildcard() for _ in range(attributes)))
    ann["root"] = _q(_with_relu(ann["op"], ann))
    return KernelPattern(name, ann["root"], ann, lower, onnx_ops)


def _requantize() -> KernelPattern:
    ann = {"input": _dq(wildcard())}
    ann["root"] = _q(_with_relu(ann["input"], ann))
    return KernelPattern("edge.requantize", ann["root"], ann, layers.requantize, ("Relu", "Identity"))


TABLE = (
    _conv("edge.conv2d", layers.conv2d, lambda exprs, bindings: not _is_depthwise(exprs, bindings)),
    _conv("edge.depthwise_conv2d", layers.depthwise_conv2d, _is_depthwise),
    _dense(),
    _integer("edge.conv_integer", "relax.nn.conv2d", integer.conv, "Conv"),
    _integer("edge.matmul_integer", "relax.matmul", integer.matmul, "MatMul"),
    _matmul(),
    _elementwise(),
    _binary("edge.add", ("relax.add", "relax.subtract"), layers.add, ("Add", "Sub")),
    _binary("edge.multiply", ("relax.multiply",), layers.multiply, ("Mul",)),
    _binary("edge.divide", ("relax.divide",), layers.divide, ("Div",)),
    _concat(),
    _layer_norm(),
    _unary("edge.softmax", ("relax.nn.softmax",), transformer.softmax, ("Softmax",)),
    _unary("edge.max_pool2d", ("relax.nn.max_pool2d", "relax.nn.max_pool1d"), layers.max_pool2d, ("MaxPool",)),
    _unary("edge.avg_pool2d", ("relax.nn.avg_pool2d", "relax.nn.avg_pool1d"), layers.avg_pool2d, ("AveragePool",)),
    _unary("edge.mean", ("relax.mean",), layers.mean, ("GlobalAveragePool", "ReduceMean")),
    _unary("edge.max", ("relax.max",), layers.reduce_max, ("ReduceMax",)),
    _unary("edge.reshape", ("relax.reshape",), layout.reshape, ("Reshape", "Flatten"), attributes=1),
    _unary("edge.squeeze", ("relax.squeeze", "relax.expand_dims"), layout.reshape, ("Squeeze", "Unsqueeze")),
    _unary("edge.permute_dims", ("relax.permute_dims",), layout.permute_dims, ("Transpose",)),
    _unary("edge.take", ("relax.take",), layout.take, ("Gather",), attributes=1),
    _unary("edge.strided_slice", ("relax.strided_slice",), layout.strided_slice, ("Slice", "Split"), attributes=4),
    _unary("edge.broadcast_to", ("relax.broadcast_to",), layout.broadcast_to, ("Expand",), attributes=1),
    _unary("edge.resize", ("relax.image.resize2d",), layout.resize, ("Resize",), attributes=1),
    _requantize(),
)
BY_NAME = {p.name: p for p in TABLE}
# Clip: quantize_static folds a Clip after a quantized op into the output's range, as it does ReLU.
# Shape, ConstantOfShape, Equal, Where: shape arithmetic (of tensors of static shape, e.g. a reshape's target, the
# -1 of torch's expand), which TVM's importer and evaluate.FoldConstants compute at compile time, as they do the
# patterns' operators on integer tensors (Concat, Gather, Mul, ...). On float tensors (activations) these have no
# kernel: the frontend names the node (INTEGER_ONLY_OPS).
INTEGER_ONLY_OPS = frozenset({"ConstantOfShape", "Equal", "Where"})
ONNX_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "Constant", "Clip", "Shape", *INTEGER_ONLY_OPS}
                     .union(*(p.onnx_ops for p in TABLE)))


def _check(pattern: KernelPattern):
    def check(context) -> bool:
        exprs = {k: context.annotated_expr[k] for k in context.annotated_expr}
        bindings = dict(context.matched_bindings)
        return not has_leaking_intermediate_variables(context) and pattern.accepts(exprs, bindings)
    return check


def fusion_patterns() -> list:
    """The table as TVM FusionPatterns, highest priority first (registered once per process)."""
    if not get_patterns_with_prefix(PREFIX):
        # register_patterns gives later entries the higher priority: the table lists the highest first.
        register_patterns([(p.name, p.pattern, p.annotations, _check(p)) for p in reversed(TABLE)])
    return list(get_patterns_with_prefix(PREFIX))
