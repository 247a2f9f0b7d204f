"""Compile-time evaluation of Relax operators with numpy, in float32 as onnxruntime computes them (each operator
rounded to float32, QuantizeLinear / DequantizeLinear as in quant.py):
- `FoldConstants`, a TVM pass: the quantization of constants (also of a constant broadcast: a class token
  expanded to the batch) and the shape arithmetic TVM's importer leaves in `main` (a Gather's index computed from
  `shape_of`, a slice's bounds computed from the input's shape: torch.chunk) become constants, so the patterns see
  int8 constants and constant indices; a slice whose bounds are then known, and each output of a split, becomes
  a static strided_slice (edge.strided_slice);
- `function`: a composite function evaluated on given inputs: the lookup table of an elementwise island is its
  function evaluated on all 256 int8 values (transformer.py).

ELEMENTWISE holds the float operators an elementwise island may be made of (patterns.py builds its pattern from
it): unary ones, ones of one tensor with attributes or scalar arguments (a slope, a dtype, clip bounds), and binary
ones whose other operand is a constant or another function of the island's input (HardSwish: x * clip(x + 3)/6)."""
from __future__ import annotations

import math

import numpy as np
import tvm
from tvm import relax
from tvm.ir import Constant, Op
from tvm.ir.prim import FloatImm, IntImm

from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering.quant import dequantize_linear, quantize_linear

_erf = np.vectorize(math.erf, otypes=[np.float64])
_F32 = np.float32


def _f32(x) -> np.ndarray:
    return np.asarray(x, np.float64).astype(np.float32)


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return (_F32(1) / (_F32(1) + np.exp(-x))).astype(np.float32)


def _gelu(x):
    return (x * _F32(0.5) * (_F32(1) + _f32(_erf(x * _F32(math.sqrt(0.5)))))).astype(np.float32)


def _gelu_tanh(x):
    inner = _F32(math.sqrt(2 / math.pi)) * (x + _F32(0.044715) * x * x * x)
    return (_F32(0.5) * x * (_F32(1) + np.tanh(inner))).astype(np.float32)


UNARY = {
    "relax.erf": lambda x: _f32(_erf(x)),
    "relax.tanh": np.tanh,
    "relax.sigmoid": _sigmoid,
    "relax.exp": np.exp,
    "relax.sqrt": np.sqrt,
    "relax.negative": np.negative,
    "relax.abs": np.abs,
    "relax.nn.gelu": _gelu,
    "relax.nn.gelu_tanh": _gelu_tanh,
    "relax.log": np.log,
    "relax.nn.relu": lambda x: np.maximum(x, np.zeros((), x.dtype)),
}
# Elementwise operators of one tensor with attributes (LeakyRelu's slope, a Cast's dtype) or with scalar arguments
# (Clip's bounds, integer immediates, as TVM's importer writes HardSigmoid and HardSwish):
# name -> (scalar arguments, function).
UNARY_WITH_ATTRIBUTES = {
    "relax.nn.leakyrelu": (0, lambda args, attrs: np.where(args[0] >= 0, args[0], args[0] * _F32(attrs.alpha))),
    "relax.astype": (0, lambda args, attrs: args[0].astype(str(attrs.dtype))),
    "relax.clip": (2, lambda args, attrs: np.clip(args[0], args[1], args[2]).astype(args[0].dtype)),
}


def _prelu(args, attrs):
    """PReLU: x, or x times its slope (one per index along `axis`, or one for all) where x < 0."""
    x, slope = args
    shape = [1] * x.ndim
    if slope.size > 1:
        shape[int(attrs.axis) % x.ndim] = -1
    return np.where(x >= 0, x, x * slope.reshape(shape)).astype(x.dtype)


# Elementwise operators of two tensors with attributes (PReLU's axis): the island's input and a constant.
BINARY_WITH_ATTRIBUTES = {"relax.nn.prelu": _prelu}
BINARY = {
    "relax.add": np.add,
    "relax.subtract": np.subtract,
    "relax.multiply": np.multiply,
    "relax.divide": np.divide,
    "relax.power": np.power,
    "relax.maximum": np.maximum,
    "relax.minimum": np.minimum,
    "relax.greater": np.greater,
    "relax.less": np.less,
}
ELEMENTWISE = {**{name: (lambda args, attrs, f=f: f(*args)) for name, f in {**UNARY, **BINARY}.items()},
               **{name: f for name, (_, f) in UNARY_WITH_ATTRIBUTES.items()}, **BINARY_WITH_ATTRIBUTES}


def _scatter_elements(args, attrs):
    """With reduction "update", as TVM's importer writes a Slice's bounds (ScatterElements is no ONNX_OPS operator)."""
    out = np.array(args[0])
    np.put_along_axis(out, np.asarray(args[1], np.int64), args[2], axis=int(attrs.axis))
    return out


def _take(args, attrs):
    mode = str(attrs.mode)
    return np.take(args[0], args[1], axis=int(attrs.axis), mode=mode if mode in ("wrap", "clip") else "raise")


