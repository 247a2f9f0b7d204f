"""MEADOW on the NPU model (accelerator_models/meadow/): the hardware description, numerical equality of every
dataflow with the reference int8 layer (prefill and decode, with and without packing, several tilings), the
weight packing round trip (property tests), monotonicity in bandwidth, the paper-style baseline's missing
overlap, and `edge-sdk npu meadow` with its errors."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from accelerator_models.common import hardware
from accelerator_models.common.engine import simulate
from accelerator_models.common.errors import ModelError
from accelerator_models.common.program import Infeasible
from accelerator_models.meadow import commands, dataflows, evaluate, models, packing, quant, search
from edge_sdk.cli import main

HW = hardware.load("meadow")


def _layer(decoder=True, hidden=64, heads=4, ffn=128, seed=0):
    base = models.get("opt-125m" if decoder else "deit-s")
    m = base.small(hidden, heads, ffn)
    rng = np.random.default_rng(seed)
    shapes = {"Wq": (hidden, hidden), "Wk": (hidden, hidden), "Wv": (hidden, hidden), "Wo": (hidden, hidden),
              "W1": (ffn, hidden), "W2": (hidden, ffn)}
    return m, quant.make_layer(m, {k: models.synthetic_matrix(k, *s, rng) for k, s in shapes.items()}, seed)


def _tilings(wl, dataflow, n, seed):
    """n random tilings (one per layer) of the dataflow's search space, the first the smallest."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = {}
        for name in dataflows.LAYERS[dataflow]:
            sp = search.space(name, wl, search.inner_dim(name, wl))
            t[name] = {k: (v[0] if i == 0 else v[rng.integers(len(v))]) for k, v in sp.items()}
        out.append(t)
    return out


def _execute(p, wl, layer, data, packed=None):
    tl = simulate(p.ops, HW)
    res = evaluate.Result("x", "x", bool(packed), {}, tl.latency_cycles, tl.dram_bytes, tl.dram_read_bytes,
                          tl.dram_write_bytes, 0.0, tl.busy_cycles, tl.peak_buffer_bytes, p, tl)
    return evaluate.check(res, wl, layer, data, packed)


# --- hardware ----------------------------------------------------------------------------------------------
def test_meadow_config():
    assert HW.clock_mhz == 100 and HW.word_bytes == 1 and HW.mac is None
    assert [(g.name, g.kind, g.pes) for g in HW.pe_groups] == [("pmac", "parallel", 84), ("bmac", "broadcast", 12)]
    assert HW.units == ("load", "store", "pmac", "bmac", "vec", "softmax", "unpack")
    assert math.isclose(HW.with_dram_bandwidth(12).dram.bytes_per_cycle, 15.0)
    assert math.isclose(HW.with_dram_bandwidth(1).dram.bytes_per_cycle, 1.25)
    assert sum(g.pes for g in HW.with_pe_scale(1 / 6).pe_groups) == 16


def test_pe_group_costs_by_hand():
    pmac, bmac = HW.group("pmac"), HW.group("bmac")
    # token-parallel Q projection of one OPT-125M head, 128 tokens: 2 rounds of 84 PEs, 64 outputs, 768 / 16 steps
    assert pmac.cycles(128, 768, 64, "m") == 2 * 64 * 48 + 8
    # P.V on the broadcast PEs: 11 rounds of 12 PEs, 4 segments of 16 outputs, 128 keys
    assert bmac.cycles(128, 128, 64, "m") == 11 * 4 * 128 + 8
    assert HW.softmax_cycles(128, 128) == 4 + (128 + 2) * 8      # 3 stages, 8 cycles per row per stage
    assert HW.unpack_cycles(6400) == 4 + 100


def _write_hw(tmp_path, edit):
    d = yaml.safe_load((hardware.CONFIGS / "meadow.yaml").read_text())
    edit(d)
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


