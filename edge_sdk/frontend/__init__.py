"""The compiler's first stage: an ONNX model (float + calibration data, or already QDQ) -> a checked QDQ model
and its TVM Relax module (`QuantizedModel`)."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from edge_sdk.errors import EdgeSdkError
from edge_sdk.frontend import onnx_model, quantize
from edge_sdk.frontend.onnx_model import TensorSpec, reference
from edge_sdk.frontend.relax_import import to_relax

__all__ = ["QuantizedModel", "TensorSpec", "load", "reference"]


@dataclass
class QuantizedModel:
    qdq: onnx.ModelProto   # the QDQ model the firmware computes (what onnxruntime runs as the reference)
    relax: object          # tvm.IRModule of it
    input: TensorSpec
    output: TensorSpec
    quantized_here: bool   # True when the frontend quantized a float model with the calibration data


def load(model: str | Path | onnx.ModelProto, calibration: str | Path | np.ndarray | None,
         supported_ops: Collection[str], integer_only_ops: Collection[str] = ()) -> QuantizedModel:
    """Read and check `model` (its operators against `supported_ops`, ONNX op types; those of `integer_only_ops`
    only on integer tensors); quantize it with the calibration data when it is a float model (every operator of
    `supported_ops` quantized); import it into Relax."""
    m = onnx_model.read(model)
    x, y = onnx_model.interface(m)
    onnx_model.check_operators(m, supported_ops, integer_only_ops)
    quantized_here = not quantize.is_quantized(m)
    if quantized_here:
        if calibration is None:
            raise EdgeSdkError(f"the model is a float model: give calibration data (--calibration DATA.npz, N "
                               f"samples of the input '{x.name}' of shape {x.shape}) to quantize it, or give a "
                               "model in QDQ form")
        m = quantize.quantize(m, x, quantize.calibration_samples(calibration, x), supported_ops)
    elif calibration is not None:
        raise EdgeSdkError("the model is already quantized (it has QuantizeLinear/DequantizeLinear nodes): it "
                           "needs no calibration data; drop --calibration")
    return QuantizedModel(m, to_relax(m), x, y, quantized_here)
