"""The NPU model (accelerator_models/): hardware files, engine invariants, numerical exactness of every
schedule, the tiling search, the SCALE-Sim cross-check and `edge-sdk npu attention`."""
from __future__ import annotations

import collections
import dataclasses
import itertools
import json
import math
from unittest import mock

import numpy as np
import pytest
import yaml

from accelerator_models.common import crosscheck, hardware
from accelerator_models.common.engine import Timeline, simulate
from accelerator_models.common.errors import ModelError
from accelerator_models.common.executor import execute
from accelerator_models.common.program import Infeasible, Op, Program
from accelerator_models.mas_attention import commands, schedules, search, workloads
from accelerator_models.mas_attention import evaluate as evaluation
from accelerator_models.mas_attention.bounds import bounds
from accelerator_models.mas_attention.evaluate import check_group, check_numerics, evaluate, random_inputs, reference
from edge_sdk.cli import main

SMALL = hardware.load("edge-small")
EDGE = hardware.load("edge")


def _tilings(schedule, wl, n, seed=0):
    """n tilings of the schedule's search space (random, seeded), including the smallest."""
    sp = search.space(schedule, wl)
    rng = np.random.default_rng(seed)
    out = [{k: v[0] for k, v in sp.items()}]
    while len(out) < n:
        out.append({k: v[rng.integers(len(v))] for k, v in sp.items()})
    return out


# --- hardware files ------------------------------------------------------------------------------------
def test_shipped_configs_load():
    assert EDGE.mac.rows * EDGE.mac.cols == 1024 and EDGE.buffer.capacity_bytes == 4 * 65536
    assert EDGE.dram.bytes_per_cycle == 4 * EDGE.word_bytes
    assert SMALL.buffer.capacity_bytes < EDGE.buffer.capacity_bytes


def _write_hw(tmp_path, edit):
    d = yaml.safe_load((hardware.CONFIGS / "edge.yaml").read_text())
    edit(d)
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


def test_hardware_missing_field(tmp_path):
    path = _write_hw(tmp_path, lambda d: d["mac_unit"].pop("rows"))
    with pytest.raises(ModelError, match=r"mac_unit: missing field 'rows'"):
        hardware.load(path)


def test_hardware_negative_capacity(tmp_path):
    path = _write_hw(tmp_path, lambda d: d["buffer"].__setitem__("bank_bytes", -65536))
    with pytest.raises(ModelError, match=r"'bank_bytes' must be positive"):
        hardware.load(path)


