"""N:M sparse and dense int8 layer kernels on the simulators, bit-exact against the numpy reference; the packed
N:M format (round trip, validation, bad input)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_sdk import EdgeSdkError
from edge_sdk.kernel_bench import LAYERS, conv, dw, fc, glue, make_glue, make_layer, run_layer
from riscv_ext import nm_format

PATTERNS = nm_format.SUPPORTED


# ----------------------------------------------------------------------------- the packed format
@st.composite
def nm_matrices(draw):
    pattern = nm_format.parse_pattern(draw(st.sampled_from(PATTERNS)))
    rows, groups = draw(st.integers(1, 6)), draw(st.integers(1, 40))
    dense = np.array(draw(st.lists(st.integers(-128, 127), min_size=rows * groups * pattern.m,
                                   max_size=rows * groups * pattern.m)), dtype=np.int64).reshape(rows, -1)
    return nm_format.prune(dense, pattern), pattern


@settings(max_examples=150, deadline=None)
@given(nm_matrices())
def test_pack_unpack_round_trip(case):
    w, pattern = case
    packed = nm_format.pack(w, pattern)
    assert np.array_equal(nm_format.unpack(packed), w)
    assert packed.value_stride % 4 == 0 and packed.nbytes == nm_format.storage_bytes(*w.shape, pattern)
    assert (nm_format.offsets_of(packed) < pattern.m).all()


def test_validate_names_the_first_offending_group():
    w = np.zeros((3, 16), dtype=np.int8)
    w[2, 9:11] = 5  # row 2, group 1 of 1:8 has two non-zeros
    with pytest.raises(nm_format.NMFormatError, match=r"row 2, group 1 \(weights 8\.\.15\) has 2 non-zeros"):
        nm_format.validate(w, "1:8")
    nm_format.validate(w, "2:8")


@pytest.mark.parametrize("bad, match", [
    (lambda: nm_format.parse_pattern("3:8"), "unknown N:M pattern '3:8'"),
    (lambda: nm_format.pack(np.zeros((2, 12), np.int8), "1:8"), "reduction size 12 is not a multiple of M = 8"),
    (lambda: nm_format.pack(np.ones((2, 8), np.int8), "1:4"), "row 0, group 0"),
    (lambda: nm_format.pack(np.zeros((2, 2, 8)), "1:4"), "expected a 2-D weight matrix"),
    (lambda: nm_format.pack(np.full((1, 8), 300), "1:4"), "int8 values"),
])
def test_bad_input_is_a_clear_error(bad, match):
    with pytest.raises(nm_format.NMFormatError, match=match):
        bad()


@pytest.mark.parametrize("args, message", [
    (["--layers", "nope"], "unknown layer 'nope'"),
    (["--layers", ""], "unknown layer ''"),
    (["--layers", "dscnn-fc", "--patterns", "3:8"], "unknown N:M pattern '3:8'"),
    (["--layers", "dscnn-fc", "--json", "/nonexistent-dir/out.json"], "its directory does not exist"),
    (["--layers", "dscnn-fc", "--json", "."], "it is a directory"),
])
def test_bench_kernels_bad_input(args, message):
    """Each bad argument is one error line and exit 2, before any simulation runs."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "edge_sdk.cli", "bench", "kernels", "--sim", "spike", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_sparse_variant_without_pattern_is_refused():
    with pytest.raises(EdgeSdkError, match="needs an N:M pattern"):
        run_layer(make_layer(fc("x", 16, 4), None), "sw", "spike")


# ----------------------------------------------------------------------------- kernels
# Odd sizes, channel counts not a multiple of 4, stride 2, padding; every pattern whose M divides K.
SHAPES = [conv("c3x3-s2-pad", 7, 16, 6, 3, stride=2), conv("c3x3-odd", 5, 8, 5, 3),
          conv("c1x1", 5, 16, 7, 1), conv("c3x3-cin3", 6, 3, 5, 3), conv("c5x2-s2", 9, 4, 6, 5, stride=2, pad=1, w=7, kw=2),
          fc("fc-odd", 64, 7), fc("fc-big", 256, 9)]


@pytest.mark.parametrize("layer", SHAPES, ids=lambda layer: layer.name)
def test_every_kernel_and_pattern_exact_on_spike(layer, tmp_path):
    rows = [run_layer(make_layer(layer, None, seed=3), v, "spike", tmp_path) for v in ("ref", "dense")]
    for pattern in PATTERNS:
        if layer.reduction % nm_format.parse_pattern(pattern).m == 0:
            d = make_layer(layer, pattern, seed=4)
            rows += [run_layer(d, v, "spike", tmp_path) for v in ("ref", "sw", "ext")]
    assert rows and all(r["exact"] for r in rows), [r for r in rows if not r["exact"]]


def test_requantization_64_bit_path(tmp_path):
    """Shifts below 33 take the kernels' 64-bit requantization path."""
    layer = conv("c3x3-small-shift", 5, 8, 5, 3)
    d = make_layer(layer, "1:8", seed=5, max_shift=30)
    assert (d.shift <= 30).all()
    assert all(run_layer(d, v, "spike", tmp_path)["exact"] for v in ("ref", "sw", "ext"))
    assert run_layer(make_layer(layer, None, seed=5, max_shift=30), "dense", "spike", tmp_path)["exact"]


