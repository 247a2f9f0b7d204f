"""The compiler's dense path (issue 11): ONNX -> QDQ -> TVM Relax -> pattern table -> kernel calls + memory plan
-> C -> ELF, run on Spike and the RTL, compared with onnxruntime on the same QDQ model (graph optimizations
off): within one quantization step per element and the same arg-max. Every bad input is one clear error, a
non-zero exit, and no OUT/ left behind."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import pytest
import torch
from torch import nn

from edge_sdk import EdgeSdkError, compiler, frontend, lowering


class SmallCNN(nn.Module):
    """conv + ReLU, max pool, strided conv + ReLU, flatten, fully connected."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        return self.fc(torch.flatten(torch.relu(self.conv2(x)), 1))


class SmallMLP(nn.Module):
    def __init__(self, sizes=(32, 64, 32, 10)):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = layer(x) if k == len(self.layers) - 1 else torch.relu(layer(x))
        return x


class Residual(nn.Module):
    """depthwise + pointwise conv, a residual add, average pool, global average pool, fully connected."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.dw, self.pw = nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + torch.relu(self.pw(torch.relu(self.dw(x)))))
        x = nn.functional.adaptive_avg_pool2d(nn.functional.avg_pool2d(x, 2), 1)
        return self.fc(torch.flatten(x, 1))


class MobileNetV3Block(nn.Module):
    """MobileNetV3's pieces: a stride-2 stem, an inverted residual (1x1 expand, 3x3 depthwise, squeeze-and-excite
    with HardSigmoid scaling the channels, 1x1 project, residual add), HardSwish after each conv, global pool, FC."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.Hardswish())
        self.expand = nn.Sequential(nn.Conv2d(16, 32, 1), nn.BatchNorm2d(32), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1, groups=32), nn.BatchNorm2d(32), nn.Hardswish())
        self.squeeze, self.excite = nn.Conv2d(32, 8, 1), nn.Conv2d(8, 32, 1)
        self.project = nn.Sequential(nn.Conv2d(32, 16, 1), nn.BatchNorm2d(16))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        y = self.dw(self.expand(x))
        scale = nn.functional.hardsigmoid(self.excite(torch.relu(self.squeeze(y.mean((2, 3), keepdim=True)))))
        x = x + self.project(y * scale)
        return self.head(x.mean((2, 3)))


class Sequence1D(nn.Module):
    """A 1-D CNN as keyword spotting and ECG models use it: strided Conv1d, ReLU, MaxPool1d, a padded depthwise
    Conv1d, a dilated grouped Conv1d (a temporal conv net's), AvgPool1d, the global max over time (ReduceMax), FC."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(10, 16, 5, stride=2)
        self.dw, self.pw = nn.Conv1d(16, 16, 3, padding=1, groups=16), nn.Conv1d(16, 24, 1)
        self.tcn = nn.Conv1d(24, 24, 3, padding=2, dilation=2, groups=2)
        self.fc = nn.Linear(24, 4)

    def forward(self, x):
        x = nn.functional.max_pool1d(torch.relu(self.conv(x)), 2)
        x = torch.relu(self.tcn(torch.relu(self.pw(torch.relu(self.dw(x))))))
        return self.fc(nn.functional.avg_pool1d(x, 3, 2, padding=1).amax(-1))


class TinyUNet(nn.Module):
    """An encoder-decoder as segmentation models use it: conv, max pool, conv, nearest 2x upsampling (Resize),
    the skip connection concatenated, a 1x1 conv per pixel."""

    def __init__(self):
        super().__init__()
        self.enc, self.mid = nn.Conv2d(3, 6, 3, padding=1), nn.Conv2d(6, 8, 3, padding=1)
        self.head = nn.Conv2d(14, 2, 1)

    def forward(self, x):
        skip = torch.relu(self.enc(x))
        up = nn.functional.interpolate(torch.relu(self.mid(nn.functional.max_pool2d(skip, 2))), scale_factor=2)
        return self.head(torch.cat([up, skip], 1))


class PReLUNet(nn.Module):
    """Conv, PReLU with a slope per channel (random, so the tables differ), conv, PReLU with one slope, FC."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 6, 3, padding=1), nn.Conv2d(6, 4, 3, stride=2)
        self.act1, self.act2 = nn.PReLU(6), nn.PReLU()
        with torch.no_grad():
            self.act1.weight.uniform_(-0.5, 0.5)
        self.fc = nn.Linear(4 * 3 * 3, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.act2(self.conv2(self.act1(self.conv1(x)))), 1))