def test_hardware_bad_files(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        hardware.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mac_unit: [1, 2\n")
    with pytest.raises(ModelError, match="not valid YAML"):
        hardware.load(bad)


def test_hardware_rejects_unreadable_and_non_finite_input(tmp_path):
    """A binary or non-UTF-8 file, a directory, a NaN or infinite number: each one clear error."""
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    for path in (binary, latin):
        with pytest.raises(ModelError, match="not a text"):
            hardware.load(path)
    with pytest.raises(ModelError, match="cannot read hardware file"):
        hardware.load(tmp_path)
    for value in (".nan", ".inf"):
        text = (hardware.CONFIGS / "edge.yaml").read_text().replace("bytes_per_cycle: 8", f"bytes_per_cycle: {value}")
        (tmp_path / "hw.yaml").write_text(text)
        with pytest.raises(ModelError, match=r"dram: field 'bytes_per_cycle' must be a finite number"):
            hardware.load(tmp_path / "hw.yaml")
    with pytest.raises(ModelError, match="positive finite"):
        EDGE.with_dram_bandwidth(math.inf)


def test_local_buffers(tmp_path):
    """The units' local buffers: a fold of the array streams at most (bytes / word - r c) / (r + c) rows, so a
    GEMM uses the mapping that fits (or none: infeasible); a softmax over rows holds them in the vector unit's
    local buffer (issued in pieces of rows that fit; a key tile must fit); the local port bounds an operation."""
    assert EDGE.mac.local.bytes == EDGE.vec.local.bytes == 65536 and SMALL.mac.local.bytes == 16384
    assert EDGE.max_streamed_rows(64, 600) == (32768 - 1024) // 64 == 496
    assert EDGE.gemm_cycles(600, 64, 100) == EDGE.ws_cycles(100, 64, 600)      # 600 rows cannot stream
    unbounded = dataclasses.replace(EDGE, mac=dataclasses.replace(EDGE.mac, local=None))
    assert unbounded.gemm_cycles(600, 64, 100) == min(EDGE.ws_cycles(600, 64, 100), EDGE.ws_cycles(100, 64, 600))
    with pytest.raises(Infeasible, match="local buffer"):
        EDGE.gemm_cycles(600, 64, 600)
    slow = dataclasses.replace(EDGE, mac=dataclasses.replace(EDGE.mac, local=hardware.LocalBuffer(65536, 16)))
    assert slow.gemm_cycles(64, 64, 64) == math.ceil((64 * 64 * 2 + 64 * 64) * 2 / 16) > EDGE.gemm_cycles(64, 64, 64)
    # a key tile of 256 x 256 scores (128 KB) does not fit the vector unit's 64 KB; 128 x 256 does
    wl = workloads.parse_custom("1x256x256x16")
    with pytest.raises(Infeasible, match="vector unit"):
        schedules.build("flash", wl, EDGE, {"Br": 256, "Bc": 256, "kv": "resident", "lookahead": 1})
    schedules.build("flash", wl, EDGE, {"Br": 128, "Bc": 256, "kv": "resident", "lookahead": 1})
    # FLAT's softmax over 16 rows of 1024 scores (32 KB) runs as pieces of 8 rows (16 KB local on edge-small)
    wl = workloads.parse_custom("1x32x1024x8")
    ev = evaluate("flat", wl, SMALL, {"Br": 16, "Bc": 128, "kv": "stream"})
    assert sum(op.name.startswith("softmax") for op in ev.program.ops) == 4
    assert check_numerics(ev, wl, SMALL, random_inputs(wl, 1, 0))["exact"]
    for edit, match in ((lambda d: d["vec_unit"].__setitem__("local_buffer", {"bytes": 1 << 20, "bytes_per_cycle": 64}),
                         "more than the 262,144-byte L1"),
                        (lambda d: d["mac_unit"].__setitem__("local_buffer", {"bytes": 2048, "bytes_per_cycle": 64}),
                         "cannot hold one fold"),
                        (lambda d: d["mac_unit"]["local_buffer"].pop("bytes"), "local_buffer: missing field 'bytes'")):
        with pytest.raises(ModelError, match=match):
            hardware.load(_write_hw(tmp_path, edit))


# --- engine invariants ---------------------------------------------------------------------------------
def _check_invariants(ops: list[Op], tl, hw):
    by_unit = {}
    for op in ops:
        for d in op.deps:                                  # dependencies respected
            assert tl.start[op.id] >= tl.end[d], (op.name, ops[d].name)
        if op.unit != "sync":
            by_unit.setdefault(op.unit, []).append((tl.start[op.id], tl.start[op.id] + op.cycles, op.id))
    for unit, spans in by_unit.items():                    # one operation at a time per unit, in program order
        spans.sort()
        assert [s[2] for s in spans] == sorted(s[2] for s in spans), unit
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), unit
    dram = [(tl.start[op.id], op.cycles) for op in ops if op.unit in ("load", "store")]
    dram.sort()
    assert all(a[0] + a[1] <= b[0] for a, b in zip(dram, dram[1:]))   # one DRAM channel
    size = {s: b for op in ops for s, b in op.alloc}
    events = [(tl.start[op.id], 1, b) for op in ops for _, b in op.alloc]
    events += [(tl.end[op.id], 0, -size[s]) for op in ops if op.unit == "sync" for s in op.free]
    level = peak = 0
    for _, _, delta in sorted(events):                     # buffer occupancy rebuilt independently
        level += delta
        peak = max(peak, level)
        assert level <= hw.buffer.capacity_bytes
    assert peak == tl.peak_buffer_bytes
    assert level == 0                                      # everything allocated is freed
    loads = sum(op.dram_read for op in ops if op.unit == "load")
    assert loads == tl.dram_read_bytes == sum(op.buffer_write for op in ops if op.unit == "load")   # bytes conserved


@pytest.mark.parametrize("schedule", schedules.SCHEDULES)
def test_engine_invariants(schedule):
    wl = workloads.parse_custom("2x96x80x16")
    for prm in _tilings(schedule, wl, 4):
        try:
            p = schedules.build(schedule, wl, SMALL, prm)
        except Infeasible:
            continue
        tl = simulate(p.ops, SMALL)
        _check_invariants(p.ops, tl, SMALL)
        o_bytes = sum(op.dram_write for op in p.ops if op.unit == "store" and "store O" in op.name)
        assert o_bytes == math.prod((2, 96, 16)) * SMALL.word_bytes        # every output written once


@pytest.mark.parametrize("schedule", schedules.SCHEDULES)
def test_numerics_checked_in_groups_of_heads(schedule):
    """The check in groups of heads (what bounds its memory on long layers) covers every head: the same verdict and
    error as all heads at once, and a wrong head in the last group is found."""
    wl = workloads.parse_custom("5x40x48x8")
    inputs = random_inputs(wl, wl.heads, 2)
    ev = evaluate(schedule, wl, SMALL, next(iter(_tilings(schedule, wl, 1, seed=2))))
    whole = check_numerics(ev, wl, SMALL, inputs)
    assert whole["exact"] and whole["checked_heads"] == 5
    for group in (1, 2):
        assert check_numerics(ev, wl, SMALL, inputs, group=group) == whole
    assert check_group(wl, budget=32 * 40 * 48 * 2) == 2 and check_group(wl, budget=32 * 40 * 48 * 2 - 1) == 1

    def corrupt_last_head(ops, timeline, dram, slot_shapes):
        execute(ops, timeline, dram, slot_shapes)
        if dram["Q"].shape[0] == 1 and np.array_equal(dram["Q"][0], inputs["Q"][4]):
            dram["O"][0, 0, 0] += 1.0
    with mock.patch.object(evaluation, "execute", corrupt_last_head):
        assert not check_numerics(ev, wl, SMALL, inputs, group=2)["exact"]


@pytest.mark.parametrize("schedule", schedules.SCHEDULES)
def test_every_schedule_is_exact(schedule):
    """Several tilings (edge tiles that do not divide the shape, chunks, both K/V policies) on two shapes."""
    for shape in ("2x96x80x16", "3x40x56x8"):
        wl = workloads.parse_custom(shape)
        inputs = random_inputs(wl, wl.heads, 1)
        checked = 0
        for prm in _tilings(schedule, wl, 5, seed=1):
            try:
                ev = evaluate(schedule, wl, SMALL, prm)
            except Infeasible:
                continue
            r = check_numerics(ev, wl, SMALL, inputs)
            assert r["exact"] and r["max_abs_error"] < 1e-5, (schedule, shape, prm, r)
            b = bounds(wl, SMALL)                    # the lower bounds hold for every schedule and tiling
            assert ev.latency_cycles >= b["latency_cycles"] and ev.dram_bytes >= b["dram_bytes"]
            assert ev.energy_pj >= b["energy_pj"]
            checked += 1
        assert checked >= 2


def _overlap(ops, tl) -> float:
    """The fraction of the VEC unit's busy cycles during which the MAC unit is busy too."""
    busy = {u: np.zeros(tl.latency_cycles, bool) for u in ("mac", "vec")}
    for op in ops:
        if op.unit in busy:
            busy[op.unit][tl.start[op.id]:tl.start[op.id] + op.cycles] = True
    return (busy["mac"] & busy["vec"]).sum() / busy["vec"].sum()


def test_two_streams_overlap():
    """MAS and the pipelined FlashAttention-2 keep both units busy at once; FLAT runs a block's MAC and VEC
    stages one after the other (only a block's output normalisation may overlap the next block's QK^T)."""
    wl = workloads.parse_custom("2x128x128x32")
    runs = {name: schedules.build(name, wl, EDGE, prm) for name, prm in (
        ("flat", {"Br": 32, "Bc": 128, "kv": "resident"}),
        ("mas", {"Br": 32, "Bc": 128, "chunks": 1, "keep": 1.0, "lookahead": 1, "serpentine": 1}),
        ("flash", {"Br": 32, "Bc": 32, "kv": "resident", "lookahead": 1}))}
    overlap = {name: _overlap(p.ops, simulate(p.ops, EDGE)) for name, p in runs.items()}
    assert overlap["flat"] < 0.1 and overlap["mas"] > 0.4 and overlap["flash"] > 0.4, overlap
    serial = schedules.build("flash", wl, EDGE, {"Br": 32, "Bc": 32, "kv": "resident", "lookahead": 0})
    assert _overlap(serial.ops, simulate(serial.ops, EDGE)) < overlap["flash"]


def test_flat_variants():
    """FLAT with K/V resident or re-streamed per row block, DMA prefetching, fenced per row block or fully serial:
    each exact; for one tiling, less overlap is never faster and re-streaming never moves fewer bytes; in the
    serial variant no two operations overlap."""
    wl = workloads.parse_custom("2x64x64x16")
    inputs = random_inputs(wl, 2, 0)
    lat = {}
    for name in schedules.flat_variants():
        ev = evaluate(name, wl, SMALL, {"Br": 16, "Bc": 32})
        assert check_numerics(ev, wl, SMALL, inputs)["exact"], name
        lat[name] = (ev.latency_cycles, ev.dram_bytes)
        if name.endswith("serial"):
            tl, spans = ev.timeline, sorted((ev.timeline.start[op.id], op.id) for op in ev.program.ops if op.unit != "sync")
            assert all(tl.end[a] <= tl.start[b] for (_, a), (_, b) in zip(spans, spans[1:])), name
    for kv in schedules.KV_POLICIES:
        assert lat[f"flat-{kv}-prefetch"][0] <= lat[f"flat-{kv}-block"][0] <= lat[f"flat-{kv}-serial"][0], lat
    assert lat["flat-stream-prefetch"][1] > lat["flat-resident-prefetch"][1]
    assert schedules.fixed_params("flat-paper") == {"kv": "stream", "dma": "block"}
    assert "kv" not in search.space("flat-paper", wl) and "dma" not in search.space("flat", wl)
    assert evaluate("flat-paper", wl, SMALL, {"Br": 16, "Bc": 32}).latency_cycles == lat["flat-stream-block"][0]
    with pytest.raises(ModelError, match="unknown schedule 'flat-cached-serial'"):
        schedules.build("flat-cached-serial", wl, SMALL, {"Br": 16, "Bc": 32})


def test_key_split_tier_is_exact():
    """MAS's key-split tier with every option (scale folded into Q, row sums on the MAC unit, lookahead, K/V
    kept or streamed, serpentine order), on shapes whose tiles do not divide them; never below the bounds."""
    for shape in ("2x48x80x16", "3x40x24x8"):
        wl = workloads.parse_custom(shape)
        inputs = random_inputs(wl, wl.heads, 2)
        b = bounds(wl, SMALL)
        for fold, rowsum, la, keep in itertools.product((0, 1), ("vec", "mac"), (0, 1), (0.0, 0.5)):
            prm = {"tier": "keys", "Br": 16, "Bc": 32, "fold_scale": fold, "rowsum": rowsum, "lookahead": la,
                   "keep": keep, "serpentine": 1}
            ev = evaluate("mas", wl, SMALL, prm)
            assert check_numerics(ev, wl, SMALL, inputs)["exact"], (shape, prm)
            assert ev.latency_cycles >= b["latency_cycles"] and ev.energy_pj >= b["energy_pj"]
        for rowsum in ("vec", "mac"):      # and the row tier with the options
            ev = evaluate("mas", wl, SMALL, {"tier": "rows", "Br": 16, "Bc": 32, "chunks": 2, "fold_scale": 1,
                                             "rowsum": rowsum, "keep": 0.5, "lookahead": 1, "serpentine": 1})
            assert check_numerics(ev, wl, SMALL, inputs)["exact"], (shape, rowsum)


def test_mas_options_cut_vector_work():
    """Folding the scale into Q saves a multiplication per score, the row sums on the MAC unit an addition per
    score (for one more output column on the array); the key-split tier pipelines its two units."""
    wl = workloads.parse_custom("2x128x256x32")
    base = {"tier": "keys", "Br": 64, "Bc": 64, "keep": 0.5, "lookahead": 1, "serpentine": 1}
    busy = {}
    for fold, rowsum in itertools.product((0, 1), ("vec", "mac")):
        p = schedules.build("mas", wl, EDGE, {**base, "fold_scale": fold, "rowsum": rowsum})
        tl = simulate(p.ops, EDGE)
        busy[fold, rowsum] = tl.busy_cycles
        if (fold, rowsum) == (0, "vec"):
            assert _overlap(p.ops, tl) > 0.4
    scores = 2 * 128 * 256 // EDGE.vec.lanes
    assert busy[0, "vec"]["vec"] - busy[1, "vec"]["vec"] == scores
    assert busy[0, "vec"]["vec"] - busy[0, "mac"]["vec"] >= scores
    assert busy[0, "mac"]["mac"] > busy[0, "vec"]["mac"] and busy[1, "vec"]["mac"] == busy[0, "vec"]["mac"]


def test_overwrite_policy_reuses_and_evicts():
    """A sequence longer than the buffer can hold in K and V: MAS keeps what fits, evicts, stays exact."""
    wl = workloads.parse_custom("1x64x2048x64")        # K and V: 512 KiB, twice the buffer
    ev = evaluate("mas", wl, EDGE, {"Br": 16, "Bc": 128, "chunks": 1, "serpentine": 1})
    stats = ev.program.tile_cache_stats
    assert stats["hits"] > 0 and stats["evictions"] > 0
    assert check_numerics(ev, wl, EDGE, random_inputs(wl, 1, 0))["exact"]
    stream = evaluate("flat", wl, EDGE, {"Br": 16, "Bc": 128, "kv": "stream"})
    assert ev.dram_bytes < stream.dram_bytes


def test_quick_estimate_and_full_simulation():
    """The search's quick estimate (2 and 3 heads extended to all) keeps the per-head totals exact and never
    reports a latency below the busiest resource; a full evaluation equals the simulation of every head."""
    wl = workloads.parse_custom("6x64x64x16")
    for schedule, prm in (("mas", {"Br": 32, "Bc": 32, "chunks": 2, "serpentine": 1}),
                          ("flat", {"Br": 32, "Bc": 64, "kv": "resident"}),
                          ("flash", {"Br": 16, "Bc": 32, "kv": "stream", "lookahead": 1}),
                          ("layerwise", {"Br": 32, "Bc": 32, "kv": "stream"})):
        quick = evaluate(schedule, wl, SMALL, prm, full=False)
        assert quick.simulated_heads == 3
        full = simulate(schedules.build(schedule, wl, SMALL, prm).ops, SMALL)
        ev = evaluate(schedule, wl, SMALL, prm)
        assert ev.simulated_heads == 6 and ev.latency_cycles == full.latency_cycles
        assert quick.dram_bytes == ev.dram_bytes == full.dram_bytes
        assert math.isclose(quick.energy_pj, sum(full.energy_pj.values()), rel_tol=1e-9)
        dram_busy = full.busy_cycles["load"] + full.busy_cycles["store"]
        assert quick.latency_cycles >= max(dram_busy, full.busy_cycles["mac"], full.busy_cycles["vec"])


def test_search_reports_a_full_simulation():
    """Where extending 2 and 3 heads misjudges the pipeline (DRAM nearly the bottleneck: ViT-B/16 under MAS
    fills up only after the third head), the search's answer is still the simulation of every head."""
    wl = workloads.get("vit-b16")
    prm = {"Br": 197, "Bc": 197, "chunks": 1, "keep": 0.25, "lookahead": 1, "serpentine": 1}
    full = simulate(schedules.build("mas", wl, EDGE, prm).ops, EDGE).latency_cycles
    assert evaluate("mas", wl, EDGE, prm, full=False).latency_cycles < full      # the estimate is optimistic here
    assert evaluate("mas", wl, EDGE, prm).latency_cycles == full
    small = workloads.parse_custom("6x64x48x16")
    best, stats = search.search("mas", small, SMALL, max_evals=12, seed=3)
    assert best.simulated_heads == 6 and 1 <= stats["simulated_in_full"] <= 3
    assert best.latency_cycles == simulate(schedules.build("mas", small, SMALL, best.params).ops, SMALL).latency_cycles


def test_bounds_by_hand():
    """BERT-base on edge.yaml: 12 x 512 x 512 scores; 32 VEC lanes at max 1 + sub 1 + exp 4 cycles per
    lane-vector (the sum may go to the MAC unit); 2 x 12 x 512 x 512 x 64 MACs on 1024, each fold of the 32 x 32
    array 94 cycles of fill and drain plus at most 496 streamed rows (the 64 KB local buffer holds the next
    32 x 32 block and 496 rows in and out: (32768 - 1024) // 64); Q, K, V, O of 12 x 512 x 64 16-bit words at
    8 B/cycle."""
    b = bounds(workloads.get("bert-base"), EDGE)
    assert EDGE.max_streamed_rows(64, 512) == 496
    per_gemm = math.ceil(512 * 64 * 512 * (94 + 496) / (496 * 1024))
    assert b["unit_cycles"] == {"mac": 12 * 2 * per_gemm, "vec": 589824, "dram": 393216}
    assert b["mac_ideal"] == 393216 and b["unit_cycles"]["mac"] / b["mac_ideal"] > 1.18
    assert b["bound_by"] == "vec" and b["latency_cycles"] == 589824
    scores, words = 12 * 512 * 512, 4 * 12 * 512 * 64
    assert math.isclose(b["energy_pj"], 2 * scores * 64 * 0.4 + scores * 6 * 0.8 + scores * 0.4 + words * 2 * 40
                        + 3 / 4 * words * 2 * 0.7 + 1 / 4 * words * 2 * 0.6)


def test_executor_catches_a_missing_dependency():
    p = Program(SMALL)
    p.load("load Q", "q", "Q", (0,), (8, 4))
    tl = simulate(p.ops, SMALL)
    # A reader that does not wait for the load: it starts at cycle 0, before the data has landed.
    bad = Op(1, "bad", "vec", 1, [], [("r", 64)], [], fn=lambda get: [("r", None, get("q"))])
    tl.start.append(0)
    tl.end.append(1)
    with pytest.raises(ModelError, match="missing a dependency"):
        execute(p.ops + [bad], tl, {"Q": np.ones((1, 8, 4), np.float32)}, {"r": (8, 4)})


def test_a_free_that_fires_early_is_caught():
    """A free whose dependencies are gone fires at cycle 0, before its slot is allocated: the engine raises; the
    executor raises on a free of a slot that is not live and on one that an operation in flight still reads."""
    p = Program(SMALL)
    p.load("load Q", "q", "Q", (0,), (8, 4))
    p.vec("copy", {"add": 32}, 32, 32, reads=("q",), writes=("r",), new=[("r", (8, 4))],
          fn=lambda get: [("r", None, get("q") + 0)])
    p.free("q")
    p.free("r")
    early = [dataclasses.replace(op, deps=[]) if op.name == "free q" else op for op in p.ops]
    with pytest.raises(ModelError, match="frees slot 'q' at cycle 0, when it is not live"):
        simulate(early, SMALL)
    tl = simulate(p.ops, SMALL)
    dram = {"Q": np.ones((1, 8, 4), np.float32)}
    free_q = next(op.id for op in p.ops if op.name == "free q")
    for when, match in ((tl.start[0], "not live"), (tl.start[1] + 1, "while 'copy' still reads")):
        bad = Timeline(list(tl.start), list(tl.end), *dataclasses.astuple(tl)[2:])
        bad.start[free_q] = bad.end[free_q] = when
        with pytest.raises(ModelError, match=match):
            execute(p.ops, bad, dict(dram), p.slot_shapes)
    execute(p.ops, tl, dict(dram), p.slot_shapes)


def _removal_outcomes(schedule: str, prm: dict, wl, all_deps: bool) -> dict:
    """Remove each dependency of a real schedule's program in turn (or all of one operation's): every removal
    that lets an operation start before what it depended on has ended must be caught — by the engine, by the
    executor, or as a wrong output — and every other removal must leave the result exact."""
    p = schedules.build(schedule, wl, SMALL, prm)
    inputs = random_inputs(wl, wl.heads, 0)
    ref = reference(inputs["Q"], inputs["K"], inputs["V"])
    outcomes = collections.Counter()
    for op in p.ops:
        for removed in ([op.deps] if all_deps else [[d] for d in op.deps]) if op.deps else []:
            ops = list(p.ops)
            ops[op.id] = dataclasses.replace(op, deps=[d for d in op.deps if d not in removed])
            try:
                tl = simulate(ops, SMALL)
            except ModelError:
                outcomes["engine"] += 1
                continue
            harmful = any(tl.start[op.id] < tl.end[d] for d in removed)
            dram = {n: inputs[n].copy() for n in ("Q", "K", "V")}
            dram["O"] = np.full(ref.shape, np.nan, np.float32)
            try:
                execute(ops, tl, dram, p.slot_shapes)
            except ModelError:
                assert harmful, (op.name, [p.ops[d].name for d in removed])
                outcomes["executor"] += 1
                continue
            exact = np.allclose(dram["O"], ref, atol=1e-5, rtol=1e-4)
            assert exact != harmful, (op.name, [p.ops[d].name for d in removed], harmful)
            outcomes["wrong" if harmful else "harmless"] += 1
    return outcomes


@pytest.mark.parametrize("schedule,prm", [
    ("mas", {"tier": "rows", "Br": 16, "Bc": 16, "chunks": 2, "keep": 0.5, "lookahead": 1, "serpentine": 1}),
    ("mas", {"tier": "keys", "Br": 16, "Bc": 16, "keep": 0.5, "lookahead": 1, "serpentine": 1, "fold_scale": 1,
             "rowsum": "mac"}),
    ("flash", {"Br": 16, "Bc": 16, "kv": "stream", "lookahead": 1})])
def test_every_harmful_dependency_removal_is_caught(schedule, prm):
    wl = workloads.parse_custom("1x32x48x8")
    one = _removal_outcomes(schedule, prm, wl, all_deps=False)
    every = _removal_outcomes(schedule, prm, wl, all_deps=True)
    assert one["executor"] + one["wrong"] > 10 and one["harmless"] > 10, one
    assert every["engine"] > 0, every              # frees with no dependency left fire before the allocation


def test_engine_reports_an_allocation_that_never_fits():
    p = Program(SMALL, capacity=math.inf)
    p.emit("huge", "load", 10, writes=("x",), new=[("x", (SMALL.buffer.capacity_bytes,))])
    with pytest.raises(ModelError, match="deadlocks"):
        simulate(p.ops, SMALL)


# --- search ----------------------------------------------------------------------------------------------
def test_search_is_deterministic_with_a_seed():
    wl = workloads.parse_custom("2x128x128x16")
    assert math.prod(len(v) for v in search.space("mas", wl).values()) > 20   # genetic, not grid
    a, sa = search.search("mas", wl, SMALL, max_evals=20, seed=3)
    b, sb = search.search("mas", wl, SMALL, max_evals=20, seed=3)
    assert sa["method"] == "genetic" and a.params == b.params and a.latency_cycles == b.latency_cycles
    assert sa["evaluated"] == sb["evaluated"] <= 20


def test_search_finds_the_grid_optimum():
    wl = workloads.parse_custom("1x64x64x16")
    best, stats = search.search("flat", wl, SMALL, max_evals=1000)
    assert stats["method"] == "grid" and stats["evaluated"] == stats["space"]
    sp = search.space("flat", wl)
    every = []
    for values in itertools.product(*sp.values()):
        try:
            every.append(evaluate("flat", wl, SMALL, dict(zip(sp, values))).latency_cycles)
        except Infeasible:
            pass
    assert len(every) == stats["feasible"] and best.latency_cycles == min(every)


def test_search_objectives():
    wl = workloads.parse_custom("2x64x256x16")
    fast, _ = search.search("mas-paper", wl, SMALL, max_evals=1000)
    frugal, _ = search.search("mas-paper", wl, SMALL, max_evals=1000, objective="energy")
    edp, _ = search.search("mas-paper", wl, SMALL, max_evals=1000, objective="edp")
    assert fast.latency_cycles <= frugal.latency_cycles and frugal.energy_pj <= fast.energy_pj
    assert edp.latency_cycles * edp.energy_pj <= min(e.latency_cycles * e.energy_pj for e in (fast, frugal))
    with pytest.raises(ModelError, match="unknown objective"):
        search.search("mas", wl, SMALL, objective="area")


def test_search_time_limit():
    wl = workloads.parse_custom("2x128x128x16")
    with pytest.raises(ModelError, match="time limit"):
        search.search("flat", wl, SMALL, time_limit=0.0)
    best, stats = search.search("mas", wl, SMALL, max_evals=1000, time_limit=0.5)
    assert stats["seconds"] < 5 and stats["evaluated"] < 1000 and best.latency_cycles > 0


def test_impossible_workload():
    wl = workloads.parse_custom("1x16x16x70000")     # one 16-row Q tile alone is larger than the buffer
    with pytest.raises(ModelError, match="no tiling of schedule 'mas' fits"):
        search.search("mas", wl, SMALL, max_evals=8)


# --- cross-check with SCALE-Sim ------------------------------------------------------------------------
def test_gemm_cycles_agree_with_scalesim():
    shapes = [(64, 64, 64), (128, 200, 96), (7, 33, 65)]
    for hw in (EDGE, SMALL):
        for r in crosscheck.compare(hw, [s for s in shapes if s != (128, 200, 96) or hw is EDGE]):
            assert abs(r["engine_cycles"] - r["scalesim_cycles"]) <= 1, r


# --- the command line ----------------------------------------------------------------------------------
def test_cli_attention(tmp_path, capsys):
    out, png = tmp_path / "r.json", tmp_path / "g.png"
    code = main(["npu", "attention", "--hw", "edge-small", "--workload", "2x64x64x16", "--max-evals", "6",
                 "--json", str(out), "--plot", str(png)])
    assert code == 0
    r = json.loads(out.read_text())
    assert r["workload"]["heads"] == 2 and r["hw"]["name"] == "edge-small"
    names = [s["name"] for s in r["schedules"]]
    assert names == list(schedules.SCHEDULES)
    for s in r["schedules"]:
        assert s["exact"] is True and s["max_abs_error"] < 1e-5
        for key in ("latency_cycles", "energy_pj", "dram_bytes", "mac_utilization", "vec_utilization"):
            assert s[key] > 0
    assert next(s for s in r["schedules"] if s["name"] == "flat")["speedup_vs_flat"] == 1.0
    assert next(s for s in r["schedules"] if s["name"] == "flat-paper")["speedup_vs_flat_paper"] == 1.0
    assert next(s for s in r["schedules"] if s["name"] == "flat-paper")["params"]["dma"] == "block"
    b = r["bounds"]
    assert all(b["latency_cycles"] <= s["latency_cycles"] and b["energy_pj"] <= s["energy_pj"] for s in r["schedules"])
    assert all(s["speedup_vs_flat"] <= b["max_speedup_vs_flat"] for s in r["schedules"])
    assert all(s["speedup_vs_flat_paper"] <= b["max_speedup_vs_flat_paper"] for s in r["schedules"])
    assert png.stat().st_size > 10_000
    assert r["checked_heads"] == 2 and all(s["checked_heads"] == 2 for s in r["schedules"])
    text = capsys.readouterr().out
    assert "mas" in text and "executed on 2 of 2 heads" in text and "flat-paper: K/V re-streamed" in text


def test_cli_checks_the_heads_asked_for(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["npu", "attention", "--hw", "edge-small", "--workload", "6x32x32x8", "--schedule", "flat,mas",
                 "--max-evals", "3", "--json", str(out)]) == 0
    assert "executed on 4 of 6 heads" in capsys.readouterr().out
    assert main(["npu", "attention", "--hw", "edge-small", "--workload", "6x32x32x8", "--schedule", "mas",
                 "--max-evals", "3", "--check-heads", "all", "--json", str(out)]) == 0
    assert "executed on 6 of 6 heads" in capsys.readouterr().out
    assert json.loads(out.read_text())["schedules"][0]["checked_heads"] == 6


def test_cli_reports_an_infeasible_schedule_and_goes_on(tmp_path, capsys):
    """16 x 2048 scores on edge-small: a FLAT (or the paper's MAS) row block alone fills the buffer; the
    key-tiled schedules run: each infeasible schedule is one row with its reason, the others are reported."""
    out = tmp_path / "r.json"
    assert main(["npu", "attention", "--hw", "edge-small", "--workload", "1x16x2048x16", "--max-evals", "4",
                 "--json", str(out)]) == 0
    rows = {s["name"]: s for s in json.loads(out.read_text())["schedules"]}
    assert [n for n, s in rows.items() if not s["feasible"]] == ["flat", "flat-paper", "mas-paper"]
    assert "no tiling of schedule 'flat' fits" in rows["flat"]["reason"]
    assert rows["mas"]["exact"] and rows["flash"]["exact"] and rows["mas"]["speedup_vs_flat"] is None
    assert "flat                  infeasible: no tiling" in capsys.readouterr().out


def test_cli_bad_input_is_one_error(tmp_path, capsys):
    """Each bad input is one line on stderr and exit status 2, never a traceback, and nothing is written."""
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)))
    nan = tmp_path / "nan.yaml"
    nan.write_text((hardware.CONFIGS / "edge.yaml").read_text().replace("bytes_per_cycle: 8", "bytes_per_cycle: .nan"))
    run = ["npu", "attention", "--workload", "1x32x32x8", "--schedule", "flat", "--max-evals", "2"]
    for extra, message in ((["--hw", str(binary)], "is not a text (UTF-8) file"),
                           (["--hw", str(nan)], "must be a finite number, got nan"),
                           (["--json", str(tmp_path / "no" / "r.json")], "cannot write --json"),
                           (["--plot", str(tmp_path / "no" / "g.png")], "cannot write --plot"),
                           (["--json", str(tmp_path)], "it is a directory"),
                           (["--check-heads", "0"], "--check-heads is a positive number")):
        assert main(run + extra) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and "Traceback" not in err, (extra, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["binary.yaml", "nan.yaml"]


def test_mas_is_the_fastest_schedule():
    """MAS (its search starts from the best tilings of the paper's MAS and of FlashAttention-2, which its space
    contains) is the fastest schedule or within 3% of it, on a short and a long small layer of both configs."""
    for hw, shape in (("edge-small", "2x64x64x16"), ("edge-small", "1x64x1024x16"), ("edge", "2x128x128x32")):
        r = commands.attention(hw, shape, max_evals=12)
        lat = {s["name"]: s["latency_cycles"] for s in r["schedules"] if s["feasible"]}
        assert lat["mas"] <= 1.03 * min(lat.values()), (hw, shape, lat)


def test_cli_attention_real_minilm(tmp_path, capsys):
    assert main(["npu", "attention", "--workload", "minilm-l6", "--real-data", "--schedule", "flat,mas",
                 "--max-evals", "4"]) == 0
    text = capsys.readouterr().out
    assert "all-MiniLM-L6-v2" in text and "NO" not in text


def test_cli_list_and_errors(tmp_path, capsys):
    assert main(["npu", "attention", "--list-workloads"]) == 0
    listed = capsys.readouterr().out
    for name in ("bert-base", "bert-large", "vit-b16", "llama-4096", "sd-unet-self-4096", "minilm-l6"):
        assert name in listed
    bad = _write_hw(tmp_path, lambda d: d.pop("dram"))
    out = tmp_path / "r.json"
    assert main(["npu", "attention", "--hw", str(bad), "--workload", "bert-base", "--json", str(out)]) == 2
    assert "missing section 'dram'" in capsys.readouterr().err and not out.exists()
    assert main(["npu", "attention", "--workload", "gpt-9"]) == 2
    assert "unknown workload 'gpt-9'" in capsys.readouterr().err
    assert main(["npu", "attention", "--workload", "bert-base", "--schedule", "fast"]) == 2
    assert "unknown schedule 'fast'" in capsys.readouterr().err
    assert main(["npu", "attention", "--workload", "1x16x16x70000", "--hw", "edge-small"]) == 2
    assert "even the smallest tiles are too large" in capsys.readouterr().err
