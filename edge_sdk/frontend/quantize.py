"""Quantization of float models: calibration data checked against the model's input, then
`onnxruntime.quantization.quantize_static` to QDQ form (per-channel symmetric int8 weights, int8 activations,
MinMax calibration). Models that already carry QuantizeLinear / DequantizeLinear nodes are taken as they are.

quantize_static quantizes the inputs and outputs of the operators of its own registries only; an operator
outside them (Tanh, Erf, Div, Sub, ReduceMean, ...) is computed in float between its neighbours' Q/DQ pairs, so
one that reads the model's input or writes its output would leave a float tensor at the boundary the firmware
cannot compute. The compiler therefore asks for every operator it lowers to be quantized too (and for the
data-movement operators to be quantized on an unquantized input, as on the model's input)."""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Collection
from pathlib import Path

import numpy as np
import onnx

from edge_sdk.errors import EdgeSdkError
from edge_sdk.frontend.onnx_model import TensorSpec

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
NEVER_QUANTIZED = frozenset({*QDQ_OPS, "Constant", "Shape", "Identity"})   # no activation to quantize


def is_quantized(model: onnx.ModelProto) -> bool:
    return any(n.op_type in QDQ_OPS for n in model.graph.node)


def calibration_samples(data: str | Path | np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Calibration inputs as an array [N, *spec.shape] of float32. `data` is an array, a .npy file or an .npz
    file holding one array (or one named like the input); its shape is either the input's, or N inputs
    stacked on a new first axis or (for a batch-1 input) along the batch axis."""
    if not isinstance(data, np.ndarray):
        path = Path(data)
        if not path.is_file():
            raise EdgeSdkError(f"calibration file '{path}' does not exist")
        try:
            loaded = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise EdgeSdkError(f"calibration file '{path}' is not a .npy or .npz file: {err}") from None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                names = loaded.files
                if spec.name in names:
                    data = loaded[spec.name]
                elif len(names) == 1:
                    data = loaded[names[0]]
                else:
                    raise EdgeSdkError(f"calibration file '{path}' holds {len(names)} arrays ({', '.join(names)}); "
                                       f"give one array, or name it '{spec.name}' like the model's input")
        else:
            data = loaded
    data = np.asarray(data)
    if not np.issubdtype(data.dtype, np.number):
        raise EdgeSdkError(f"calibration data must be numbers, got dtype {data.dtype}")
    shape = spec.shape
    if data.shape == shape:
        samples = data[None]
    elif data.shape[1:] == shape:
        samples = data
    elif shape[0] == 1 and data.ndim == len(shape) and data.shape[1:] == shape[1:]:
        samples = data[:, None]
    else:
        n_shape = (f"(N, {', '.join(map(str, shape[1:]))})" if shape[0] == 1 else f"(N, {', '.join(map(str, shape))})")
        raise EdgeSdkError(f"calibration data of shape {data.shape} does not fit the model's input '{spec.name}' of "
                           f"shape {shape}: give N samples as an array of shape {n_shape}")
    if len(samples) == 0:
        raise EdgeSdkError("the calibration data holds no samples")
    samples = samples.astype(np.float32)
    if not np.isfinite(samples).all():
        raise EdgeSdkError("the calibration data holds NaN or infinite values")
    return samples


def quantize(model: onnx.ModelProto, spec: TensorSpec, samples: np.ndarray,
             lowered_ops: Collection[str] = ()) -> onnx.ModelProto:
    """The float model in QDQ form, its activation ranges calibrated on `samples` [N, *spec.shape]; the inputs
    and outputs of onnxruntime's quantizable operators and of `lowered_ops` (ONNX op types) are quantized."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    op_types = sorted(set(QDQRegistry) | set(QLinearOpsRegistry) | (set(lowered_ops) - NEVER_QUANTIZED))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.samples = iter(samples)

        def get_next(self):
            x = next(self.samples, None)
            return None if x is None else {spec.name: x}

    with tempfile.TemporaryDirectory(prefix="edge-sdk-quant-") as tmp:
        out = Path(tmp) / "model.qdq.onnx"
        logging.disable(logging.WARNING)  # quantize_static advises pre-processing through the root logger
        try:
            quantize_static(model, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, op_types_to_quantize=op_types,
                            extra_options={"ForceQuantizeNoInputCheck": True})
        except Exception as err:  # noqa: BLE001 - onnxruntime raises many kinds; the user needs the message
            raise EdgeSdkError(f"onnxruntime could not quantize the model: {type(err).__name__}: {err}") from None
        finally:
            logging.disable(logging.NOTSET)
        return onnx.load(out)