@pytest.mark.parametrize("layer", [dw("dw3x3-s2-odd", 9, 6, 3, stride=2), dw("dw5x5", 6, 8, 5, w=7),
                                   dw("dw3x3-wide", 5, 8, 3, w=19), dw("dw3x3-s2-wide", 7, 4, 3, stride=2, w=21),
                                   dw("dw3x3-narrow", 6, 8, 3, w=5), dw("dw5x3-one-channel", 7, 1, 5, w=11, kw=3)],
                         ids=lambda layer: layer.name)
def test_depthwise_exact_on_spike(layer, tmp_path):
    """Every path of depthwise_i8_xedge: staged rows with the 3-row assembly loops at stride 1 and 2 (and their
    remainders), the generic staged loop (5 x 3, one channel), the four-channel path (narrow rows, 5 x 5)."""
    d = make_layer(layer, None, seed=6)
    assert all(run_layer(d, v, "spike", tmp_path)["exact"] for v in ("ref", "dense"))


@pytest.mark.parametrize("pattern", ["1:8", "2:16"])
def test_kernels_exact_on_the_rtl_and_sparse_is_faster(pattern, tmp_path):
    layer = LAYERS["resnet8-stack3-conv"]
    dense = run_layer(make_layer(layer, None), "dense", "rtl", tmp_path)
    d = make_layer(layer, pattern)
    sw, ext = (run_layer(d, v, "rtl", tmp_path) for v in ("sw", "ext"))
    assert dense["exact"] and sw["exact"] and ext["exact"]
    assert dense["macs"] / dense["cycles"] >= 1.5
    assert ext["cycles"] < min(sw["cycles"], dense["cycles"])


GLUE = [glue("add-odd", "add", 3, 5, w=7), glue("requantize-odd", "requantize", 5, 3),
        glue("maxpool-pad-s2", "maxpool", 7, 5, k=3, stride=2, pad=1), glue("avgpool-pad", "avgpool", 6, 6, k=3, pad=1),
        glue("avgpool-global", "avgpool", 4, 10, w=3, k=4, kw=3), glue("pad-odd", "pad", 5, 3, w=4, pads=(1, 2, 0, 3)),
        glue("transpose-odd", "transpose", 3, 7, w=5)]


@pytest.mark.parametrize("layer", GLUE, ids=lambda layer: layer.name)
def test_glue_kernels_exact_on_spike_at_any_alignment(layer, tmp_path):
    """The compiler's glue layers (nn_glue_i8.h): the public (word-at-a-time where it can) function and its
    plain-C reference equal the numpy reference, with the buffers word-aligned or not."""
    d = make_glue(layer, seed=3)
    for variant, skew in (("ref", (0, 0, 0)), ("dense", (0, 0, 0)), ("dense", (1, 2, 3))):
        row = run_layer(d, variant, "spike", tmp_path / f"{variant}{skew}", skew=skew)
        assert row["exact"], (layer.name, variant, skew)


def test_cost_model_picks_the_measured_fastest_kernel():
    """The compiler's kernel choice (lowering/sparsity.py, fitted to benchmarks/results/kernels.json): on every
    conv and fc layer and pattern of the kernel benchmark where the measured fastest kernel beats the others by
    more than the choice's margin, the choice is that kernel; including the small DS-CNN pointwise layer at 1:16,
    where the software kernel is slower than dense."""
    import json

    from edge_sdk.lowering import sparsity
    from tests.conftest import ROOT
    rows = json.loads((ROOT / "benchmarks" / "results" / "kernels.json").read_text())["rows"]
    dense = {r["layer"]: r["cycles"] for r in rows if r["variant"] == "dense"}
    cases = {}
    for r in rows:
        if r["variant"] in ("sw", "ext"):
            cases.setdefault((r["layer"], r["pattern"]), {"dense": dense[r["layer"]]})[r["variant"]] = r["cycles"]
    checked = wrong = 0
    for (name, pattern), cycles in cases.items():
        layer = LAYERS[name]
        pixels = layer.ho * layer.wo if layer.op == "conv" else 1
        for isa, allowed in (("xedge", ("dense", "sw")), ("xdec", ("dense", "sw", "ext"))):
            options = {k: v for k, v in cycles.items() if k in allowed}
            best = min(options, key=options.get)
            runner_up = min(v for k, v in options.items() if k != best)
            if runner_up < options[best] * (1 + 2 * sparsity.MARGIN):
                continue      # too close to call for a model with this margin
            checked += 1
            choice = sparsity.choose(layer.op, nm_format.parse_pattern(pattern), isa, pixels, layer.cout,
                                     layer.reduction)
            wrong += choice != best
    assert checked > 100 and wrong <= checked // 20, (checked, wrong)
    small = LAYERS["dscnn-pointwise"]
    assert sparsity.choose("conv", nm_format.parse_pattern("1:16"), "xedge", small.ho * small.wo, small.cout,
                           small.reduction) == "dense"
