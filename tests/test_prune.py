"""N:M pruning (issue 11, `edge-sdk prune` and SR-STE): ONNX models made with PyTorch pruned along the reduction
axis the packed format reads (checked with nm_format.validate on rows built here from the saved model), the
layers the kernels cannot take left dense with the reason, the pattern detected by the compiler per layer,
QDQ models pruned in their integers with scales and zero points kept, SR-STE fine-tuning on real data ending
in an exact N:M model with a lower loss, and every bad input one `error:` line, exit 2, nothing written."""
from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from torch import nn

import edge_sdk
from edge_sdk import EdgeSdkError, compiler, frontend
from edge_sdk.frontend import prune
from edge_sdk.frontend.prune_torch import NMSparse, prune_torch, train
from edge_sdk.learning import datasets
from edge_sdk.lowering import sparsity
from riscv_ext import nm_format
from tests.test_compiler import Residual, SmallCNN, SmallMLP, cli, export, qdq_elsewhere, samples
from tests.test_transformer import Lambda


def initializers_of(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def initializers(path) -> dict[str, np.ndarray]:
    return initializers_of(onnx.load(path))


def weight_rows(path) -> dict[str, np.ndarray]:
    """Per Conv / Gemm node of a float model its weights as the kernels read them: (Cout, Kh*Kw*Cin), (out, in)."""
    inits, rows = initializers(path), {}
    for node in onnx.load(path).graph.node:
        if node.op_type == "Conv":
            rows[node.name] = nm_format.conv_rows(inits[node.input[1]])
        elif node.op_type == "Gemm":
            rows[node.name] = inits[node.input[1]]          # torch's Linear: transB = 1, (out, in)
    return rows


def weight_dequantizers(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """The DequantizeLinear nodes of a QDQ MLP's weights (2-D int8 initializers; the biases are int32)."""
    inits = initializers_of(model)
    return [n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
            and inits[n.input[0]].dtype == np.int8 and inits[n.input[0]].ndim == 2]


def nonzero(rows: np.ndarray) -> np.ndarray:
    return (rows != 0).astype(np.int8)


def test_float_cnn_pruned_along_the_im2col_row(tmp_path):
    path = export(SmallCNN, tmp_path / "cnn.onnx", (1, 3, 16, 16))
    layers = edge_sdk.prune(path, tmp_path / "cnn.1-8.onnx", "1:8")
    assert [(layer.name, layer.pattern) for layer in layers] == [
        ("/conv1/Conv", None), ("/conv2/Conv", "1:8"), ("/fc/Gemm", "1:8")]
    assert layers[0].reason == "reduction size 27 is not a multiple of M = 8 (pattern 1:8)"
    assert (layers[1].nonzero, layers[1].weights) == (16 * 72 // 8, 16 * 72)
    before, after = weight_rows(path), weight_rows(tmp_path / "cnn.1-8.onnx")
    for name in ("/conv2/Conv", "/fc/Gemm"):
        nm_format.validate(nonzero(after[name]), "1:8")
        # magnitude pruning of the kernels' rows: exactly what nm_format.prune keeps of the original rows
        assert np.array_equal(after[name], nm_format.prune(before[name], "1:8"))
    assert np.array_equal(after["/conv1/Conv"], before["/conv1/Conv"])
    # grouped with Cin slowest (ONNX's own order) the pruned conv breaks the pattern: the order matters
    w = initializers(tmp_path / "cnn.1-8.onnx")["conv2.weight"]
    with pytest.raises(nm_format.NMFormatError, match="non-zeros; pattern 1:8 allows at most 1"):
        nm_format.validate(nonzero(w.reshape(16, -1)), "1:8")
    kept = {k: v for k, v in initializers(path).items() if k.endswith("bias")}
    assert all(np.array_equal(initializers(tmp_path / "cnn.1-8.onnx")[k], v) for k, v in kept.items())
    x = samples((1, 3, 16, 16), n=1)
    assert frontend.reference(onnx.load(tmp_path / "cnn.1-8.onnx"), x).shape == (1, 10)


def test_depthwise_left_dense_and_compile_detects_the_pattern(tmp_path):
    path = export(Residual, tmp_path / "residual.onnx", (1, 3, 12, 12))
    layers = edge_sdk.prune(path, tmp_path / "pruned.onnx", "1:8")
    assert {layer.name: layer.pattern for layer in layers} == {
        "/stem/Conv": None, "/dw/Conv": None, "/pw/Conv": "1:8", "/fc/Gemm": "1:8"}
    assert layers[1].reason == "depthwise convolution: the depthwise kernel is dense only"
    assert np.array_equal(initializers(path)["dw.weight"], initializers(tmp_path / "pruned.onnx")["dw.weight"])
    compiled = compiler.compile(tmp_path / "pruned.onnx", tmp_path / "out", calibration=samples((1, 3, 12, 12)),
                                isa="xdec")
    # the pattern is detected in the pruned layers, whichever kernel the cost model predicts fastest at their
    # shapes runs them (tests/test_kernels.py checks those predictions against measured cycles)
    rows = [(row["op"], row["kernel"], row["pattern"]) for row in compiled.report["layers"]]
    assert [(op, pattern) for op, _, pattern in rows] == [
        ("conv2d", None), ("depthwise_conv2d", None), ("conv2d", "1:8"), ("add", None), ("avg_pool2d", None),
        ("avg_pool2d", None), ("dense", "1:8")]
    assert [kernel for _, kernel, pattern in rows if pattern] != ["dense", "dense"]


def test_1d_conv_pruned_along_the_row_the_kernels_read(tmp_path):
    """A Conv1d's (Cout, Cin, K) weights pruned as the image (Cout, Cin, 1, K) the compiler runs: the sparse kernels
    take the layer and its output is within one step of onnxruntime."""
    shape = (1, 8, 24)
    path = export(lambda: Lambda(lambda x, conv, fc: fc(torch.relu(conv(x)).mean(-1)), nn.Conv1d(8, 16, 3),
                                 nn.Linear(16, 4)), tmp_path / "seq.onnx", shape)
    layers = edge_sdk.prune(path, tmp_path / "seq.1-8.onnx", "1:8")
    assert [(layer.name, layer.pattern) for layer in layers] == [("/parts.0/Conv", "1:8"), ("/parts.1/Gemm", "1:8")]
    w = initializers(tmp_path / "seq.1-8.onnx")["parts.0.weight"]
    nm_format.validate(nonzero(nm_format.conv_rows(w[:, :, None, :])), "1:8")
    compiled = compiler.compile(tmp_path / "seq.1-8.onnx", tmp_path / "out", calibration=samples(shape), isa="xdec")
    assert compiled.report["layers"][1]["pattern"] == "1:8"
    x = samples(shape, n=1, seed=5)
    y, ref = compiled.run(x, "spike"), compiled.reference(x)
    assert np.abs(y - ref).max() <= compiled.output.q.scale * 1.01


def test_qdq_model_pruned_in_its_integers(tmp_path):
    qdq = qdq_elsewhere(export(SmallMLP, tmp_path / "mlp.onnx", (1, 32)), tmp_path / "mlp.qdq.onnx", (1, 32))
    layers = edge_sdk.prune(qdq, tmp_path / "pruned.onnx", "2:16")
    assert [layer.pattern for layer in layers] == ["2:16"] * 3
    before, after = initializers(qdq), initializers(tmp_path / "pruned.onnx")
    assert before.keys() == after.keys()
    weights = [n.input[0] for n in weight_dequantizers(onnx.load(qdq))]
    assert len(weights) == 3
    for name in weights:
        nm_format.validate(after[name], "2:16")                   # Gemm transB: (out, in), int8
        assert np.array_equal(after[name], nm_format.prune(before[name], "2:16"))
    assert all(np.array_equal(before[k], after[k]) for k in before if k not in weights)   # scales, zero points, ...
    compiled = compiler.compile(tmp_path / "pruned.onnx", tmp_path / "out", isa="xdec")
    # The pattern is found in every layer; each runs on the kernel the cost model predicts fastest at its shape.
    expected = [(sparsity.VARIANT_KIND.get(sparsity.choose("fc", nm_format.parse_pattern("2:16"), "xdec", 1,
                                                            *after[name].shape), "dense"), "2:16") for name in weights]
    assert [(row["kernel"], row["pattern"]) for row in compiled.report["layers"]] == expected
    assert ("sparse-ext", "2:16") in expected


def test_qdq_weights_with_a_zero_point_keep_their_real_zeros(tmp_path):
    """uint8 weights with zero point 128: a pruned weight is the zero point, not 0; the values are unchanged."""
    qdq = qdq_elsewhere(export(SmallMLP, tmp_path / "mlp.onnx", (1, 32)), tmp_path / "mlp.qdq.onnx", (1, 32))
    model = onnx.load(qdq)
    inits = {i.name: i for i in model.graph.initializer}
    shifted = []
    for node in weight_dequantizers(model):
        w = numpy_helper.to_array(inits[node.input[0]])
        inits[node.input[0]].CopyFrom(numpy_helper.from_array((w.astype(np.int16) + 128).astype(np.uint8), node.input[0]))
        inits[node.input[2]].CopyFrom(numpy_helper.from_array(np.uint8(128), node.input[2]))
        shifted.append((node.input[0], w))
    assert len(shifted) == 3
    onnx.save(model, tmp_path / "u8.onnx")
    layers = edge_sdk.prune(tmp_path / "u8.onnx", tmp_path / "pruned.onnx", "1:16")
    assert [layer.nonzero for layer in layers] == [np.count_nonzero(nm_format.prune(w, "1:16")) for _, w in shifted]
    after = initializers(tmp_path / "pruned.onnx")
    for name, signed in shifted:
        real = after[name].astype(np.int16) - 128
        nm_format.validate(real, "1:16")
        assert np.array_equal(real, nm_format.prune(signed, "1:16"))


class Digits(nn.Module):
    """8x8 digits: conv 1 -> 8 (reduction 9: dense), conv 8 -> 16 (72), FC 64 -> 10."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.fc = nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1), nn.Linear(64, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        return self.fc(torch.flatten(nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2), 1))


def test_sr_ste_gradient():
    """Forward W * M; backward g + lambda_w * (1 - M) * W (the sparse-refined straight-through estimator)."""
    w = torch.randn(4, 16, dtype=torch.float64, requires_grad=True)
    g = torch.randn(4, 16, dtype=torch.float64)
    sparse = NMSparse(nm_format.parse_pattern("2:8"), "out_in", 0.5)(w)
    mask = torch.from_numpy(nm_format.prune(w.detach().numpy(), "2:8") != 0)
    assert torch.equal(sparse, w * mask) and int(mask.sum()) == 4 * 16 // 8 * 2
    (sparse * g).sum().backward()
    assert torch.allclose(w.grad, g + 0.5 * (~mask) * w.detach())


def test_sr_ste_fine_tuning_gives_an_exact_nm_model_and_recovers_the_loss(tmp_path):
    x_train, y_train, _, _ = datasets.load("digits")
    x = torch.tensor(x_train, dtype=torch.float32).reshape(-1, 1, 8, 8)
    torch.manual_seed(0)
    model = Digits()
    dense_losses = train(model, x, y_train, epochs=8, lr=0.1, batch_size=32)
    assert dense_losses[-1] < 0.1 * dense_losses[0]
    result = prune_torch(model, "1:8", data=(x, y_train), epochs=3, lr=0.05, batch_size=32)
    assert [(layer.name, layer.pattern) for layer in result.layers] == [("conv1", None), ("conv2", "1:8"), ("fc", "1:8")]
    assert result.layers[0].reason.startswith("reduction size 9 is not a multiple of M = 8")
    assert result.loss_after < 0.5 * result.loss_before, result     # fine-tuning recovers what magnitude pruning lost
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert not torch.nn.utils.parametrize.is_parametrized(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model.eval(), x[:1], str(tmp_path / "digits.onnx"), input_names=["x"], output_names=["y"],
                          opset_version=17, dynamo=False)
    rows = weight_rows(tmp_path / "digits.onnx")
    for name in ("/conv2/Conv", "/fc/Gemm"):
        nm_format.validate(nonzero(rows[name]), "1:8")
        assert np.count_nonzero(rows[name]) == rows[name].size // 8    # SR-STE weights stay non-zero where kept
    assert np.count_nonzero(rows["/conv1/Conv"]) == rows["/conv1/Conv"].size


def test_prune_from_the_command_line(tmp_path):
    path = export(SmallCNN, tmp_path / "cnn.onnx", (1, 3, 16, 16))
    proc = cli("prune", path, "-o", tmp_path / "p.onnx", "--pattern", "1:4")
    assert proc.returncode == 0, proc.stderr
    assert "reduction size 27 is not a multiple of M = 4" in proc.stdout
    assert "2 of 3 weight layers pruned to 1:4" in proc.stdout
    nm_format.validate(nonzero(weight_rows(tmp_path / "p.onnx")["/conv2/Conv"]), "1:4")


@pytest.mark.parametrize("case, message", [
    ("not onnx", "is not an ONNX model"),
    ("pattern", "unknown N:M pattern '3:8'; supported patterns: 1:4, 1:8, 1:16, 2:8, 2:16, 4:16"),
    ("no directory", "cannot write -o '.*': its directory does not exist"),
    ("a directory", "cannot write -o '.*': it is a directory"),
    ("nothing to prune", "has no layer that can be pruned to 1:8 \\(/layers.0/Gemm: reduction size 30 is not a "
                         "multiple of M = 8 \\(pattern 1:8\\)\\); nothing written"),
])
def test_bad_input_is_one_error_line_and_nothing_written(tmp_path, case, message):
    model = tmp_path / "model.onnx"
    if case == "not onnx":
        model.write_text("this is not a model\n")
    elif case == "nothing to prune":
        export(lambda: SmallMLP((30, 10)), model, (1, 30))
    else:
        export(SmallMLP, model, (1, 32))
    out = {"no directory": tmp_path / "missing" / "p.onnx", "a directory": tmp_path}.get(case, tmp_path / "p.onnx")
    pattern = "3:8" if case == "pattern" else "1:8"
    files = sorted(tmp_path.iterdir())
    with pytest.raises(EdgeSdkError, match=message):
        prune.prune(model, out, pattern)
    proc = cli("prune", model, "-o", out, "--pattern", pattern)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert sorted(tmp_path.iterdir()) == files


def test_sr_ste_on_a_model_with_nothing_to_prune():
    with pytest.raises(EdgeSdkError, match=r"no layer that can be pruned to 1:4 \(0: depthwise convolution: the "
                                           r"depthwise kernel is dense only; 1: reduction size 6 is not a multiple"):
        prune_torch(nn.Sequential(nn.Conv2d(4, 4, 3, groups=4), nn.Linear(6, 2)), "1:4")
    with pytest.raises(EdgeSdkError, match="unknown N:M pattern '1:3'"):
        prune_torch(Digits(), "1:3")