class WithCumsum(SmallMLP):
    def forward(self, x):
        return torch.cumsum(super().forward(x), dim=1)


def export(make_module, path, shape, dynamic_batch=False):
    """Export make_module() (its random weights seeded, so every test sees the same model) to path."""
    torch.manual_seed(0)
    module = make_module().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # the TorchScript exporter: static shapes, no onnxscript
        torch.onnx.export(module, torch.randn(*shape), str(path), input_names=["x"], output_names=["y"],
                          opset_version=17, dynamo=False,
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}} if dynamic_batch else None)
    return path


def samples(shape, n=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, *shape[1:])).astype(np.float32)


def qdq_elsewhere(float_path, out_path, shape):
    """A QDQ model as another tool would hand it over: onnxruntime, uint8 activations, per-tensor weights."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.data = iter(samples(shape, 8, seed=3))

        def get_next(self):
            x = next(self.data, None)
            return None if x is None else {"x": x[None]}

    quantize_static(str(float_path), str(out_path), Reader(), quant_format=QuantFormat.QDQ, per_channel=False,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return out_path


def steps(y, ref, scale) -> int:
    return int(np.rint(np.abs(y.astype(np.float64) - ref) / scale).max())


def check_matches_onnxruntime(model: compiler.CompiledModel, sim: str, seeds=range(3)) -> list[np.ndarray]:
    outs = []
    for seed in seeds:
        x = np.random.default_rng(100 + seed).standard_normal(model.input.shape).astype(np.float32)
        y, ref = model.run(x, sim), model.reference(x)
        assert y.dtype == np.float32 and y.shape == ref.shape
        assert steps(y, ref, model.output.q.scale) <= 1
        assert np.argmax(y) == np.argmax(ref)
        outs.append(y)
    return outs


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("compiler")


@pytest.fixture(scope="module")
def cnn_onnx(work):
    return export(SmallCNN, work / "cnn.onnx", (1, 3, 16, 16))


@pytest.fixture(scope="module")
def cnn(work, cnn_onnx):
    """A float model quantized by the frontend from calibration data."""
    np.savez(work / "cnn_cal.npz", x=samples((1, 3, 16, 16)))
    return compiler.compile(cnn_onnx, work / "cnn_out", calibration=work / "cnn_cal.npz")


@pytest.fixture(scope="module")
def mlp_qdq(work):
    return qdq_elsewhere(export(SmallMLP, work / "mlp.onnx", (1, 32)), work / "mlp.qdq.onnx", (1, 32))


@pytest.fixture(scope="module")
def mlp(work, mlp_qdq):
    return compiler.compile(mlp_qdq, work / "mlp_out")


def test_cnn_on_spike_matches_onnxruntime(cnn):
    check_matches_onnxruntime(cnn, "spike")
    layers = cnn.report["layers"]
    assert [(row["op"], row["kernel"]) for row in layers] == [
        ("conv2d", "dense"), ("max_pool2d", "glue"), ("conv2d", "dense"), ("transpose", "glue"), ("dense", "dense")]
    assert [row["macs"] for row in layers] == [16 * 16 * 8 * 27, 0, 4 * 4 * 16 * 72, 0, 256 * 10]
    assert layers[0]["function"] == "conv2d_i8_xedge" and layers[-1]["function"] == "fc_i8_xedge"
    # weights padded to rows of 4 bytes, then bias, multiplier and shift (int32) per output channel
    assert layers[0]["weight_bytes"] == 8 * 28 + 3 * 4 * 8
    assert all(row["instructions"] > 0 and row["cycles"] is None for row in layers)
    assert cnn.report["quantization"].startswith("calibrated by the compiler")
    totals = cnn.report["totals"]
    assert totals["weight_bytes"] == sum(row["weight_bytes"] for row in layers)
    assert 0 < totals["activation_bytes"] and 0 < totals["code_bytes"] < 64 * 1024
    saved = json.loads((cnn.out_dir / "report.json").read_text())
    assert saved["run"]["sim"] == "spike" and saved["layers"][0]["instructions"] == layers[0]["instructions"]
    for name in ("model.c", "weights.c", "model.elf", "model.qdq.onnx", "model.json"):
        assert (cnn.out_dir / name).is_file()
    assert "TIMED(0, conv2d_i8_xedge(" in (cnn.out_dir / "model.c").read_text()


def test_qdq_model_taken_as_it_is(mlp, mlp_qdq):
    check_matches_onnxruntime(mlp, "spike")
    assert [row["function"] for row in mlp.report["layers"]] == ["fc_i8_xedge"] * 3
    assert mlp.report["quantization"] == "QDQ as given"
    # the QDQ model the firmware computes is the one given (uint8 activations, stored as int8 - 128)
    saved, given = onnx.load(mlp.out_dir / "model.qdq.onnx").graph, onnx.load(mlp_qdq).graph
    assert list(saved.node) == list(given.node) and list(saved.initializer) == list(given.initializer)


def test_glue_operators_on_spike(work):
    model = export(Residual, work / "residual.onnx", (1, 3, 12, 12))
    compiled = compiler.compile(model, work / "residual_out", calibration=samples((1, 3, 12, 12)))
    assert [row["op"] for row in compiled.report["layers"]] == [
        "conv2d", "depthwise_conv2d", "conv2d", "add", "avg_pool2d", "avg_pool2d", "dense"]
    check_matches_onnxruntime(compiled, "spike")


def test_mobilenet_v3_block_on_spike_and_the_rtl(work):
    """HardSwish and HardSigmoid (islands that read their input twice: one lookup table each) and the
    squeeze-and-excite's broadcast Mul: within one step of onnxruntime on Spike, the same bytes on the RTL."""
    shape = (1, 3, 16, 16)
    compiled = compiler.compile(export(MobileNetV3Block, work / "mobilenet_v3.onnx", shape), work / "mnv3_out",
                                calibration=samples(shape, 32))
    tables = [row["about"] for row in compiled.report["layers"] if row["function"] == "lut_i8"]
    assert len(tables) == 4 and all(t.startswith("add -> clip -> divide -> multiply") for t in tables[:3])
    assert tables[3].startswith("multiply -> add -> clip")
    outputs = check_matches_onnxruntime(compiled, "spike")
    x = np.random.default_rng(102).standard_normal(shape).astype(np.float32)   # the last seed's input
    assert np.array_equal(compiled.run(x, "rtl"), outputs[-1])


