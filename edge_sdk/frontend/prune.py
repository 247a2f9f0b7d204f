"""N:M magnitude pruning of an ONNX model's weights (`edge_sdk.prune`, `edge-sdk prune`), grouped exactly as the
packed format of `riscv_ext/nm_format.py` reads them, so the compiler detects the pattern per layer and runs the
layer on the N:M kernels.

Weight layers: Conv (weights (Cout, Cin, Kh, Kw), grouped along Kh*Kw*Cin with Cin fastest: the im2col row),
Gemm (B, grouped along its inputs: transB or not) and MatMul with a constant 2-D B (grouped along its rows, the
inputs). A float model's weight initializers are pruned; in a QDQ model the integer weights feeding
DequantizeLinear (their value minus the zero point), scales and zero points kept. Depthwise and grouped
convolutions, weights that are not constant, and layers whose reduction size is not a multiple of M stay
dense; the result names every layer, what was pruned and why the others were not."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from edge_sdk.errors import EdgeSdkError
from edge_sdk.frontend import onnx_model
from edge_sdk.report import check_output_path
from riscv_ext import nm_format

WEIGHT_OPS = ("Conv", "Gemm", "MatMul")


@dataclass(frozen=True)
class LayerPruning:
    """What happened to one weight layer: pruned to `pattern`, or left dense (`pattern` None) for `reason`."""
    name: str
    op: str
    shape: tuple[int, ...]
    pattern: str | None
    reason: str
    nonzero: int
    weights: int


def parse_pattern(text: str) -> nm_format.Pattern:
    """The pattern named by text ('1:8'), or an EdgeSdkError naming the supported ones."""
    try:
        return nm_format.parse_pattern(text)
    except nm_format.NMFormatError as err:
        raise EdgeSdkError(str(err)) from None


def prune_weight(weight: np.ndarray, pattern: nm_format.Pattern, layout: str) -> np.ndarray:
    """`weight` magnitude-pruned to `pattern` along its reduction axis, in its own shape and dtype. layout:
    "oihw" conv weights (Cout, Cin, Kh, Kw), grouped along Kh*Kw*Cin with Cin fastest (a 1-D conv's (Cout, Cin, K)
    as (Cout, Cin, 1, K), the image of one row the compiler runs it as); "out_in" a linear weight (out, in) (Gemm
    with transB, torch Linear); "in_out" one stored (in, out) (MatMul, Gemm without transB).
    An NMFormatError when the reduction size is not a multiple of M."""
    if layout == "oihw" and weight.ndim == 3:
        return prune_weight(weight[:, :, None, :], pattern, layout)[:, :, 0, :]
    if layout == "oihw":
        cout, cin, kh, kw = weight.shape
        rows = nm_format.prune(nm_format.conv_rows(weight), pattern)
        return rows.reshape(cout, kh, kw, cin).transpose(0, 3, 1, 2)
    if layout == "in_out":
        return nm_format.prune(weight.T, pattern).T
    return nm_format.prune(weight, pattern)


def conv_groups_reason(groups: int, cin_per_group: int, cout: int) -> str:
    """Why a grouped convolution stays dense."""
    if cin_per_group == 1 and groups == cout:
        return "depthwise convolution: the depthwise kernel is dense only"
    return f"grouped convolution (group = {groups}): the N:M kernels take group = 1"


def _attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    return next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


class _Weights:
    """A graph's constant weights: initializers, and integer initializers behind a DequantizeLinear."""

    def __init__(self, model: onnx.ModelProto):
        self.initializers = {i.name: i for i in model.graph.initializer}
        self.dequantized = {n.output[0]: n for n in model.graph.node
                            if n.op_type == "DequantizeLinear" and n.input[0] in self.initializers}

    def initializer(self, name: str) -> onnx.TensorProto | None:
        """The initializer holding the values of tensor `name` (its integers if it is dequantized)."""
        dq = self.dequantized.get(name)
        return self.initializers.get(dq.input[0] if dq is not None else name)

    def _zero_point(self, name: str, w: np.ndarray) -> np.ndarray | None:
        """The zero point of dequantized tensor `name` (int64, broadcast against its integers w); None if float."""
        dq = self.dequantized.get(name)
        if dq is None:
            return None
        zp_name = dq.input[2] if len(dq.input) > 2 else ""
        zp = numpy_helper.to_array(self.initializers[zp_name]) if zp_name else np.zeros((), np.int64)
        shape = [1] * w.ndim
        if zp.size > 1:
            shape[_attribute(dq, "axis", 1) % w.ndim] = -1
        return zp.astype(np.int64).reshape(shape)

    def nonzero(self, name: str) -> int:
        """How many of the weights of tensor `name` are not zero (in real value: integers minus the zero point)."""
        w = numpy_helper.to_array(self.initializer(name))
        zp = self._zero_point(name, w)
        return int(np.count_nonzero(w if zp is None else w.astype(np.int64) - zp))

    def prune(self, name: str, pattern: nm_format.Pattern, layout: str) -> None:
        """Prune the weights of tensor `name` in place (integers: their value minus the zero point, per channel
        along the dequantization axis; a pruned one becomes the zero point)."""
        tensor = self.initializer(name)
        w = numpy_helper.to_array(tensor)
        zp = self._zero_point(name, w)
        if zp is None:
            pruned = prune_weight(w, pattern, layout)
        else:
            kept = prune_weight(w.astype(np.int64) - zp, pattern, layout) != 0
            pruned = np.where(kept, w, np.broadcast_to(zp, w.shape)).astype(w.dtype)
        tensor.CopyFrom(numpy_helper.from_array(pruned, tensor.name))


