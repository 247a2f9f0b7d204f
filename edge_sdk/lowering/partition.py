"""Partitioning of the Relax module, as TVM passes: first the constant sub-expressions folded (quantized
constants, shape arithmetic: evaluate.FoldConstants), then one DequantizeLinear per consumer of an int8 tensor
or constant
(what onnxruntime's DedicatedQDQPair option writes), so a tensor read by two layers (a residual branch) is
dequantized inside each layer's pattern; then FuseOpsByPattern with the pattern table and
MergeCompositeFunctions, which gathers the composite functions into functions marked Codegen="edge"."""
from __future__ import annotations

import tvm
from tvm import relax
from tvm.ir import Op

from edge_sdk.lowering.evaluate import FoldConstants
from edge_sdk.lowering.patterns import fusion_patterns

DEQUANTIZE = Op.get("relax.dequantize")


@relax.expr_functor.mutator
class _DedicatedDequantize(relax.PyExprMutator):
    def visit_call_(self, call):
        call = super().visit_call_(call)
        args = [self._dedicated(a) for a in call.args]
        if all(a.same_as(b) for a, b in zip(args, call.args)):
            return call
        return relax.Call(call.op, args, call.attrs, call.ty_args)

    def _dedicated(self, arg):
        value = self.lookup_binding(arg) if isinstance(arg, relax.Var) else None
        if isinstance(value, relax.Call) and value.op.same_as(DEQUANTIZE):
            return self.builder_.emit(relax.Call(value.op, value.args, value.attrs))
        return arg


@tvm.transform.module_pass(opt_level=0, name="DedicatedDequantize")
class DedicatedDequantize:
    """Each use of a dequantized activation gets its own dequantize (the shared one is then dead)."""

    def transform_module(self, mod, _ctx):
        mutator = _DedicatedDequantize(mod)
        for gv, func in mod.functions.items():
            if isinstance(func, relax.Function):
                mod[gv] = mutator.visit_expr(func)
        return mod


def partition(mod):
    """The module with every matched pattern a composite function inside Codegen="edge" functions."""
    return tvm.transform.Sequential([
        FoldConstants(),
        relax.transform.CanonicalizeBindings(),
        DedicatedDequantize(),
        relax.transform.DeadCodeElimination(["main"]),
        relax.transform.FuseOpsByPattern(fusion_patterns(), bind_constants=True, annotate_codegen=False),
        relax.transform.MergeCompositeFunctions(),
    ])(mod)