OPS = {
    **ELEMENTWISE,
    "relax.quantize": lambda args, attrs: quantize_linear(args[0], args[1], args[2], int(attrs.axis)),
    "relax.dequantize": lambda args, attrs: dequantize_linear(args[0], args[1], args[2], int(attrs.axis)),
    "relax.equal": lambda args, attrs: np.equal(args[0], args[1]),
    "relax.where": lambda args, attrs: np.where(args[0], args[1], args[2]),
    "relax.take": _take,
    "relax.scatter_elements": _scatter_elements,
    "relax.broadcast_to": lambda args, attrs: np.broadcast_to(args[0], tuple(args[1])),
    "relax.reshape": lambda args, attrs: np.reshape(args[0], tuple(args[1])),
    "relax.shape_to_tensor": lambda args, attrs: np.asarray(args[0], np.int64),
}


def call(op_name: str, args: list[np.ndarray], attrs) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(OPS[op_name](args, attrs))


def constant(expr) -> np.ndarray:
    """The value of a constant, or of an operator of OPS applied to constants (e.g. a dequantized constant); a
    tuple of integers (a strided_slice's axes, begins, ends, strides) as an array."""
    if isinstance(expr, (IntImm, FloatImm)):     # a Constant whose value is a Python number
        return np.asarray(expr.value)
    if isinstance(expr, Constant):
        return expr.value.numpy()
    if isinstance(expr, relax.ShapeExpr):
        return np.array([int(v) for v in expr.values], np.int64)
    if isinstance(expr, relax.Tuple):
        return np.array([constant(f) for f in expr.fields])
    return call(expr.op.name, [constant(a) for a in expr.args], expr.attrs)


def function(func, inputs: list[np.ndarray], nan_error: str | None = None) -> np.ndarray:
    """func (a Relax function of OPS operators) evaluated on inputs; with `nan_error`, an EdgeSdkError of that text
    when a value on the way is NaN (which QuantizeLinear has no integer for)."""
    env = dict(zip(func.params, inputs))

    def value(e):
        return env[e] if isinstance(e, relax.Var) else constant(e)

    for block in func.body.blocks:
        for b in block.bindings:
            env[b.var] = call(b.value.op.name, [value(a) for a in b.value.args], b.value.attrs) \
                if isinstance(b.value, relax.Call) else value(b.value)
            if nan_error and np.issubdtype(np.asarray(env[b.var]).dtype, np.floating) and np.isnan(env[b.var]).any():
                raise EdgeSdkError(nan_error)
    return value(func.body.body)


def _static_shape(expr) -> list[int] | None:
    try:
        return [int(s) for s in expr.ty.shape]
    except (TypeError, ValueError, AttributeError):
        return None


@relax.expr_functor.mutator
class _Folder(relax.PyExprMutator):
    SHAPE_OF = Op.get("relax.shape_of")
    DYNAMIC_SLICE, SPLIT = Op.get("relax.dynamic_strided_slice"), Op.get("relax.split")

    def _value(self, expr):
        """expr's value when it is known at compile time, else None."""
        if isinstance(expr, relax.Var):
            bound = self.lookup_binding(expr)
            return None if bound is None else self._value(bound)
        if isinstance(expr, (Constant, relax.ShapeExpr)):
            return constant(expr)
        if isinstance(expr, relax.Call) and isinstance(expr.op, Op) and expr.op.name in OPS:
            args = [self._value(a) for a in expr.args]
            if all(a is not None for a in args):
                return call(expr.op.name, args, expr.attrs)
        return None

    def visit_call_(self, call_node):
        new = super().visit_call_(call_node)
        if not isinstance(new.op, Op):
            return new
        if new.op.same_as(self.SHAPE_OF):
            shape = _static_shape(new.args[0])
            return new if shape is None else relax.ShapeExpr(shape)
        if new.op.same_as(self.DYNAMIC_SLICE):
            bounds = [self._value(a) for a in new.args[1:]]
            if all(b is not None for b in bounds):
                begin, end, strides = (b.astype(np.int64).tolist() for b in bounds)
                return relax.op.strided_slice(new.args[0], list(range(len(begin))), begin, end, strides)
            return new
        ty = call_node.ty
        # Fold quantized constants and integer (shape) arithmetic; a dequantized constant stays: the patterns
        # read weights as dequantize(int8 constant).
        if new.op.name == "relax.quantize" or (isinstance(ty, relax.TensorType) and not str(ty.dtype).startswith("float")):
            value = self._value(new)
            if value is not None:
                return relax.const(value, str(ty.dtype))
        return new

    def visit_tuple_getitem_(self, op):
        """Output k of a split: the static slice of its input it is (a split's outputs have static shapes)."""
        new = super().visit_tuple_getitem_(op)
        split = self.lookup_binding(new.tuple_value) if isinstance(new.tuple_value, relax.Var) else None
        if not (isinstance(split, relax.Call) and split.op.same_as(self.SPLIT)):
            return new
        axis = int(split.attrs.axis) % len(split.args[0].ty.shape)
        begin = sum(int(field.shape[axis]) for field in split.ty.fields[:new.index])
        return relax.op.strided_slice(split.args[0], [axis], [begin], [begin + int(new.ty.shape[axis])], [1])


@tvm.transform.module_pass(opt_level=0, name="FoldConstants")
class FoldConstants:
    """Quantized constants and shape arithmetic of `main` evaluated at compile time; slices of known bounds and
    the outputs of a split as static strided_slices."""

    def transform_module(self, mod, _ctx):
        folder = _Folder(mod)
        for gv, func in mod.functions.items():
            if isinstance(func, relax.Function):
                mod[gv] = folder.visit_expr(func)
        return mod