def test_1d_cnn_on_spike_and_the_rtl(work):
    """Conv1d, depthwise Conv1d, MaxPool1d, AvgPool1d as the 2-D kernels on an image of one row (a (1, C, W)
    sequence stored (W, C) is viewed as (1, C, 1, W)), a dilated grouped conv as an ordinary one with zeros,
    ReduceMax as a max pool: within one step of onnxruntime on Spike, the same bytes on the RTL."""
    shape = (1, 10, 49)
    compiled = compiler.compile(export(Sequence1D, work / "sequence.onnx", shape), work / "sequence_out",
                                calibration=samples(shape, 32))
    assert [row["op"] for row in compiled.report["layers"]] == [
        "transpose", "conv2d", "max_pool2d", "pad", "depthwise_conv2d", "conv2d", "pad", "conv2d", "avg_pool2d",
        "reduce_max", "dense"]
    about = [row["about"] for row in compiled.report["layers"]]
    assert "1x5/2 pad 0, 10 -> 16 channels, 1x49 -> 1x23" in about[1]
    assert "1x5/1 pad 0 (dilation 1x2), 24 -> 24 channels, 2 groups as one block-diagonal conv" in about[7]
    assert compiled.report["layers"][7]["macs"] == 11 * 24 * 12 * 3         # the conv's own, not the zeros'
    outputs = check_matches_onnxruntime(compiled, "spike")
    x = np.random.default_rng(102).standard_normal(shape).astype(np.float32)   # the last seed's input
    assert np.array_equal(compiled.run(x, "rtl"), outputs[-1])


def test_unet_with_nearest_upsampling_on_spike(work):
    shape = (1, 3, 12, 12)
    compiled = compiler.compile(export(TinyUNet, work / "unet.onnx", shape), work / "unet_out",
                                calibration=samples(shape, 32))
    assert "copy_strided_i8" in [row["function"] for row in compiled.report["layers"]]
    for seed in range(2):
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        assert steps(compiled.run(x, "spike"), compiled.reference(x), compiled.output.q.scale) <= 1


