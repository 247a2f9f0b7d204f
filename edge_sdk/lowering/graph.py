"""From the partitioned Relax module to the program's layers, in execution order. `main` must be: the input's
QuantizeLinear (done on the host), calls of Codegen="edge" functions (each a sequence of composite calls, one
kernel selection each, layers.py), the output's DequantizeLinear (done on the host). An int8 / uint8 input or
output (a model already quantized at its boundary) has no QuantizeLinear / DequantizeLinear: the host stores and
returns its integers as they are, and so does an int32 output (the exact sum of a ConvInteger / MatMulInteger,
integer.py). Any other binding is an operator without a kernel, and an error that names it.
A model that is only its boundary's QuantizeLinear or DequantizeLinear has no layer: the host computes it."""
from __future__ import annotations

import numpy as np
from tvm import relax
from tvm.ir import GlobalVar, Op

from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering.layers import Match, qparams_of, shape_of, storage_shift
from edge_sdk.lowering.patterns import BY_NAME, PREFIX
from edge_sdk.lowering.program import Layer, Tensor
from edge_sdk.lowering.quant import QParams

QUANTIZE, DEQUANTIZE = Op.get("relax.quantize"), Op.get("relax.dequantize")
SUPPORTED = ("conv2d and conv1d (grouped, dilated, depthwise), dense (Gemm / MatMul with constant weights), matmul "
             "of two activations, add / sub / mul / div of two tensors of broadcastable shapes or of a tensor and a "
             "constant, concat, expand, split, nearest Resize by integer factors, elementwise float islands on one "
             "tensor with scalar constants (erf, tanh, sigmoid, exp, log, sqrt, GELU, HardSwish, ELU, Mish, +, -, *, "
             "/, pow, clip, ...; PReLU with a slope per channel), softmax, layer-norm, max / average pooling (2-D and "
             "1-D), ReduceMean, ReduceMax, reshape / flatten / squeeze / unsqueeze, transpose, gather with a constant "
             "index, slice, requantize and ReLU, each between DequantizeLinear and QuantizeLinear; and as the model's "
             "int32 output, ConvInteger / MatMulInteger (conv / matmul with constant weights, their exact integer sum)")


def _bindings(expr) -> list:
    return [b for block in expr.body.blocks for b in block.bindings]


def _describe(value) -> str:
    if isinstance(value, relax.Call):
        op = value.op.name if isinstance(value.op, Op) else getattr(value.op, "name_hint", str(value.op))
        if op == "relax.call_tir":
            op = f"call_tir({value.args[0].name_hint})"
        ty = value.ty
        shape = f" producing {shape_of(value)} {ty.dtype}" if isinstance(ty, relax.TensorType) and ty.shape is not None else ""
        return f"{op}{shape}"
    return type(value).__name__


def _integers(expr) -> QParams | None:
    """For an int8 / uint8 tensor (the model's already quantized input or output), the quantization whose real
    values are its integers (scale 1, the firmware's storage shift); None for another type."""
    dtype = str(getattr(expr.ty, "dtype", ""))
    return QParams(1.0, -storage_shift(np.dtype(dtype))) if dtype in ("int8", "uint8") else None


def _unsupported(value) -> EdgeSdkError:
    return EdgeSdkError(f"the model's {_describe(value)} has no kernel: it is not part of a quantized operator the "
                        f"MCU backend lowers ({SUPPORTED})")