def test_meadow_config_errors(tmp_path):
    with pytest.raises(ModelError, match="kind 'systolic' is not modelled"):
        hardware.load(_write_hw(tmp_path, lambda d: d["pe_groups"][0].__setitem__("kind", "systolic")))
    with pytest.raises(ModelError, match=r"pe_groups\[1\]: missing field 'lanes'"):
        hardware.load(_write_hw(tmp_path, lambda d: d["pe_groups"][1].pop("lanes")))
    with pytest.raises(ModelError, match="the name 'vec' is taken"):
        hardware.load(_write_hw(tmp_path, lambda d: d["pe_groups"][1].__setitem__("name", "vec")))
    with pytest.raises(ModelError, match="missing section 'mac_unit'"):
        hardware.load(_write_hw(tmp_path, lambda d: d.pop("pe_groups")))
    with pytest.raises(ModelError, match="softmax_unit: field 'lanes' must be positive"):
        hardware.load(_write_hw(tmp_path, lambda d: d["softmax_unit"].__setitem__("lanes", 0)))


# --- numerical equality ------------------------------------------------------------------------------------
@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_every_dataflow_is_exact(phase):
    """GEMM (strong and paper-style) and TPHS on several tilings each (row blocks that do not divide the tokens,
    both loop orders, K tiled or not), with and without packing: bit-equal to the reference layer."""
    m, layer = _layer()
    wl = dataflows.workload(m, phase, tokens=40, context=23)
    data = evaluate.inputs(layer, wl, seed=3)
    packed = evaluate.pack_layer(layer, 2, packet=5)
    checked = 0
    for dataflow in dataflows.DATAFLOWS:
        for i, tilings in enumerate(_tilings(wl, dataflow, 4, seed=1)):
            for pk, weak in ((None, False), (packed, False), (None, True)):
                if weak and dataflow == "tphs":
                    continue
                try:
                    p = dataflows.build(HW, wl, layer, dataflow, tilings, pk, weak)
                except Infeasible:
                    continue
                r = _execute(p, wl, layer, data, pk)
                assert r["exact"], (dataflow, tilings, bool(pk), weak, r)
                checked += 1
    assert checked >= 16


def test_encoder_layer_is_exact():
    """An encoder (no causal mask, GELU) with a prompt longer than the PE rows, the searched tilings."""
    m, layer = _layer(decoder=False, hidden=64, heads=2, ffn=256, seed=4)
    wl = dataflows.workload(m, "prefill", tokens=100)
    data = evaluate.inputs(layer, wl, seed=1)
    for dataflow in dataflows.DATAFLOWS:
        res = evaluate.run(HW, wl, layer, dataflow)
        assert evaluate.check(res, wl, layer, data)["exact"]


def test_the_check_is_not_vacuous():
    """A TPHS program with one dependency removed (P.V no longer waits for the softmax) is caught."""
    m, layer = _layer()
    wl = dataflows.workload(m, "prefill", tokens=40)
    data = evaluate.inputs(layer, wl)
    tilings = _tilings(wl, "tphs", 1, 0)[0]
    p = dataflows.build(HW, wl, layer, "tphs", tilings)
    pv = next(op for op in p.ops if op.name.startswith("chain PV"))
    sm = next(op for op in p.ops if op.name.startswith("chain softmax") and op.id in pv.deps)
    pv.deps.remove(sm.id)
    try:
        r = _execute(p, wl, layer, data)
    except ModelError:
        return                                    # read of a slot not yet written
    assert not r["exact"]


def test_reference_is_an_int8_layer():
    m, layer = _layer()
    x = quant.random_tokens(m, 12, np.random.default_rng(0))
    ref = quant.reference(layer, x)
    for k in ("out", "K", "V", "Q", "O"):
        assert ref[k].min() >= -128 and ref[k].max() <= 127
    assert ref["out"].std() > 3                   # calibrated: not collapsed to zero or saturated
    p = quant.softmax_rows(np.array([[5, 5, -128], [0, 40, 3]]), np.array([[True, True, False], [True, True, True]]))
    assert p[0].tolist() == [128, 128, 0] and abs(int(p[1].sum()) - 255) <= 2
    # decode = the last row of a prefill over the whole sequence
    full = quant.reference(layer, x)
    step = quant.reference(layer, x[-1:], full["K"][:-1], full["V"][:-1])
    assert (step["out"] == full["out"][-1:]).all()