def resize_qdq(in_shape, out_shape, scales=None, **attributes) -> onnx.ModelProto:
    """x -> QuantizeLinear / DequantizeLinear -> Resize (nearest, to out_shape, or by `scales` when given) ->
    QuantizeLinear / DequantizeLinear -> y, scale 0.05, zero point 0."""
    size = ("scales", np.array(scales, np.float32)) if scales else ("sizes", np.array(out_shape, np.int64))
    if scales:
        out_shape = tuple(int(n * np.float32(f)) for n, f in zip(in_shape, scales))      # as ONNX computes them
    init = [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(np.array(0, np.int8), "z"),
            numpy_helper.from_array(size[1], size[0])]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
             helper.make_node("Resize", ["xd", "", *(("scales",) if scales else ("", "sizes"))], ["t"], mode="nearest",
                              **attributes),
             helper.make_node("QuantizeLinear", ["t", "s", "z"], ["tq"]),
             helper.make_node("DequantizeLinear", ["tq", "s", "z"], ["y"])]
    graph = helper.make_graph(nodes, "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("out_hw, attributes", [
    ((12, 8), {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}),
    ((12, 12), {"coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_floor"}),
    ((2, 4), {"coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_ceil"}),
    ((3, 2), {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}),
    ((8, 8), {"coordinate_transformation_mode": "align_corners", "nearest_mode": "round_prefer_floor"}),
    ((2, 12), {"coordinate_transformation_mode": "pytorch_half_pixel", "nearest_mode": "round_prefer_ceil"}),
    ((8, 2), {"coordinate_transformation_mode": "tf_half_pixel_for_nn", "nearest_mode": "floor"}),
    ((12, 2), {"scales": [1, 1, 3, 0.5], "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}),
])
def test_nearest_resize_matches_onnxruntime(out_hw, attributes, tmp_path):
    """Integer up- and downsampling factors (per axis) under several of ONNX's coordinate transformations, given
    as output sizes or as scales: the copy reads the pixels onnxruntime reads."""
    in_shape, out_shape = (1, 3, 4, 4), (1, 3, *out_hw)
    compiled = compiler.compile(resize_qdq(in_shape, out_shape, **attributes), tmp_path / "out")
    x = np.random.default_rng(0).standard_normal(in_shape).astype(np.float32)
    assert np.array_equal(compiled.run(x, "spike"), compiled.reference(x))


def test_resize_the_kernels_cannot_do(tmp_path):
    for out_hw, attributes, message in (
            ((6, 6), {}, r"a nearest Resize whose output indices read input \[0, 0, 1, 2, 2, 3\]: the kernels take"),
            ((8, 8), {"coordinate_transformation_mode": "tf_crop_and_resize"}, "coordinate transformation "
                                                                                 "'tf_crop_and_resize'"),
            # onnxruntime resizes by the scale given, TVM's importer by out / in: 8 / 4 here, not 2.2
            ((8, 8), {"scales": [1, 1, 2.2, 2.2]}, r"is a Resize with scales \[1.0, 1.0, 2.2\d*, 2.2\d*\]: the compiler"),
            ((8, 8), {"scales": [1, 2, 2, 2]}, "scales of 1 on batch and channels")):
        with pytest.raises(EdgeSdkError, match=message):
            compiler.compile(resize_qdq((1, 3, 4, 4), (1, 3, *out_hw), **attributes), tmp_path / "out")
        assert_nothing_written(tmp_path, "out")


def test_prelu_per_channel_tables_on_spike_and_the_rtl(work):
    """A PReLU with a slope per channel is a table per channel (lut_channels_i8), one with a single slope a
    table: within one step of onnxruntime on Spike, the same bytes on the RTL."""
    shape = (1, 3, 8, 8)
    compiled = compiler.compile(export(PReLUNet, work / "prelu.onnx", shape), work / "prelu_out",
                                calibration=samples(shape, 32))
    rows = compiled.report["layers"]
    assert [row["function"] for row in rows] == ["conv2d_i8_xedge", "lut_channels_i8", "conv2d_i8_xedge", "lut_i8",
                                                 "transpose_i8", "fc_i8_xedge"]      # the flatten of HWC: a copy
    assert rows[1]["about"].endswith("a table per 6 along axis 1")
    outputs = check_matches_onnxruntime(compiled, "spike")
    x = np.random.default_rng(102).standard_normal(shape).astype(np.float32)   # the last seed's input
    assert np.array_equal(compiled.run(x, "rtl"), outputs[-1])


def test_rtl_cycles_and_the_same_output_as_spike(mlp):
    x = np.random.default_rng(7).standard_normal(mlp.input.shape).astype(np.float32)
    on_spike = mlp.run(x, "spike")
    on_rtl = mlp.run(x, "rtl")
    assert np.array_equal(on_spike, on_rtl)
    layers, run = mlp.report["layers"], mlp.report["run"]
    assert run["sim"] == "rtl" and all(row["cycles"] > 0 for row in layers)
    assert run["cycles"] == sum(row["cycles"] for row in layers)
    assert steps(on_rtl, mlp.reference(x), mlp.output.q.scale) <= 1


def test_plain_c_kernels_compute_the_same(work, cnn, cnn_onnx):
    base = compiler.compile(cnn.out_dir / "model.qdq.onnx", work / "cnn_base", isa="base")
    assert base.report["layers"][0]["function"] == "conv2d_i8_ref"
    x = np.random.default_rng(5).standard_normal(cnn.input.shape).astype(np.float32)
    assert np.array_equal(base.run(x, "spike"), cnn.run(x, "spike"))


def test_memory_plan_reuses_buffers_without_overlap(cnn):
    qm = frontend.load(cnn.out_dir / "model.qdq.onnx", None, lowering.ONNX_OPS)
    plan = lowering.lower(qm.relax).plan
    assert plan.arena_bytes < sum(b.size for b in plan.buffers)          # buffers share bytes ...
    for a in plan.buffers:                                                 # ... but never while both live
        for b in plan.buffers:
            if a is not b and a.first <= b.last and b.first <= a.last:
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)
    assert plan.peak_live_bytes <= plan.arena_bytes


