"""The compiler's transformer operators (issue 11) end to end: PyTorch modules exported to ONNX, quantized by the
compiler from calibration data, compiled and run on Spike (two models on the RTL too), compared with onnxruntime on
the same QDQ model. The criterion is the one the README's "Rounding" paragraph and transformer.py's docstring
state: every element within one quantization step of onnxruntime, and a step off only where the exact value lies
within the kernels' rounding error of a .5 boundary, i.e. rarely (here: at most MAX_OFF_BY_ONE of the elements).
Bad input: one clear EdgeSdkError naming the operator (and the node where the frontend sees it), nothing written."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from edge_sdk import EdgeSdkError, compiler, frontend
from tests.test_compiler import assert_nothing_written, export, qdq_elsewhere, samples

TOKENS, DIM, HEADS = 16, 32, 2
BLOCK_SHAPE = (1, TOKENS, DIM)
MAX_OFF_BY_ONE = 0.01      # the fraction of elements one step off onnxruntime that the criterion allows


def _layer_norm(shape) -> nn.LayerNorm:
    """A LayerNorm with random gamma and beta (not the identity affine a fresh module has)."""
    ln = nn.LayerNorm(shape)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.uniform_(-0.5, 0.5)
    return ln


class EncoderBlock(nn.Module):
    """A pre-norm ViT encoder block: LayerNorm, QKV projection split into heads, softmax(Q K^T / sqrt(d)) V,
    heads merged, projection, residual; LayerNorm, MLP with GELU (erf form), residual."""

    def __init__(self, dim=DIM, heads=HEADS, hidden=2 * DIM):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.ln1, self.ln2 = _layer_norm(dim), _layer_norm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(self.ln1(x)).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attention = torch.softmax(q @ k.transpose(-2, -1) * self.head_dim ** -0.5, dim=-1)
        x = x + self.proj((attention @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


def _random_slopes(prelu: nn.PReLU) -> nn.PReLU:
    with torch.no_grad():
        prelu.weight.uniform_(-0.5, 0.5)
    return prelu


class ClassToken(nn.Module):
    """A ViT's class token (a parameter) put before the patch tokens, expanded to the batch as timm writes it."""

    def __init__(self, dim=DIM):
        super().__init__()
        self.token = nn.Parameter(torch.randn(1, 1, dim))

    def forward(self, x):
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], 1)