# --- dataflow properties -----------------------------------------------------------------------------------
def _overlap(ops, tl, a: set, b: set) -> int:
    spans = lambda units: [(tl.start[o.id], tl.start[o.id] + o.cycles) for o in ops if o.unit in units and o.cycles]  # noqa: E731
    return sum(max(0, min(e1, e2) - max(s1, s2)) for s1, e1 in spans(a) for s2, e2 in spans(b))


def test_paper_style_gemm_never_overlaps_and_strong_does():
    m, layer = _layer()
    wl = dataflows.workload(m, "prefill", tokens=64)
    hw = HW.with_dram_bandwidth(6)
    compute = {"pmac", "bmac", "vec", "softmax", "unpack"}
    weak = evaluate.run(hw, wl, layer, "gemm", weak=True)
    strong = evaluate.run(hw, wl, layer, "gemm")
    assert _overlap(weak.program.ops, weak.timeline, {"load", "store"}, compute) == 0
    assert _overlap(strong.program.ops, strong.timeline, {"load", "store"}, compute) > 0
    assert strong.latency_cycles < weak.latency_cycles
    assert strong.busy_cycles["pmac"] > 0 and strong.busy_cycles["bmac"] > 0      # both PE groups work


def test_tphs_keeps_q_s_p_on_chip_and_pipelines_heads():
    m, layer = _layer()
    wl = dataflows.workload(m, "prefill", tokens=64)
    g = evaluate.run(HW, wl, layer, "gemm")
    t = evaluate.run(HW, wl, layer, "tphs")
    stored = lambda r, tensor: sum(o.dram_write for o in r.program.ops if o.name.startswith(f"store {tensor}"))  # noqa: E731
    assert stored(g, "S") == stored(g, "P") == m.heads * 64 * 64 and stored(g, "Q") == 64 * m.hidden
    assert stored(t, "S") == stored(t, "P") == stored(t, "Q") == 0 and stored(t, "O") == 64 * m.hidden
    assert t.dram_bytes < g.dram_bytes
    chain = [o for o in t.program.ops if o.name.startswith("chain")]
    assert _overlap(chain, t.timeline, {"pmac"}, {"bmac"}) > 0   # the next head's Q K^T beside this head's P V