def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "edge_sdk.cli", *map(str, args)], capture_output=True, text=True)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_cli_compile_and_run(work, mlp_qdq):
    for command in ("compile", "run"):
        proc = cli(command, "--help")
        assert proc.returncode == 0 and f"edge-sdk {command} " in proc.stdout[proc.stdout.index("examples:"):]
    out = work / "cli_out"
    proc = cli("compile", mlp_qdq, "-o", out, "--memory", "mcu", "--weights", "flash")
    assert proc.returncode == 0, proc.stderr
    assert "fc_i8_xedge" in proc.stdout and "--memory mcu, --weights flash" in proc.stdout
    assert "(all in flash)" in proc.stdout and "flash (code memory)" in proc.stdout
    proc = cli("compile", mlp_qdq, "-o", work / "cli_bad", "--weights", "rom")
    assert proc.returncode == 2 and "invalid choice: 'rom'" in proc.stderr
    proc = cli("report", out)
    assert proc.returncode == 2 and "run it first" in proc.stderr and not (out / "report.png").exists()
    x = np.random.default_rng(11).standard_normal((1, 32)).astype(np.float32)
    np.save(work / "x.npy", x)
    proc = cli("run", out, "--sim", "spike", "--input", work / "x.npy", "--output", work / "y.npy", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    y = np.load(work / "y.npy")
    ref = frontend.reference(onnx.load(mlp_qdq), x)
    assert y.dtype == np.float32 and y.shape == ref.shape == (1, 10)
    assert np.array_equal(np.asarray(result["output"], np.float32), y) and result["argmax"] == int(np.argmax(ref))
    assert steps(y, ref, compiler.load(out).output.q.scale) <= 1
    proc = cli("report", out, "--plot", work / "missing-dir" / "r.png")
    assert proc.returncode == 2 and "its directory does not exist" in proc.stderr
    proc = cli("report", out)
    assert proc.returncode == 0, proc.stderr
    assert "instructions" in proc.stdout and "dense_0" in proc.stdout
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- bad input
def assert_nothing_written(parent, name):
    assert not (parent / name).exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(f".{name}.")], list(parent.iterdir())