class WrittenOutLayerNorm(nn.Module):
    """A layer norm over the last axis written out: PyTorch exports ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div,
    Mul, Add."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.gamma, self.beta, self.eps = nn.Parameter(torch.rand(dim) + 0.5), nn.Parameter(torch.rand(dim) - 0.5), eps

    def forward(self, x):
        centered = x - x.mean(-1, keepdim=True)
        return centered / torch.sqrt(centered.pow(2).mean(-1, keepdim=True) + self.eps) * self.gamma + self.beta


class ClassTokenAttention(nn.Module):
    """A ViT's first block and head on those operators: class token, positional embedding, the written-out layer
    norm, Q, K and V split with torch.chunk (slices whose bounds the exporter computes), attention, residual, and
    the class token's logits."""

    def __init__(self, dim=16, tokens=8, classes=10):
        super().__init__()
        self.cls, self.norm, self.scale = ClassToken(dim), WrittenOutLayerNorm(dim), dim ** -0.5
        self.position = nn.Parameter(0.1 * torch.randn(1, tokens + 1, dim))
        self.qkv, self.head = nn.Linear(dim, 3 * dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.cls(x) + self.position
        q, k, v = self.qkv(self.norm(x)).chunk(3, -1)
        x = x + torch.softmax(q @ k.transpose(-2, -1) * self.scale, -1) @ v
        return self.head(x[:, 0])


class Lambda(nn.Module):
    """forward(x) = f(x, *modules): a one-operator model."""

    def __init__(self, f, *modules):
        super().__init__()
        self.f, self.parts = f, nn.ModuleList(modules)

    def forward(self, x):
        return self.f(x, *self.parts)


def inputs(shape, seeds=range(3)):
    return [np.random.default_rng(100 + seed).standard_normal(shape).astype(np.float32) for seed in seeds]


def assert_within_one_step(model: compiler.CompiledModel, x: np.ndarray, sim: str = "spike") -> np.ndarray:
    """The firmware's output for x against onnxruntime's on the same QDQ model: every element within one step,
    at most MAX_OFF_BY_ONE of them a step off. Returns the firmware's output."""
    y, ref = model.run(x, sim), model.reference(x)
    assert y.dtype == np.float32 and y.shape == ref.shape
    off = np.rint(np.abs(y.astype(np.float64) - ref) / model.output.q.scale)
    assert off.max() <= 1, f"{off.max():.0f} steps off onnxruntime"
    assert np.mean(off > 0) <= MAX_OFF_BY_ONE, f"{np.mean(off > 0):.1%} of the elements a step off"
    return y


def functions(model: compiler.CompiledModel) -> list[str]:
    return [row["function"] for row in model.report["layers"]]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("transformer")


@pytest.fixture(scope="module")
def block_onnx(work):
    return export(EncoderBlock, work / "block.onnx", BLOCK_SHAPE)


@pytest.fixture(scope="module")
def block(work, block_onnx):
    return compiler.compile(block_onnx, work / "block_out", calibration=samples(BLOCK_SHAPE, 32))


# ----------------------------------------------------------------------------- the encoder block
def test_encoder_block_on_spike_matches_onnxruntime_and_the_float_model(block, block_onnx):
    float_model = onnx.load(block_onnx)                  # the float32 model the compiler quantized
    ops = [node.op_type for node in float_model.graph.node]
    assert {"LayerNormalization", "Softmax", "Erf", "Transpose", "Gather"} <= set(ops) and ops.count("MatMul") == 6
    kernels = functions(block)
    assert kernels.count("layernorm_i8") == 2 and kernels.count("softmax_i8") == 1
    assert kernels.count("matmul_act_i8") == 2           # Q K^T and P V
    assert any("erf" in row["about"] for row in block.report["layers"] if row["function"] == "lut_i8")
    for x in inputs(BLOCK_SHAPE):
        y = assert_within_one_step(block, x)
        f = frontend.reference(float_model, x)
        cosine = float(np.sum(y * f) / (np.linalg.norm(y) * np.linalg.norm(f)))
        assert cosine > 0.999, cosine
        assert np.mean(np.argmax(y, axis=-1) == np.argmax(f, axis=-1)) >= 14 / TOKENS    # per token


def test_encoder_block_on_the_rtl_as_on_spike_with_cycles_per_layer(block):
    x = inputs(BLOCK_SHAPE, seeds=[7])[0]
    on_spike = block.run(x, "spike")
    on_rtl = assert_within_one_step(block, x, "rtl")
    assert np.array_equal(on_spike, on_rtl)
    layers, run = block.report["layers"], block.report["run"]
    assert run["sim"] == "rtl" and all(row["cycles"] > 0 and row["instructions"] > 0 for row in layers)
    assert run["cycles"] == sum(row["cycles"] for row in layers)
    table = compiler.table(block.report)
    assert "cycles" in table and all(f"{row['cycles']:,}" in table for row in layers)


# ----------------------------------------------------------------------------- one operator at a time
def _heads(t):
    """(1, n, 16) -> (1, 2, n, 8): two heads, as attention splits them."""
    return t.reshape(1, -1, 2, 8).transpose(1, 2)


# The operands of these matmuls (a transpose, heads split from the projection) are read in place: no copy layer.
MATMUL = ["conv2d_i8_xedge", "conv2d_i8_xedge", "add_bcast_i8", "add_bcast_i8", "matmul_act_i8"]
# name: (input shape, the module, the kernels it must compile to in order, a text one layer's `about` holds)
OPERATORS = {
    "softmax_last_axis": ((1, 4, 16), lambda: Lambda(lambda x: torch.softmax(x, -1)), ["softmax_i8"], "4 rows of 16"),
    "softmax_axis_1": ((1, 8, 6), lambda: Lambda(lambda x: torch.softmax(x, 1)), ["softmax_i8"], "6 rows of 8"),
    "softmax_channels_of_an_image": ((1, 6, 4, 5), lambda: Lambda(lambda x: torch.softmax(x, 1)), ["softmax_i8"],
                                     "20 rows of 6"),
    "layer_norm": ((1, 8, 32), lambda: Lambda(lambda x, ln: ln(x), _layer_norm(32)), ["layernorm_i8"],
                   "8 rows of 32"),
    "layer_norm_two_axes": ((1, 8, 32), lambda: Lambda(lambda x, ln: ln(x), nn.LayerNorm((8, 32),
                                                                                        elementwise_affine=False)),
                            ["layernorm_i8"], "1 rows of 256"),
    "layer_norm_of_a_transpose": ((1, 32, 8), lambda: Lambda(lambda x, ln: ln(torch.tanh(x).transpose(1, 2)),
                                                             _layer_norm(32)),
                                  ["lut_i8", "transpose_i8", "layernorm_i8"], "32x8 -> 8x32"),
    "gelu_erf": ((1, 64), lambda: Lambda(nn.functional.gelu), ["lut_i8", "mul_i8", "lut_i8"],
                 "erf"),
    "gelu_tanh": ((1, 64), lambda: Lambda(lambda x: nn.functional.gelu(x, approximate="tanh")), None, "tanh"),
    "tanh_sigmoid_chain": ((1, 64), lambda: Lambda(lambda x: torch.sigmoid(torch.tanh(x) * 3 + 0.5)),
                           ["lut_i8"], "sigmoid"),
    "matmul_transposed_rhs": ((1, 8, 16), lambda: Lambda(lambda x, a, b: a(x) @ b(x).transpose(1, 2),
                                                         nn.Linear(16, 16), nn.Linear(16, 16)),
                              MATMUL, "1 x (8x16 @ 16x8)"),
    "matmul_transposed_lhs": ((1, 8, 16), lambda: Lambda(lambda x, a, b: a(x).transpose(1, 2) @ b(x),
                                                         nn.Linear(16, 12), nn.Linear(16, 10)),
                              MATMUL, "1 x (12x8 @ 8x10)"),
    "matmul_batched_heads": ((1, 8, 16), lambda: Lambda(lambda x, a, b: _heads(a(x)) @ _heads(b(x)).transpose(-2, -1),
                                                        nn.Linear(16, 16), nn.Linear(16, 16)),
                             MATMUL, "2 x (8x8 @ 8x8)"),
    "matmul_broadcast_rhs": ((1, 2, 8, 16), lambda: Lambda(lambda x, a, b: a(x) @ b(x[0, 0]).transpose(0, 1),
                                                           nn.Linear(16, 16), nn.Linear(16, 16)),
                             None, "2 x (8x16 @ 16x8)"),
    "transpose_view": ((1, 8, 16), lambda: Lambda(lambda x: torch.tanh(x.transpose(1, 2))), ["lut_i8"], None),
    "transpose_copy": ((1, 8, 16), lambda: Lambda(lambda x, fc: fc(torch.tanh(x).transpose(1, 2)), nn.Linear(8, 4)),
                       ["lut_i8", "transpose_i8", "conv2d_i8_xedge", "add_bcast_i8"], "8x16 -> 16x8"),
    "gather_class_token": ((1, 16, 32), lambda: Lambda(lambda x, fc: fc(torch.tanh(x)[:, 0]), nn.Linear(32, 10)),
                           ["lut_i8", "fc_i8_xedge"], None),
    "gather_last_token": ((1, 16, 32), lambda: Lambda(lambda x: torch.tanh(x)[:, -1]), ["lut_i8"], None),
    "gather_last_axis": ((1, 16, 32), lambda: Lambda(lambda x: torch.tanh(x)[..., 3]),
                         ["lut_i8", "copy_strided_i8"], None),
    "slice": ((1, 16, 32), lambda: Lambda(lambda x: torch.tanh(x)[:, 2:10, ::2]), ["lut_i8", "copy_strided_i8"],
              "(1, 8, 32) -> (1, 8, 16)"),
    "reduce_mean_last_axis": ((1, 16, 32), lambda: Lambda(lambda x: torch.tanh(x).mean(-1)),
                              ["lut_i8", "transpose_i8", "avgpool2d_i8"], "mean of 32"),
    "reduce_mean_tokens": ((1, 16, 32), lambda: Lambda(lambda x: torch.tanh(x).mean(1, keepdim=True)),
                           ["lut_i8", "avgpool2d_i8"], "mean of 16"),
    "concat_class_token": ((1, 16, 32), ClassToken, ["concat_i8", "concat_i8"], "constant (1, 1, 32) -> (1, 17, 32)"),
    "concat_last_axis": ((1, 16, 32), lambda: Lambda(lambda x: torch.cat([torch.tanh(x), torch.sigmoid(x)], -1)),
                         ["lut_i8", "lut_i8", "concat_i8", "concat_i8"], "16 rows of 32 from byte 32"),
    "concat_image_channels": ((1, 3, 8, 8), lambda: Lambda(lambda x, a, b: torch.cat([torch.relu(a(x)), b(x)], 1),
                                                           nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 6, 1)),
                              ["conv2d_i8_xedge", "conv2d_i8_xedge", "concat_i8", "concat_i8"], "64 rows of 6"),
    "split_then_concat": ((1, 4, 16), lambda: Lambda(lambda x: torch.cat(torch.tanh(x).split([4, 12], -1)[::-1], -1)),
                          ["lut_i8", "copy_strided_i8", "copy_strided_i8", "concat_i8", "concat_i8"], "4 rows of 12"),
    "chunk": ((1, 16, 32), lambda: Lambda(lambda x: torch.tanh(x).chunk(2, -1)[1] * 3),
              ["lut_i8", "copy_strided_i8", "lut_i8"], "(1, 16, 32) -> (1, 16, 16)"),
    "expand": ((1, 8, 1), lambda: Lambda(lambda x: torch.tanh(x).expand(1, 8, 16) * 3),
               ["lut_i8", "copy_strided_i8", "lut_i8"], "(1, 8, 1) -> (1, 8, 16)"),
    "sub_broadcast_activation": ((1, 8, 16), lambda: Lambda(lambda x: torch.tanh(x).mean(-1, keepdim=True)
                                                            - torch.sigmoid(x)),
                                 ["lut_i8", "lut_i8", "transpose_i8", "avgpool2d_i8", "copy_strided_i8", "add_i8"],
                                 "(1, 8, 1) -> (1, 8, 16)"),
    "mul_both_broadcast": ((1, 8, 16), lambda: Lambda(lambda x: torch.tanh(x).mean(-1, keepdim=True)
                                                      * torch.sigmoid(x).mean(1, keepdim=True)),
                           None, "(1, 1, 16) -> (1, 8, 16)"),
    "divide_activations": ((1, 8, 16), lambda: Lambda(lambda x: torch.tanh(x) / (torch.sigmoid(x) + 0.1)),
                           ["lut_i8", "lut_i8", "div_i8"], None),
    "divide_by_constant_tensor": ((1, 8, 16), lambda: Lambda(lambda x: torch.tanh(x) / (torch.arange(16.0) + 1.5)),
                                  ["lut_i8", "div_i8"], "a constant of 16"),
    "table_read_twice": ((1, 64), lambda: Lambda(lambda x: torch.sigmoid(torch.tanh(x)) + torch.tanh(x)),
                         ["lut_i8", "lut_i8", "add_i8"], "sigmoid"),
    "leaky_relu_and_log_sigmoid": ((1, 8, 16), lambda: Lambda(lambda x, fc: nn.functional.logsigmoid(
        nn.functional.leaky_relu(fc(x), 0.1)), nn.Linear(16, 16)),
        ["conv2d_i8_xedge", "add_bcast_i8", "lut_i8"], "leakyrelu"),
    # islands that read their input twice (x * clip(x + 3, 0, 6) / 6, ...): one table each, composed with the next
    "hard_swish_and_hard_sigmoid": ((1, 8, 16), lambda: Lambda(lambda x, a, b: b(nn.functional.hardsigmoid(
        a(nn.functional.hardswish(3 * x)))), nn.Linear(16, 16), nn.Linear(16, 8)),
        ["lut_i8", "conv2d_i8_xedge", "add_bcast_i8", "lut_i8", "conv2d_i8_xedge", "add_bcast_i8"], "clip -> divide"),
    "elu_selu_mish": ((1, 8, 16), lambda: Lambda(lambda x, a, b: b(nn.functional.mish(a(nn.functional.selu(
        nn.functional.elu(x))))), nn.Linear(16, 16), nn.Linear(16, 8)),
        ["lut_i8", "conv2d_i8_xedge", "add_bcast_i8", "lut_i8", "mul_i8", "conv2d_i8_xedge", "add_bcast_i8"],
        "exp -> subtract -> nn.relu"),
    # a slope per token (PReLU's axis 1, not innermost here): copied channels-innermost for a table per token
    "prelu_along_tokens": ((1, 8, 16), lambda: Lambda(lambda x, fc, act: act(fc(x)), nn.Linear(16, 16),
                                                      _random_slopes(nn.PReLU(8))),
                           ["conv2d_i8_xedge", "add_bcast_i8", "transpose_i8", "lut_channels_i8"], "a table per 8"),
    "layer_norm_written_out": ((1, 16, 32), lambda: WrittenOutLayerNorm(32),
                               ["transpose_i8", "avgpool2d_i8", "copy_strided_i8", "add_i8", "lut_i8", "transpose_i8",
                                "avgpool2d_i8", "lut_i8", "copy_strided_i8", "div_i8", "mul_i8",
                                "add_bcast_i8"], "power"),
}