def _layout(node: onnx.NodeProto, w: np.ndarray) -> tuple[str | None, str]:
    """(layout of the node's weights, or None and why the layer stays dense)."""
    if node.op_type == "Conv":
        if w.ndim not in (3, 4):
            return None, f"{w.ndim - 2}-D convolution: the N:M kernels take 1-D and 2-D convolutions"
        groups = _attribute(node, "group", 1)
        return ("oihw", "") if groups == 1 else (None, conv_groups_reason(groups, w.shape[1], w.shape[0]))
    if w.ndim != 2:
        return None, f"{node.op_type} with a weight of rank {w.ndim}: the N:M kernels take 2-D weights"
    if node.op_type == "Gemm":
        return ("out_in" if _attribute(node, "transB", 0) else "in_out"), ""
    return "in_out", ""


def prune_model(model: onnx.ModelProto, pattern: nm_format.Pattern) -> list[LayerPruning]:
    """Prune every weight layer of `model` (in place) that the N:M kernels can take; one entry per layer."""
    weights = _Weights(model)
    layers = []
    for k, node in enumerate(n for n in model.graph.node if n.op_type in WEIGHT_OPS):
        name = node.name or f"{node.op_type}_{k}"
        tensor = weights.initializer(node.input[1])
        if tensor is None:
            layers.append(LayerPruning(name, node.op_type, (), None, "its weights are not a constant initializer", 0, 0))
            continue
        w = numpy_helper.to_array(tensor)
        layout, reason = _layout(node, w)
        if layout is not None:
            try:
                weights.prune(node.input[1], pattern, layout)
            except nm_format.NMFormatError as err:
                layout, reason = None, str(err)
        layers.append(LayerPruning(name, node.op_type, tuple(w.shape), pattern.name if layout else None, reason,
                                   weights.nonzero(node.input[1]), int(w.size)))
    return layers


def prune(model_path: str | Path, out_path: str | Path, pattern: str) -> list[LayerPruning]:
    """Magnitude-prune the ONNX model at model_path to the N:M `pattern` ("1:8", ...) and write it to out_path
    (only when every step succeeded); what happened to each weight layer. An EdgeSdkError when the model has no
    layer that can be pruned."""
    p = parse_pattern(pattern)
    check_output_path(out_path, "-o")
    model = onnx_model.read(model_path)
    layers = prune_model(model, p)
    if not any(layer.pattern for layer in layers):
        why = "; ".join(f"{layer.name}: {layer.reason}" for layer in layers) or \
            f"it has no {', '.join(WEIGHT_OPS)} layer with constant weights"
        raise EdgeSdkError(f"'{model_path}' has no layer that can be pruned to {p.name} ({why}); nothing written")
    out = Path(out_path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        onnx.save(model, tmp)
        os.replace(tmp, out)
    except OSError as err:
        raise EdgeSdkError(f"cannot write -o '{out_path}': {err.strerror or err}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return layers


def table(layers: list[LayerPruning]) -> str:
    """Per layer what was pruned and what was left dense and why, for people."""
    lines = [f"{'layer':<24} {'op':<7} {'weights':<18} {'pattern':<8} {'non-zero':>16}  left dense because",
             "-" * 100]
    for layer in layers:
        share = f"{layer.nonzero:,}/{layer.weights:,}" if layer.weights else "-"
        lines.append(f"{layer.name:<24} {layer.op:<7} {'x'.join(map(str, layer.shape)) or '-':<18} "
                     f"{layer.pattern or 'dense':<8} {share:>16}  {layer.reason}".rstrip())
    pruned = [layer for layer in layers if layer.pattern]
    lines.append(f"{len(pruned)} of {len(layers)} weight layers pruned to {pruned[0].pattern}" if pruned else
                 f"none of {len(layers)} weight layers pruned")
    return "\n".join(lines)