def test_not_an_onnx_file(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_text("this is not a model\n")
    with pytest.raises(EdgeSdkError, match="is not an ONNX model"):
        compiler.compile(bad, tmp_path / "out")
    proc = cli("compile", bad, "-o", tmp_path / "out")
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "not an ONNX model" in proc.stderr
    assert_nothing_written(tmp_path, "out")


def test_unsupported_operator_names_op_and_node(tmp_path):
    model = export(WithCumsum, tmp_path / "cumsum.onnx", (1, 32))
    node = next(n.name for n in onnx.load(model).graph.node if n.op_type == "CumSum")
    with pytest.raises(EdgeSdkError, match=f"node '{node}' is a CumSum operator"):
        compiler.compile(model, tmp_path / "out", calibration=samples((1, 32)))
    assert_nothing_written(tmp_path, "out")


def test_dynamic_input_shape(tmp_path):
    model = export(SmallMLP, tmp_path / "dynamic.onnx", (1, 32), dynamic_batch=True)
    with pytest.raises(EdgeSdkError, match=r"input 'x' has a dynamic shape \(batch, 32\): dimension 0 is 'batch'"):
        compiler.compile(model, tmp_path / "out", calibration=samples((1, 32)))
    assert_nothing_written(tmp_path, "out")


def test_calibration_of_the_wrong_shape(tmp_path, cnn_onnx):
    np.savez(tmp_path / "cal.npz", samples((1, 3, 8, 8)))
    with pytest.raises(EdgeSdkError, match=r"calibration data of shape \(16, 3, 8, 8\) does not fit the model's input "
                                           r"'x' of shape \(1, 3, 16, 16\): give N samples as an array of shape "
                                           r"\(N, 3, 16, 16\)"):
        compiler.compile(cnn_onnx, tmp_path / "out", calibration=tmp_path / "cal.npz")
    with pytest.raises(EdgeSdkError, match="float model: give calibration data"):
        compiler.compile(cnn_onnx, tmp_path / "out")
    assert_nothing_written(tmp_path, "out")


def test_model_too_big_for_the_mcu_memory_map(tmp_path):
    """313 kB of weights fit neither the 256 KiB data memory nor the 64 KiB code memory: every placement is
    rejected, naming the memories it overflows with the numbers (auto: both)."""
    model = export(lambda: SmallMLP((600, 512, 10)), tmp_path / "big.onnx", (1, 600))
    data = (r"does not fit the 'mcu' memory map: it needs [\d,]+ bytes of data memory, which has 262,144 \(DMEM; "
            r"[\d,]+ too many\): weights and quantization parameters [\d,]+ \(the most: dense_0, 313,344\)")
    code = (r"it needs [\d,]+ bytes of code memory, which has 65,536 \(IMEM; [\d,]+ too many\): code [\d,]+, weights "
            r"and quantization parameters in flash [\d,]+ \(the most: dense_0, 313,344\)")
    with pytest.raises(EdgeSdkError, match=f"{data}.*; with its weights in flash \\(--weights flash\\) {code}; "
                                           "together, code, weights, activations, stack and runtime need"):
        compiler.compile(model, tmp_path / "out", calibration=samples((1, 600), 4), memory="mcu")
    with pytest.raises(EdgeSdkError, match=f"{data}.*\\(--weights ram\\)") as err:
        compiler.compile(model, tmp_path / "out", calibration=samples((1, 600), 4), memory="mcu", weights="ram")
    assert "code memory" not in str(err.value)
    with pytest.raises(EdgeSdkError, match=f"the 'mcu' memory map: {code} \\(--weights flash\\)") as err:
        compiler.compile(model, tmp_path / "out", calibration=samples((1, 600), 4), memory="mcu", weights="flash")
    assert "data memory" not in str(err.value)
    with pytest.raises(EdgeSdkError, match="unknown --weights 'rom'; choose one of: auto, ram, flash"):
        compiler.compile(model, tmp_path / "out", weights="rom")
    assert_nothing_written(tmp_path, "out")


def test_weights_in_flash_same_output_on_spike_and_rtl_and_their_cost(work, cnn):
    """The CNN with every constant array in flash (IMEM, EDGE_FLASH) and with them in RAM (auto's choice when
    they fit): the same output on Spike and on the RTL, the same instructions; on the RTL every layer that reads
    constant data pays the flash wait state on those loads, the others run in the same cycles. The report shows
    flash (code + flash data) and RAM separately and where the weights are."""
    flash = compiler.compile(cnn.out_dir / "model.qdq.onnx", work / "cnn_flash", weights="flash")
    ram = cnn
    assert ram.report["weights"] == "auto" and ram.report["totals"]["weights_in"] == "ram"
    assert flash.report["weights"] == "flash" and flash.report["totals"]["weights_in"] == "flash"
    assert "EDGE_FLASH" in (flash.out_dir / "weights.c").read_text()
    assert "EDGE_FLASH" not in (ram.out_dir / "weights.c").read_text()
    x = np.random.default_rng(9).standard_normal(cnn.input.shape).astype(np.float32)
    outputs, runs = [], {}
    for name, model in (("ram", ram), ("flash", flash)):
        for sim in ("spike", "rtl"):
            outputs.append(model.run(x, sim))
        runs[name] = json.loads(json.dumps(model.report))
    assert all(np.array_equal(outputs[0], y) for y in outputs[1:])
    assert steps(outputs[0], ram.reference(x), ram.output.q.scale) <= 1
    r, f = runs["ram"], runs["flash"]
    assert r["run"]["instructions"] == f["run"]["instructions"]
    assert f["run"]["cycles"] > r["run"]["cycles"]
    for a, b in zip(r["layers"], f["layers"]):
        assert a["weights_in"] == ("ram" if a["weight_bytes"] else None)
        assert b["weights_in"] == ("flash" if b["weight_bytes"] else None)
        if a["weight_bytes"]:   # at least one wait state per word of the layer's constant data
            assert b["cycles"] - a["cycles"] >= a["weight_bytes"] // 4, (a, b)
        else:
            assert b["cycles"] == a["cycles"], (a, b)
    rt, ft = r["totals"], f["totals"]
    assert rt["flash_data_bytes"] == 0 and rt["flash_bytes"] == rt["code_bytes"]
    assert rt["ram_weight_bytes"] == rt["weight_bytes"] and rt["flash_weight_bytes"] == 0
    assert ft["flash_weight_bytes"] == ft["weight_bytes"] and ft["ram_weight_bytes"] == 0
    assert ft["flash_data_bytes"] >= ft["weight_bytes"]
    assert ft["flash_bytes"] == ft["code_bytes"] + ft["flash_data_bytes"]
    assert ft["code_bytes"] == rt["code_bytes"] and ft["flash_memory_bytes"] == 512 * 1024
    assert ft["data_bytes"] <= rt["data_bytes"] - rt["weight_bytes"]
    assert "(all in flash)" in compiler.table(f) and "(all in RAM)" in compiler.table(r)


class WideActivations(nn.Module):
    """173 kB of activations (a 1x1 conv to 16 channels of 104 x 104) and a 32 kB FC: on the mcu map the weights
    do not fit the data memory beside the activations, but they do fit the code memory beside the code."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(4, 16, 1), nn.Linear(16 * 26 * 26, 3)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv(x)), 4)
        return self.fc(torch.flatten(x, 1))


def test_model_that_fits_the_mcu_only_with_weights_in_flash(tmp_path):
    """auto moves what does not fit the data memory to flash, the arrays read least first (the FC's weights, not
    the conv's), flash puts everything there, ram is rejected naming the data memory; the same output."""
    shape = (1, 4, 104, 104)
    model = export(WideActivations, tmp_path / "wide.onnx", shape)
    cal, x = samples(shape, 4), samples(shape, 1, seed=4)
    with pytest.raises(EdgeSdkError, match=r"does not fit the 'mcu' memory map: it needs [\d,]+ bytes of data memory, "
                                           r"which has 262,144 \(DMEM; [\d,]+ too many\): weights and quantization "
                                           r"parameters 32,740 .*activations 216,880 .*\(--weights ram\)\. With "
                                           r"--weights auto, 32,448 bytes of them would go to flash") as err:
        compiler.compile(model, tmp_path / "ram", calibration=cal, memory="mcu", weights="ram")
    assert "code memory, which has" not in str(err.value)
    assert_nothing_written(tmp_path, "ram")
    auto = compiler.compile(model, tmp_path / "auto", calibration=cal, memory="mcu")
    flash = compiler.compile(model, tmp_path / "flash", calibration=cal, memory="mcu", weights="flash")
    assert [row["weights_in"] for row in auto.report["layers"]] == ["ram", None, None, "ram+flash"]
    assert [row["weights_in"] for row in flash.report["layers"]] == ["flash", None, None, "flash"]
    for model_, in_flash in ((auto, 16 * 26 * 26 * 3), (flash, 32_740)):
        t = model_.report["totals"]
        assert t["flash_weight_bytes"] == in_flash and t["ram_weight_bytes"] == 32_740 - in_flash
        assert t["flash_bytes"] <= t["flash_memory_bytes"] == 65_536 and t["data_bytes"] <= 262_144
    assert "32,448 B in flash, 292 B in RAM" in compiler.table(auto.report)
    y = auto.run(x, "spike")
    assert np.array_equal(y, flash.run(x, "spike"))
    assert steps(y, auto.reference(x), auto.output.q.scale) <= 1


def test_a_failed_compile_leaves_the_previous_output(tmp_path, mlp_qdq, monkeypatch):
    out = tmp_path / "out"
    compiler.compile(mlp_qdq, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(EdgeSdkError):
        compiler.compile(tmp_path / "broken.onnx", out)

    def fail(*args, **kwargs):   # a failure after the temporary directory exists (e.g. the C compiler's)
        raise EdgeSdkError("compilation failed")

    monkeypatch.setattr(lowering, "build", fail)
    with pytest.raises(EdgeSdkError, match="compilation failed"):
        compiler.compile(mlp_qdq, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_run_rejects_an_input_of_the_wrong_shape(mlp):
    with pytest.raises(EdgeSdkError, match=r"input 'x' has shape \(1, 32\) \(float32\); got an array of shape \(32,\)"):
        mlp.run(np.zeros(32, np.float32))
    with pytest.raises(EdgeSdkError, match="not a compiled model directory"):
        compiler.load(mlp.out_dir / "model.c")


def _pruned(make_module, pattern):
    """make_module with every conv / linear weight magnitude-pruned to `pattern` along its reduction axis."""
    from riscv_ext import nm_format

    def make():
        torch.manual_seed(0)
        module = make_module()
        with torch.no_grad():
            for layer in module.modules():
                if isinstance(layer, (nn.Conv2d, nn.Linear)) and layer.weight[0].numel() % 16 == 0:
                    w = layer.weight
                    rows = w.permute(0, 2, 3, 1).reshape(w.shape[0], -1) if w.dim() == 4 else w
                    kept = torch.from_numpy(nm_format.prune(rows.numpy(), pattern) != 0)
                    mask = kept.reshape(w.shape[0], *w.shape[2:], w.shape[1]).permute(0, 3, 1, 2) if w.dim() == 4 \
                        else kept
                    w.mul_(mask)
        return module
    return make


@pytest.mark.parametrize("isa, kind", [("xdec", "sparse-ext"), ("xedge", "sparse-sw")])
def test_sparse_layers_use_the_nm_kernels_and_match_onnxruntime(isa, kind, tmp_path):
    """1:16-pruned conv and FC layers run on the N:M kernels (pattern detected from the weights), and the
    outputs still match onnxruntime; --dense-only keeps them dense with the same result."""
    shape = (1, 16, 8, 8)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(16, 16, 3, padding=1)
            self.fc = nn.Linear(16 * 8 * 8, 16)

        def forward(self, x):
            return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))

    path = export(_pruned(Net, "1:16"), tmp_path / "sparse.onnx", shape)
    x = samples(shape, n=1, seed=3)[0:1]
    sparse = compiler.compile(path, tmp_path / "sparse", calibration=samples(shape), isa=isa)
    kinds = {row["name"]: (row["kernel"], row["pattern"]) for row in sparse.report["layers"]}
    assert (kind, "1:16") in kinds.values(), kinds
    y = sparse.run(x, sim="spike")
    ref = sparse.reference(x)
    dense = compiler.compile(path, tmp_path / "dense", calibration=samples(shape), isa=isa, dense_only=True)
    assert all(row["kernel"] in ("dense", "glue") for row in dense.report["layers"])
    assert np.array_equal(y, dense.run(x, sim="spike"))
    step = float(json.loads((tmp_path / "sparse" / "model.json").read_text())["output"]["scale"])
    assert np.abs(y - ref).max() <= step * 1.0001 and y.argmax() == ref.argmax()
