"""The quantization arithmetic of the compiled firmware, and its rounding against the ONNX QDQ definition.

Every int8 tensor t holds real values s_t * (q - zp_t) (uint8 tensors of a QDQ model are stored as int8
q - 128 with zero point zp - 128: the same real values). A layer computes its integer accumulator exactly and
requantizes it to its output with a fixed-point multiplier (firmware/include/nn_i8.h):
    y = clamp(((acc + bias) * mult + 2^(shift-1)) >> shift) + zp_out)      mult in [2^30, 2^31)
i.e. acc * M rounded half up, with M = s_in * s_w / s_out to 31 bits. ONNX QDQ (onnxruntime with graph
optimizations off) computes the same layer in float32 on dequantized values and rounds half to even. The two
agree exactly but where the float32 sum lands within its rounding error of a .5 boundary (or on a tie): there
they differ by one step. The model's input is quantized and its output dequantized on the host, exactly as
QuantizeLinear / DequantizeLinear do (float32 division, round half to even, saturation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge_sdk.errors import EdgeSdkError

INT8_MIN, INT8_MAX = -128, 127


def _along(values: np.ndarray, ndim: int, axis: int | None) -> np.ndarray:
    """Per-axis quantization parameters shaped to broadcast along `axis` of an ndim-D tensor (scalars as they are)."""
    values = np.asarray(values)
    if values.size == 1 or axis is None:
        return values.reshape(())
    shape = [1] * ndim
    shape[axis % ndim] = -1
    return values.reshape(shape)


def quantize_linear(x: np.ndarray, scale, zero_point, axis: int | None = None) -> np.ndarray:
    """ONNX QuantizeLinear: float32 x / scale, round half to even, + zero point, saturated to the zero point's
    integer type (per tensor, or per channel along `axis`)."""
    x = np.asarray(x, np.float32)
    zp = np.asarray(zero_point)
    info = np.iinfo(zp.dtype)
    q = np.rint(x / _along(np.asarray(scale, np.float32), x.ndim, axis)) + _along(zp, x.ndim, axis).astype(np.float32)
    return np.clip(q, info.min, info.max).astype(zp.dtype)


def dequantize_linear(q: np.ndarray, scale, zero_point, axis: int | None = None) -> np.ndarray:
    """ONNX DequantizeLinear: (q - zero point) * scale in float32 (per tensor, or per channel along `axis`)."""
    q = np.asarray(q)
    diff = (q.astype(np.int64) - _along(zero_point, q.ndim, axis).astype(np.int64)).astype(np.float32)
    return (diff * _along(np.asarray(scale, np.float32), q.ndim, axis)).astype(np.float32)


@dataclass(frozen=True)
class QParams:
    """Per-tensor quantization of an int8 tensor: real = scale * (q - zero_point)."""
    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """ONNX QuantizeLinear to int8 (float32 x / scale, round half to even, saturate)."""
        return quantize_linear(x, np.float32(self.scale), np.int8(self.zero_point))

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """ONNX DequantizeLinear: (q - zero_point) * scale in float32."""
        return dequantize_linear(q, np.float32(self.scale), np.int8(self.zero_point))

    def quantize_value(self, v: float) -> int:
        return int(self.quantize(np.float32(v)))


def multiplier(m: float) -> tuple[int, int]:
    """(mult, shift) with mult * 2^-shift = m, mult in [2^30, 2^31) (as the kernels' fast path for shift >= 33
    expects), 1 <= shift <= 63; below 2^-32 the multiplier loses bits (its outputs are the zero point)."""
    if not (m > 0 and math.isfinite(m)):
        raise EdgeSdkError(f"a requantization scale ratio is {m}: quantization scales must be positive and finite")
    shift = 30 - math.floor(math.log2(m))
    if shift < 1:
        raise EdgeSdkError(f"a requantization scale ratio of {m:.4g} is too large for the kernels (at most 2^29): "
                           "check the model's quantization scales")
    shift = min(shift, 63)
    mult = round(m * 2.0 ** shift)
    if mult >= 1 << 31:
        mult, shift = mult >> 1, shift - 1
    return int(mult), int(shift)


def multipliers(ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`multiplier` of each entry, as int32 arrays."""
    pairs = [multiplier(float(m)) for m in np.ravel(ms)]
    return (np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32))


def activation_range(out: QParams, lo: float | None = None, hi: float | None = None) -> tuple[int, int]:
    """[act_min, act_max] of an output clamped to the real range [lo, hi] (ReLU: lo = 0): quantizing is
    monotonic, so Q(clip(y)) = clamp(Q(y), Q(lo), Q(hi)) exactly."""
    qmin = INT8_MIN if lo is None else max(INT8_MIN, out.quantize_value(lo))
    qmax = INT8_MAX if hi is None else min(INT8_MAX, out.quantize_value(hi))
    return qmin, qmax