@pytest.mark.parametrize("name", OPERATORS)
def test_operator_on_spike_matches_onnxruntime(name, tmp_path):
    shape, make, kernels, about = OPERATORS[name]
    model = compiler.compile(export(make, tmp_path / f"{name}.onnx", shape), tmp_path / "out",
                             calibration=samples(shape, 32))
    if kernels is not None:
        assert functions(model) == kernels
    assert about is None or any(about in row["about"] for row in model.report["layers"]), model.report["layers"]
    for x in inputs(shape):
        assert_within_one_step(model, x)


def test_class_token_attention_on_spike_and_the_rtl(tmp_path):
    """Concat of the class token, the written-out layer norm (broadcast Sub, Div of activations) and torch.chunk
    together in one model: within one step of onnxruntime and its arg-max on Spike, the same bytes on the RTL."""
    shape = (1, 8, 16)
    model = compiler.compile(export(ClassTokenAttention, tmp_path / "vit.onnx", shape), tmp_path / "out",
                             calibration=samples(shape, 32))
    assert {"concat_i8", "div_i8", "softmax_i8", "matmul_act_i8"} <= set(functions(model))
    for x in inputs(shape):
        y = assert_within_one_step(model, x)
        assert np.argmax(y) == np.argmax(model.reference(x))
    assert np.array_equal(model.run(x, "rtl"), y)      # the last input