class _Selection:
    def __init__(self, isa: str, sparse: bool):
        self.isa, self.sparse = isa, sparse
        self.layers: list[Layer] = []
        self.tensors: dict = {}          # Relax var of main -> Tensor

    def new_tensor(self, shape, q, perm=None, dtype="int8") -> Tensor:
        return Tensor("", tuple(shape), q, perm=perm, dtype=dtype)

    def region(self, func, args: list[Tensor]):
        """Lower a Codegen="edge" function; its result as a Tensor (or a tuple of them)."""
        env = dict(zip(func.params, args))
        composites = {}
        for b in _bindings(func):
            if isinstance(b.value, relax.Function):
                composites[b.var] = b.value
            elif isinstance(b.value, relax.Call) and b.value.op in composites:
                env[b.var] = self.composite(composites[b.value.op], [env[a] for a in b.value.args])
            elif isinstance(b.value, relax.Tuple):
                env[b.var] = tuple(env[f] for f in b.value.fields)
            elif isinstance(b.value, relax.TupleGetItem):
                env[b.var] = env[b.value.tuple_value][b.value.index]
            else:
                raise _unsupported(b.value)
        body = func.body.body
        return tuple(env[f] for f in body.fields) if isinstance(body, relax.Tuple) else env[body]

    def composite(self, func, args: list[Tensor]) -> Tensor:
        pattern = BY_NAME[str(func.attrs["Composite"])]
        matched = pattern.pattern.extract_matched_expr(func.body.body, relax.analysis.get_var2val(func))
        exprs = {k: matched[p] for k, p in pattern.annotations.items() if p in matched}
        m = Match(pattern.name, exprs, dict(zip(func.params, args)), self.isa, self.new_tensor, self.sparse, func)
        for layer in pattern.lower(m):
            layer.name = f"{layer.op}_{len(self.layers)}"
            layer.output.name = layer.output.name or layer.name
            self.layers.append(layer)
        return m.output()


def select_layers(mod, isa: str, sparse: bool = True) -> tuple[Tensor, Tensor, list[Layer]]:
    """The input tensor (quantized on the host, or an int8 / uint8 input's integers), the output tensor
    (dequantized on the host, or an int8 / uint8 output's integers) and the layers (none when the host's
    QuantizeLinear / DequantizeLinear is the whole model); with `sparse`, weight layers whose weights follow an
    N:M pattern may use the sparse kernels."""
    main = mod["main"]
    if len(main.params) != 1:
        raise EdgeSdkError(f"the model's main function takes {len(main.params)} inputs; the compiler takes one")
    param, result = main.params[0], main.body.body
    sel = _Selection(isa, sparse)
    source = output = None
    if (integers := _integers(param)) is not None:
        sel.tensors[param] = source = Tensor("input", shape_of(param), integers)
    leftovers = []
    for b in _bindings(main):
        v = b.value
        if isinstance(v, relax.Call) and v.op.same_as(QUANTIZE) and v.args[0].same_as(param) and source is None:
            q = qparams_of(v.args[1], v.args[2], "the model's input")
            sel.tensors[b.var] = source = Tensor("input", shape_of(v), q)
        elif isinstance(v, relax.Call) and isinstance(v.op, GlobalVar) and all(a in sel.tensors for a in v.args) \
                and mod[v.op].attrs and str(mod[v.op].attrs.get("Codegen", "")) == PREFIX:
            sel.tensors[b.var] = sel.region(mod[v.op], [sel.tensors[a] for a in v.args])
        elif isinstance(v, relax.TupleGetItem) and v.tuple_value in sel.tensors:
            sel.tensors[b.var] = sel.tensors[v.tuple_value][v.index]
        elif isinstance(v, relax.Call) and v.op.same_as(DEQUANTIZE) and b.var.same_as(result) and \
                v.args[0] in sel.tensors:
            stored = sel.tensors[v.args[0]]
            output = Tensor("output", stored.shape, qparams_of(v.args[1], v.args[2], "the model's output"), base=stored,
                            perm=stored.order)
        else:
            leftovers.append(v)
    if output is None and result in sel.tensors and sel.tensors[result].dtype == "int32":
        stored = sel.tensors[result]     # an int32 sum (integer.py): returned as it is
        output = Tensor("output", stored.shape, stored.q, base=stored, perm=stored.order, dtype="int32")
    elif output is None and result in sel.tensors and (integers := _integers(result)) is not None:
        stored = sel.tensors[result]
        output = Tensor("output", stored.shape, integers, base=stored, perm=stored.order)
    if leftovers:
        # The quantize / dequantize around an operator without a kernel are left over too: name the operator.
        ops = [v for v in leftovers if not (isinstance(v, relax.Call) and (v.op.same_as(QUANTIZE) or v.op.same_as(DEQUANTIZE)))]
        raise _unsupported((ops or leftovers)[0])
    if source is None:
        raise EdgeSdkError("the model does not quantize its input with a QuantizeLinear first; the firmware computes "
                           "in int8 from the quantized input")
    if output is None:
        raise EdgeSdkError("the model's output is neither the DequantizeLinear of a quantized tensor nor an int8 / "
                           "uint8 tensor")
    return source, output, sel.layers

