"""ONNX -> TVM Relax: `tvm.relax.frontend.onnx.from_onnx` with the weights as constants, then Relax clean-up
passes. QuantizeLinear / DequantizeLinear become `relax.quantize` / `relax.dequantize`, so the int8 weights stay
int8 constants the lowering's patterns see."""
from __future__ import annotations

import warnings

import onnx

from edge_sdk.errors import EdgeSdkError


def to_relax(model: onnx.ModelProto):
    """The model as a Relax IRModule whose `main` takes the model's input and returns its output (float32, or the
    integers of an already quantized int8 / uint8 input or output)."""
    import tvm
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # input renaming, onnx checker echoes: already checked by the frontend
        try:
            mod = from_onnx(model, keep_params_in_input=False)
        except Exception as err:  # noqa: BLE001 - the importer raises many kinds; the user needs the message
            raise EdgeSdkError(f"TVM's ONNX importer could not convert the model: {type(err).__name__}: "
                               f"{str(err).strip().splitlines()[0] if str(err).strip() else ''}") from None
    cleanup = tvm.transform.Sequential([relax.transform.CanonicalizeBindings(),
                                        relax.transform.DeadCodeElimination(["main"])])
    return cleanup(mod)
