"""The ONNX standard's backend node tests of the quantized operators the compiler takes (QLinearConv,
QLinearMatMul, ConvInteger, MatMulInteger, QuantizeLinear, DequantizeLinear), through `edge_sdk.compile` and
`run` on Spike (three also on the RTL), compared with the tests' expected outputs: exactly, element for element
and type for type (ConvInteger's and MatMulInteger's int32 outputs too: the firmware stores their exact sum).

The tests come from the installed onnx package, found by name (`test_<operator>*`, so a newer onnx's new tests
are included): `onnx.backend.test.loader.load_model_tests(kind="node")` reads them from
onnx/backend/test/data/node/ (model.onnx, test_data_set_*/input_*.pb, output_*.pb) where the wheel ships that
directory, and builds the same models and data in memory from the generators that write it where it does not
(onnx 1.23's wheel). A node test gives every operand as a graph input; the firmware's quantization is fixed at
compile time, so all but the first (the data) are bound to the test's values as initializers before compiling,
and unbound the compiler names the scale that is not a constant.

A test outside what the compiler claims (`_unclaimed`) must be rejected with the clear error it names, and is
then skipped with its reason. Besides: an already quantized input takes its type's integers only, the
asymmetric weights the node tests use (their w - zw leave int8) also run in a plain QDQ model, against
onnxruntime, and ConvInteger / MatMulInteger models with such weights, zero points per output channel, padding,
groups and dilation give numpy's exact int32 sums (and onnxruntime's); an int32 output another node reads is
named."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edge_sdk
from edge_sdk import EdgeSdkError, frontend

OPERATORS = ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QuantizeLinear", "DequantizeLinear")
RTL = ("test_qlinearconv", "test_qlinearmatmul_2D_uint8_float32", "test_matmulinteger")   # cheap on the RTL too
BOUNDARY_TYPES = (TensorProto.FLOAT, TensorProto.INT8, TensorProto.UINT8)


def _node_tests() -> dict:
    """The onnx package's node tests of OPERATORS, by name."""
    from onnx.backend.test.loader import load_model_tests
    prefixes = tuple(f"test_{op.lower()}" for op in OPERATORS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # the generators of other operators' tests overflow casts on purpose
        cases = load_model_tests(kind="node")
    return {c.name: c for c in sorted(cases, key=lambda c: c.name) if c.name.startswith(prefixes)}


NODE_TESTS = _node_tests()


def _array(value) -> np.ndarray:
    if isinstance(value, (str, Path)):
        value = onnx.load_tensor(str(value))
    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else np.asarray(value)


def _model_and_data(case) -> tuple[onnx.ModelProto, list[tuple[list[np.ndarray], list[np.ndarray]]]]:
    """The test's model and its (inputs, expected outputs) data sets, from the directory or from memory."""
    if case.model is not None:
        return case.model, [([_array(v) for v in ins], [_array(v) for v in outs]) for ins, outs in case.data_sets]
    directory = Path(case.model_dir)
    sets = [([_array(p) for p in sorted(d.glob("input_*.pb"))], [_array(p) for p in sorted(d.glob("output_*.pb"))])
            for d in sorted(directory.glob("test_data_set_*"))]
    return onnx.load(directory / "model.onnx"), sets


def _bound(model: onnx.ModelProto, inputs: list[np.ndarray]) -> onnx.ModelProto:
    """The model with every graph input but the first an initializer holding the test's value."""
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    constants = bound.graph.input[1:]
    bound.graph.initializer.extend(numpy_helper.from_array(v, i.name) for i, v in zip(constants, inputs[1:]))
    del bound.graph.input[1:]
    return bound


def _elements(value: onnx.ValueInfoProto) -> int:
    return int(np.prod([d.dim_value for d in value.type.tensor_type.shape.dim]))


def _unclaimed(model: onnx.ModelProto) -> tuple[str, str] | None:
    """For a test outside what the compiler claims: why, and the error the compiler gives (a regex)."""
    node, graph = model.graph.node[0], model.graph
    if any(a.name == "block_size" and a.i for a in node.attribute):
        return "blocked quantization (a scale per block of elements)", "is blocked quantization"
    for role, value in (("input", graph.input[0]), ("output", graph.output[0])):
        elem = value.type.tensor_type.elem_type
        if elem == TensorProto.INT32 and role == "output" and node.op_type in ("ConvInteger", "MatMulInteger"):
            continue        # the exact int32 sum, stored as it is (lowering/integer.py)
        if elem == TensorProto.INT32:
            return f"int32 {role}: the kernels compute on int8 / uint8 tensors", f"{role} '{value.name}' is int32"
        if elem not in BOUNDARY_TYPES:
            name = TensorProto.DataType.Name(elem).lower()
            return f"{name} {role}: the kernels compute on int8 / uint8 tensors", f"{role} '{value.name}' is"
    if node.op_type in ("QuantizeLinear", "DequantizeLinear") and _elements(graph.input[1]) > 1:
        return ("per-axis quantization of an activation (the model's input or output): the firmware's activations "
                "have one scale and zero point"), "quantized per channel"
    if node.op_type == "QLinearMatMul" and len(graph.input[3].type.tensor_type.shape.dim) > 2:
        return ("a batched MatMul by constant weights (one matrix per batch): the dense kernels take one 2-D weight "
                "matrix"), "the dense kernels take one 2-D weight matrix"
    return None


@pytest.mark.parametrize("name", sorted(NODE_TESTS))
def test_node(name, tmp_path):
    model, data_sets = _model_and_data(NODE_TESTS[name])
    assert len(model.graph.node) == 1 and model.graph.node[0].op_type in OPERATORS
    unclaimed = _unclaimed(model)
    if unclaimed:
        why, error = unclaimed
        with pytest.raises(EdgeSdkError, match=error):
            edge_sdk.compile(_bound(model, data_sets[0][0]), tmp_path / "out")
        pytest.skip(f"outside what the compiler claims: {why} (rejected with a clear error)")
    for k, (inputs, (expected,)) in enumerate(data_sets):
        compiled = edge_sdk.compile(_bound(model, inputs), tmp_path / f"out{k}")
        for sim in ("spike", "rtl") if name in RTL else ("spike",):
            y = compiled.run(inputs[0], sim=sim)
            assert y.dtype == expected.dtype and y.shape == expected.shape
            np.testing.assert_array_equal(y, expected, err_msg=f"{name} on {sim}")


@pytest.mark.parametrize("name, what", [("test_qlinearconv", "its x_scale 'x_scale'"),
                                        ("test_quantizelinear", "its scale 'y_scale'")])
def test_runtime_scale_is_named(name, what, tmp_path):
    """A scale given as a graph input (as the node tests give it) cannot be compiled into fixed firmware."""
    model, _ = _model_and_data(NODE_TESTS[name])
    with pytest.raises(EdgeSdkError, match=re.escape(what) + " is a graph input.*scale must be a constant"):
        edge_sdk.compile(model, tmp_path / "out")


def test_integer_input_takes_its_integers_only(tmp_path):
    """A model quantized at its input takes that type's integers (the host stores them as they are)."""
    model, [(inputs, _)] = _model_and_data(NODE_TESTS["test_dequantizelinear"])
    compiled = edge_sdk.compile(_bound(model, inputs), tmp_path / "out")
    for bad in (inputs[0] + 0.5, inputs[0].astype(np.int32) - 1000):
        with pytest.raises(EdgeSdkError, match=r"input 'x' is uint8 \(already quantized\); got values that are not"):
            compiled.run(bad)


def _asymmetric_qdq_model() -> onnx.ModelProto:
    """x -> Conv 3x3/2 (uint8 weights, zero points 0, 128, 200, 255 per channel: w - zw up to 255) -> Reshape ->
    Gemm transB (uint8 weights, zero point 30), all in QDQ form with uint8 activations."""
    rng = np.random.default_rng(0)
    w_conv = rng.integers(0, 256, (4, 3, 3, 3)).astype(np.uint8)
    w_conv[0, 0, 0, 0] = 255
    constants = {"xs": np.float32(0.02), "xz": np.uint8(120), "wc": w_conv, "wcs": np.full(4, 0.01, np.float32),
                 "wcz": np.array([0, 128, 200, 255], np.uint8), "cs": np.float32(0.5), "cz": np.uint8(100),
                 "shape": np.array([1, 64], np.int64), "wf": rng.integers(0, 256, (5, 64)).astype(np.uint8),
                 "wfs": np.float32(0.003), "wfz": np.uint8(30), "ys": np.float32(0.25), "yz": np.uint8(128)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xf"]),
             helper.make_node("DequantizeLinear", ["wc", "wcs", "wcz"], ["wcf"], axis=0),
             helper.make_node("Conv", ["xf", "wcf"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("QuantizeLinear", ["c", "cs", "cz"], ["cq"]),
             helper.make_node("DequantizeLinear", ["cq", "cs", "cz"], ["cf"]),
             helper.make_node("Reshape", ["cf", "shape"], ["r"]),
             helper.make_node("QuantizeLinear", ["r", "cs", "cz"], ["rq"]),
             helper.make_node("DequantizeLinear", ["rq", "cs", "cz"], ["rf"]),
             helper.make_node("DequantizeLinear", ["wf", "wfs", "wfz"], ["wff"]),
             helper.make_node("Gemm", ["rf", "wff"], ["g"], transB=1),
             helper.make_node("QuantizeLinear", ["g", "ys", "yz"], ["gq"]),
             helper.make_node("DequantizeLinear", ["gq", "ys", "yz"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 3, 8, 8))
    graph = helper.make_graph(nodes, "asymmetric", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 5))],
                              [numpy_helper.from_array(v, k) for k, v in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_asymmetric_weights_split_over_a_repeated_input(tmp_path):
    """The node tests' asymmetric uint8 / int8 weights leave int8 once their zero point is taken off; in any QDQ
    model such weights run as int8 parts over an input repeated by a 1x1 layer (three parts where w - zw reaches
    255, two below), and the output is onnxruntime's on the model as given."""
    model = _asymmetric_qdq_model()
    compiled = edge_sdk.compile(model, tmp_path / "out")
    assert [row["about"] for row in compiled.report["layers"] if row["op"] in ("conv2d", "dense")] == [
        "1x1/1 pad 0, 3 -> 9 channels, 8x8 -> 8x8", "3x3/2 pad 1, 9 -> 4 channels, 8x8 -> 4x4",
        "64 -> 128", "128 -> 5"]
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal((1, 3, 8, 8)).astype(np.float32)
        y, expected = compiled.run(x), frontend.reference(model, x)
        assert np.abs(y - expected).max() <= 0.25      # one output step (the README's rounding)


def _conv_integer(x, w, zx, zw, pads, strides, dilations, group) -> np.ndarray:
    """ConvInteger in int64 numpy: sum of (x - zx)(w - zw) over each window, padding holding zx."""
    xi = np.pad(x.astype(np.int64) - zx, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))[0]
    wi = w.astype(np.int64) - np.asarray(zw, np.int64).reshape(-1, 1, 1, 1)
    cout, cin_g, kh, kw = wi.shape
    ho, wo = ((n - d * (k - 1) - 1) // s + 1 for n, d, k, s in zip(xi.shape[1:], dilations, (kh, kw), strides))
    y, per = np.zeros((cout, ho, wo), np.int64), cout // group
    for g in range(group):
        for ky in range(kh):
            for kx in range(kw):
                patch = xi[g * cin_g:(g + 1) * cin_g, ky * dilations[0]::strides[0], kx * dilations[1]::strides[1]]
                y[g * per:(g + 1) * per] += np.einsum("oc,chw->ohw", wi[g * per:(g + 1) * per, :, ky, kx],
                                                      patch[:, :ho, :wo])
    return y[None]


def _integer_model(op: str, x_type, x_shape, y_rank: int, constants: dict, **attributes) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", x_type, x_shape)
    node = helper.make_node(op, ["x", *constants], ["y"], **attributes)
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [None] * y_rank)
    graph = helper.make_graph([node], op.lower(), [x], [y],
                              [numpy_helper.from_array(v, k) for k, v in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("case", ["uint8 per-channel zero points, asymmetric pads, strides 2x1",
                                  "int8 per-channel zero points, 2 groups, dilation 2x1"])
def test_conv_integer_int32_output(case, tmp_path):
    """A ConvInteger model's int32 output (the firmware's exact sum, stored as int32) equals numpy's integer
    ConvInteger and onnxruntime's on the compiled QDQ model, element for element. Weights w - zw reach +-255
    and stay one int16 layer (no split)."""
    rng = np.random.default_rng(0)
    if case.startswith("uint8"):
        dtype, zx, zw = np.uint8, np.uint8(120), np.array([0, 128, 200, 255], np.uint8)
        attrs = {"pads": [1, 2, 0, 1], "strides": [2, 1], "dilations": [1, 1], "group": 1}
    else:
        dtype, zx, zw = np.int8, np.int8(-3), np.array([-128, 0, 127, 50], np.int8)
        attrs = {"pads": [1, 1, 1, 1], "strides": [1, 1], "dilations": [2, 1], "group": 2}
    info = np.iinfo(dtype)
    w = rng.integers(info.min, info.max + 1, (4, 4 // attrs["group"], 3, 3)).astype(dtype)
    w[0, 0, 0, 0], w[1, 0, 0, 0] = info.max, info.min
    model = _integer_model("ConvInteger", helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), (1, 4, 7, 6), 4,
                           {"w": w, "zx": zx, "zw": zw}, **attrs)
    compiled = edge_sdk.compile(model, tmp_path / "out")
    assert [(row["function"], row["output_dtype"]) for row in compiled.report["layers"]] == [("conv2d_i32", "int32")]
    for seed in range(2):
        x = np.random.default_rng(seed).integers(info.min, info.max + 1, (1, 4, 7, 6)).astype(dtype)
        y = compiled.run(x)
        expected = _conv_integer(x, w, zx, zw, attrs["pads"], attrs["strides"], attrs["dilations"], attrs["group"])
        assert y.dtype == np.int32 and y.shape == expected.shape
        np.testing.assert_array_equal(y, expected)
        np.testing.assert_array_equal(y, compiled.reference(x))


def test_matmul_integer_int32_output(tmp_path):
    """MatMulInteger of a 3-D int8 input by uint8 weights with a zero point per column: int32 out, exact."""
    rng = np.random.default_rng(1)
    b, zb = rng.integers(0, 256, (6, 3)).astype(np.uint8), np.array([0, 128, 255], np.uint8)
    model = _integer_model("MatMulInteger", TensorProto.INT8, (2, 4, 6), 3, {"b": b, "za": np.int8(5), "zb": zb})
    compiled = edge_sdk.compile(model, tmp_path / "out")
    a = rng.integers(-128, 128, (2, 4, 6)).astype(np.int8)
    y = compiled.run(a)
    expected = (a.astype(np.int64) - 5) @ (b.astype(np.int64) - zb)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(y, compiled.reference(a))


def test_int32_output_read_by_another_node_is_named(tmp_path):
    """An int32 sum is stored only as the model's output: one that another node reads is rejected by name."""
    model = _integer_model("MatMulInteger", TensorProto.UINT8, (1, 6), 2, {"b": np.ones((6, 3), np.uint8)})
    model.graph.node.append(helper.make_node("Cast", ["y"], ["f"], to=TensorProto.FLOAT))
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("f", TensorProto.FLOAT, [1, 3]))
    with pytest.raises(EdgeSdkError, match=r"its int32 output 'y' is read by node 'f' \(Cast\).*only as the model's"):
        edge_sdk.compile(model, tmp_path / "out")