def qdq_division(n: int, scales: tuple[float, float, float, float], b_zero_point: int) -> onnx.ModelProto:
    """x (1, 2, n) quantized with scale scales[0], a = x[:, 0] and b = x[:, 1] requantized to scales[1] and
    scales[2] (b with zero point b_zero_point), a / b quantized to scales[3]: a QDQ Div of two activations."""
    def const(name, value, dtype=np.float32):
        return numpy_helper.from_array(np.asarray(value, dtype), name)

    init = [const("s_x", scales[0]), const("s_a", scales[1]), const("s_b", scales[2]), const("s_y", scales[3]),
            const("zero", 0, np.int8), const("z_b", b_zero_point, np.int8), const("i0", 0, np.int64),
            const("i1", 1, np.int64)]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s_x", "zero"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s_x", "zero"], ["xd"])]
    for name, index, zero in (("a", "i0", "zero"), ("b", "i1", "z_b")):
        nodes += [helper.make_node("Gather", ["xd", index], [name], axis=1),
                  helper.make_node("QuantizeLinear", [name, f"s_{name}", zero], [f"{name}q"]),
                  helper.make_node("DequantizeLinear", [f"{name}q", f"s_{name}", zero], [f"{name}d"])]
    nodes += [helper.make_node("Div", ["ad", "bd"], ["t"]),
              helper.make_node("QuantizeLinear", ["t", "s_y", "zero"], ["tq"]),
              helper.make_node("DequantizeLinear", ["tq", "s_y", "zero"], ["y"])]
    graph = helper.make_graph(nodes, "division", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_division_of_every_pair_of_int8_values(tmp_path):
    """div_i8 on all 65,536 pairs of input codes, requantized to scales of their own (b's zero point 3, so B = 0
    occurs: +-inf and 0 / 0): within one step of onnxruntime everywhere, a step off only near a .5 boundary."""
    codes = np.arange(-128, 128, dtype=np.float32)
    a, b = np.meshgrid(codes, codes, indexing="ij")
    x = (np.stack([a.ravel(), b.ravel()])[None] * np.float32(0.05)).astype(np.float32)
    model = compiler.compile(qdq_division(x.shape[-1], (0.05, 0.0371, 0.0523, 0.0437), 3), tmp_path / "out")
    assert functions(model) == ["requantize_i8", "requantize_i8", "div_i8"]
    assert_within_one_step(model, x)


def test_block_given_in_qdq_form_with_uint8_activations(work, block_onnx):
    """A QDQ model from another tool (uint8 activations, per-tensor weights): quantize_static's default operator
    set leaves GELU's Div -> Erf a float island of two operators, computed as one lookup table."""
    qdq = qdq_elsewhere(block_onnx, work / "block.qdq.onnx", BLOCK_SHAPE)
    model = compiler.compile(qdq, work / "block_qdq_out")
    assert model.report["quantization"] == "QDQ as given"
    assert any(row["about"].startswith("divide -> erf") for row in model.report["layers"])
    for x in inputs(BLOCK_SHAPE):
        assert_within_one_step(model, x)


# ----------------------------------------------------------------------------- bad input
def one_operator_qdq(op: str, shape, out_scale: float, constants=(), **attributes) -> onnx.ModelProto:
    """x -> QuantizeLinear / DequantizeLinear -> op(x, *constants) -> QuantizeLinear / DequantizeLinear -> y (int8,
    input scale 0.05, output scale out_scale, zero points 0): a QDQ model with scales of one's choosing."""
    init = [numpy_helper.from_array(np.array(0.05, np.float32), "in_scale"),
            numpy_helper.from_array(np.array(out_scale, np.float32), "out_scale"),
            numpy_helper.from_array(np.array(0, np.int8), "zero")]
    init += [numpy_helper.from_array(np.asarray(value, np.float32), f"c{k}") for k, value in enumerate(constants)]
    nodes = [helper.make_node("QuantizeLinear", ["x", "in_scale", "zero"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "in_scale", "zero"], ["xd"]),
             helper.make_node(op, ["xd", *(f"c{k}" for k in range(len(constants)))], ["t"], **attributes),
             helper.make_node("QuantizeLinear", ["t", "out_scale", "zero"], ["tq"]),
             helper.make_node("DequantizeLinear", ["tq", "out_scale", "zero"], ["y"])]
    graph = helper.make_graph(nodes, op, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("op, attributes", [("HardSigmoid", {"alpha": 0.3, "beta": 0.4}), ("HardSwish", {}),
                                           ("Elu", {"alpha": 0.7}), ("Softplus", {}), ("Softsign", {}),
                                           ("ThresholdedRelu", {"alpha": 1.5})])
def test_island_reading_its_input_twice_on_every_int8_value(op, attributes, tmp_path):
    """An activation TVM's importer writes as a graph that reads its input twice (HardSwish x * clip(x + 3)/6,
    ThresholdedRelu (x > alpha) * x, ...), quantized around it: one lookup table, within one step of onnxruntime
    on all 256 input codes (scale 0.05: -6.4 to 6.35)."""
    x = (np.arange(-128, 128, dtype=np.float32) * np.float32(0.05)).reshape(1, 256)
    model = compiler.compile(one_operator_qdq(op, [1, 256], 0.03, **attributes), tmp_path / "out")
    assert functions(model) == ["lut_i8"]
    assert_within_one_step(model, x)


def test_unsupported_operators_name_op_and_node(tmp_path):
    """Attention written with einsum: an operator outside the compiler's set; a Where choosing between activations:
    an operator the compiler takes only in shape arithmetic. Each error names the operator and its node."""
    einsum = Lambda(lambda x: torch.einsum("bij,bkj->bik", x, torch.tanh(x)))
    where = Lambda(lambda x: torch.where(torch.arange(DIM) % 2 == 0, x, torch.tanh(x)))
    for make, op, what in ((lambda: einsum, "Einsum", "an Einsum operator, which the compiler does not lower yet"),
                           (lambda: where, "Where", "a Where of float tensors \\(activations\\), which the "
                                                    "compiler does not lower yet")):
        model = export(make, tmp_path / f"{op}.onnx", BLOCK_SHAPE)
        node = next(n.name for n in onnx.load(model).graph.node if n.op_type == op)
        with pytest.raises(EdgeSdkError, match=f"node '{node}' is {what}"):
            compiler.compile(model, tmp_path / "out", calibration=samples(BLOCK_SHAPE))
        assert_nothing_written(tmp_path, "out")


def test_operators_the_kernels_cannot_compute_exactly_enough(tmp_path):
    """A softmax quantized to a scale above 1 (probabilities would round to 0 or 1), a layer-norm whose output
    scale would put its fixed point more than 2^-8 steps off, a power of two activations, a constant tensor divided
    by an activation, a lookup table with NaN entries (the log of negative inputs): clear errors.
    (A layer-norm over a non-trailing axis cannot come from ONNX: LayerNormalization normalizes the axes from
    `axis` on, and TVM's importer rejects a gamma of another shape.)"""
    cases = [
        (one_operator_qdq("Softmax", [1, 4, 8], 2.0, axis=-1),
         "softmax output quantized with scale 2.0: probabilities need a scale of at most 1"),
        (one_operator_qdq("LayerNormalization", [1, 4, 8], 1e-9, (np.ones(8), np.zeros(8)), axis=-1),
         r"layer-norm of \(1, 4, 8\): its fixed point would be [\d.]+ steps off \(more than 0.00390625\)"),
    ]
    for model, message in cases:
        with pytest.raises(EdgeSdkError, match=message):
            compiler.compile(model, tmp_path / "out")
        assert_nothing_written(tmp_path, "out")
    power = Lambda(lambda x: torch.tanh(x) ** torch.sigmoid(x))
    divide = Lambda(lambda x: (torch.arange(DIM) + 1.0) / torch.sigmoid(x))
    log = Lambda(lambda x: torch.log(x))       # of inputs calibrated on negative values too
    for name, module, message in (
            ("power", power, r"relax.power producing \(1, 16, 32\) float32 has no kernel"),
            ("log", log, "the elementwise operators log give NaN for some of their int8 inputs"),
            ("divide", divide, r"a Div of a constant tensor of shape \(32,\) by an activation: the kernels divide an "
                               "activation by an activation or a constant")):
        with pytest.raises(EdgeSdkError, match=message):
            compiler.compile(export(lambda: module, tmp_path / f"{name}.onnx", BLOCK_SHAPE), tmp_path / "out",
                             calibration=samples(BLOCK_SHAPE))
        assert_nothing_written(tmp_path, "out")