def test_packing_moves_fewer_weight_bytes_when_weights_repeat():
    m, layer = _layer()
    layer.w = {k: (np.clip(v, -6, 6) // 3).astype(np.int8) for k, v in layer.w.items()}  # few distinct weights
    wl = dataflows.workload(m, "decode", context=16)
    packed = evaluate.pack_layer(layer, 2)
    plain = evaluate.run(HW, wl, layer, "tphs")
    pk = evaluate.run(HW, wl, layer, "tphs", packed)
    w_plain = sum(o.dram_read for o in plain.program.ops if o.name.startswith("load W"))
    w_packed = sum(o.dram_read for o in pk.program.ops if o.name.startswith(("load packed", "load unique")))
    assert w_packed < w_plain / 2
    assert pk.busy_cycles["unpack"] > 0
    assert evaluate.check(pk, wl, layer, evaluate.inputs(layer, wl), packed)["exact"]


def test_more_bandwidth_is_never_slower():
    m, layer = _layer()
    packed = evaluate.pack_layer(layer, 1)
    for phase in ("prefill", "decode"):
        wl = dataflows.workload(m, phase, tokens=48, context=32)
        for dataflow, pk, weak in (("gemm", None, False), ("gemm", None, True), ("gemm", packed, False),
                                   ("tphs", None, False), ("tphs", packed, False)):
            lat = [evaluate.run(HW.with_dram_bandwidth(bw), wl, layer, dataflow, pk, weak).latency_cycles
                   for bw in commands.BANDWIDTHS]
            assert lat == sorted(lat, reverse=True), (phase, dataflow, bool(pk), weak, lat)


# --- packing -------------------------------------------------------------------------------------------------
@st.composite
def _matrices(draw):
    rows, cols = draw(st.integers(1, 12)), draw(st.integers(1, 40))
    alphabet = draw(st.lists(st.integers(-128, 127), min_size=1, max_size=12, unique=True))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return np.random.default_rng(seed).choice(np.array(alphabet, np.int8), size=(rows, cols))


@settings(max_examples=150, deadline=None)
@given(_matrices(), st.integers(1, 9), st.integers(1, 40), st.integers(1, 3), st.sampled_from(packing.ENCODINGS))
def test_pack_unpack_round_trip(m, chunk, packet, mode_bits, encoding):
    p = packing.pack(m, chunk, packet, mode_bits, encoding)
    assert (packing.unpack(p) == m).all()
    assert len(p.stream) == p.stream_bytes
    assert p.total_bytes == p.header_bytes + p.unique_bytes + p.stream_bytes
    assert len({bytes(u) for u in p.unique}) == p.n_unique          # each chunk kept once
    if encoding == "reindexed" and p.ids.size:
        counts = np.bincount(p.ids.ravel())
        assert (np.diff(counts) <= 0).all()                          # most frequent chunk -> smallest ID


@settings(max_examples=60, deadline=None)
@given(_matrices(), st.integers(1, 4), st.integers(1, 9), st.data())
def test_tile_streams_round_trip(m, chunk, packet, data):
    p = packing.pack(m, chunk, packet, 2, "reindexed")
    r0 = data.draw(st.integers(0, m.shape[0] - 1))
    r1 = data.draw(st.integers(r0 + 1, m.shape[0]))
    c0 = chunk * data.draw(st.integers(0, (m.shape[1] - 1) // chunk))
    c1 = data.draw(st.integers(c0 + 1, m.shape[1]))
    stream = p.tile_stream(r0, r1, c0, c1)
    assert len(stream) == p.tile_bytes(r0, r1, c0, c1)
    assert (p.unpack_tile(stream, r0, r1, c0, c1) == m[r0:r1, c0:c1]).all()


def test_corrupt_stream_is_an_error():
    m = np.arange(64, dtype=np.int8).reshape(4, 16) % 5
    p = packing.pack(m, 2, 4, 1, "packet")
    with pytest.raises(ModelError, match="corrupt packed stream"):
        packing.decode(p.stream[:2], 4, 8, 4, 1, "packet", p.table)
    with pytest.raises(ModelError, match="int8"):
        packing.pack(m.astype(np.int16))


def test_packing_counts_everything_by_hand():
    """Two rows of four weights, chunks of 2: chunks (1,1) x3 and (0,2) x1; re-indexed: (1,1) -> ID 0."""
    m = np.array([[1, 1, 1, 1], [0, 2, 1, 1]], np.int8)
    p = packing.pack(m, 2, 2, 1, "reindexed")
    assert p.n_unique == 2 and p.unique.tolist() == [[1, 1], [0, 2]] and p.ids.tolist() == [[0, 0], [1, 0]]
    assert p.table == (1,) or p.table == (1, 1) or p.table[-1] == 1
    # 2 packets x 1 mode bit + 4 IDs x 1 bit = 6 bits -> 1 byte; unique 4 bytes; header
    assert p.stream_bytes == 1 and p.unique_bytes == 4 and p.total_bytes == p.header_bytes + 5


def test_real_minilm_weights_packing():
    """The real MiniLM-L6 MLP1, int8 per channel: all 255 values occur, so chunks barely repeat (40k distinct pairs
    of 295k) and packing gains a few percent at best; per tensor, the weights crowd near zero and the three steps
    reproduce the paper's ordering (naive < + packet precision < + re-indexing)."""
    w1 = models.minilm_layer(0, "channel")["W1"]
    assert w1.shape == (1536, 384)
    one = packing.report(w1, 1)
    two = packing.pack(w1, 2, 16, 2, "naive")
    assert two.n_unique > 30_000 and two.ratio < 1
    assert 0.95 < one["ratio_reindexed"] < 1.1
    t = packing.report(models.minilm_layer(0, "tensor")["W1"], 2)
    assert 1.2 < t["ratio_naive"] < t["ratio_packet"] < t["ratio_reindexed"]
    rnd = packing.report(models.random_matrix(1536, 384, np.random.default_rng(0)), 2)
    assert rnd["ratio_reindexed"] < 1                               # random weights: no repeats to exploit


# --- the command line ----------------------------------------------------------------------------------------
def test_cli_meadow(tmp_path, capsys):
    out, png = tmp_path / "r.json", tmp_path / "p.png"
    assert main(["npu", "meadow", "--model", "minilm-l6", "--tokens", "24", "--bandwidth", "1,51", "--json", str(out),
                 "--plot", str(png)]) == 0
    r = json.loads(out.read_text())
    assert r["model"] == "minilm-l6" and r["phase"] == "prefill"
    keys = {"bandwidth_gbps", "dataflow", "packing", "latency_cycles", "dram_bytes", "exact"}
    assert len(r["rows"]) == 2 * len(commands.VARIANTS)
    for row in r["rows"]:
        assert keys <= set(row) and row["exact"] is True and row["dataflow"] in ("gemm", "tphs")
    pk = r["packing"]
    assert pk["weights"] == "real" and pk["chunk_size"] >= 1
    for k in ("ratio_naive", "ratio_packet", "ratio_reindexed"):
        assert pk[k] > 0 and pk["random"][k] > 0
    assert {s["pes"] for s in r["pe_sweep"]} == set(commands.PE_TOTALS)
    assert png.stat().st_size > 10_000
    text = capsys.readouterr().out
    assert "TPHS/GEMM" in text and "weight packing (real weights" in text


def test_cli_meadow_decode(tmp_path):
    out = tmp_path / "d.json"
    assert main(["npu", "meadow", "--model", "opt-125m", "--phase", "decode", "--context", "16", "--bandwidth", "12",
                 "--chunk-size", "1", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["phase"] == "decode" and r["packing"]["weights"] == "synthetic" and r["workload"]["past"] == 16
    assert all(row["exact"] for row in r["rows"])


def test_cli_meadow_errors(tmp_path, capsys):
    assert main(["npu", "meadow", "--list-models"]) == 0
    listed = capsys.readouterr().out
    for name in ("opt-125m", "opt-1.3b", "deit-s", "deit-b", "minilm-l6"):
        assert name in listed
    out = tmp_path / "r.json"
    assert main(["npu", "meadow", "--model", "gpt-9", "--json", str(out)]) == 2
    assert "unknown model 'gpt-9'" in capsys.readouterr().err and not out.exists()
    small = _write_hw(tmp_path, lambda d: d["buffer"].update(banks=1, bank_bytes=16384))
    assert main(["npu", "meadow", "--hw", str(small), "--model", "minilm-l6", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot hold one TPHS head's working set" in err and "Wq_h" in err and not out.exists()
    assert main(["npu", "meadow", "--model", "deit-s", "--phase", "decode"]) == 2
    assert "no decode phase" in capsys.readouterr().err
    assert main(["npu", "meadow", "--model", "minilm-l6", "--bandwidth", "12,fast"]) == 2
    assert "--bandwidth takes" in capsys.readouterr().err
    assert main(["npu", "meadow", "--model", "minilm-l6", "--bandwidth", "0"]) == 2
    assert "positive" in capsys.readouterr().err
    assert main(["npu", "meadow", "--model", "minilm-l6", "--tokens", "16", "--chunk-size", "4", "--bandwidth", "12"]) == 2
    assert "unpack unit" in capsys.readouterr().err
    assert main(["npu", "meadow", "--hw", "edge", "--model", "minilm-l6"]) == 2
    assert "MEADOW needs" in capsys.readouterr().err
