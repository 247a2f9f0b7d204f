"""MEADOW (issue 13) on the edge-NPU model: GEMM (strong and paper-style) vs TPHS, with and without weight packing,
over 1-51 Gbps, for OPT-125M / OPT-1.3B (prefill and decode), DeiT-S / DeiT-B and MiniLM-L6 (prefill); the
weight packing measured on the real MiniLM-L6 weights (int8 per channel and per tensor) beside random weights;
the GEMM/TPHS crossover over bandwidth and PE count; the on-chip buffer sweep. Every latency comes from the
engine, every row's program was executed numerically against the int8 reference layer.

Writes benchmarks/results/npu_meadow.json (and npu_meadow.png). The work is split into parts (each a few
minutes on this 2-core machine); every finished part is journaled in npu_meadow_runs.jsonl with a digest of
accelerator_models/, so `--parts` runs some of them and a rerun with the same code resumes."""
from __future__ import annotations

import argparse
import json
import sys
import time

from common import RESULTS, source_digest, write_result

import numpy as np

from accelerator_models.common import hardware
from accelerator_models.common.errors import ModelError
from accelerator_models.meadow import commands, dataflows, evaluate, models, packing, quant

BWS = commands.BANDWIDTHS
# part name -> (model, phase, quantization, bandwidths)
RUNS = {"opt-125m-prefill": ("opt-125m", "prefill", "channel", BWS),
        "opt-125m-decode": ("opt-125m", "decode", "channel", BWS),
        "opt-125m-prefill-tensor": ("opt-125m", "prefill", "tensor", BWS),
        "opt-125m-decode-tensor": ("opt-125m", "decode", "tensor", BWS),
        "opt-1.3b-prefill-low": ("opt-1.3b", "prefill", "channel", BWS[:3]),
        "opt-1.3b-prefill-high": ("opt-1.3b", "prefill", "channel", BWS[3:]),
        "opt-1.3b-decode": ("opt-1.3b", "decode", "channel", BWS),
        "deit-s-prefill": ("deit-s", "prefill", "channel", BWS),
        "deit-b-prefill": ("deit-b", "prefill", "channel", BWS),
        "minilm-l6-prefill": ("minilm-l6", "prefill", "channel", BWS)}
OTHER = ("packing", "pe-sweep", "buffer-sweep")
BUFFERS = (512 * 1024, 1024 * 1024, 2 * 1024 * 1024, 4 * 1024 * 1024)
PACKETS = (4, 8, 16, 32, 64)


def packing_part() -> dict:
    """All six matrices of all six MiniLM-L6 layers, per channel and per tensor, every chunk size; MLP1 of layer 0
    (the paper's anchor is OPT-125M's MLP1); the packet-size sweep; uniform random weights of the same shapes."""
    out = {}
    rng = np.random.default_rng(0)
    for per in ("channel", "tensor"):
        layers = [models.minilm_layer(i, per) for i in range(6)]
        mats = {f"L{i}.{k}": lw[k] for i, lw in enumerate(layers) for k in evaluate.WEIGHTS}
        out[per] = {"model": [commands._totals(mats, c, 16, 2) for c in commands.CHUNKS],
                    "mlp1_layer0": [packing.report(layers[0]["W1"], c, 16, 2) for c in commands.CHUNKS],
                    "packets": [{"packet": p, "chunk": c, **{k: v for k, v in packing.report(layers[0]["W1"], c, p, 2)
                                                             .items() if k.startswith("ratio")}}
                                for c in (1, 2) for p in PACKETS]}
        for r in out[per]["model"]:
            r.pop("matrices")
    rand = {f"L{i}.{k}": models.random_matrix(*v.shape, rng) for i in range(6) for k, v in
            models.minilm_layer(0).items() if k in evaluate.WEIGHTS}
    out["random"] = {"model": [commands._totals(rand, c, 16, 2) for c in commands.CHUNKS]}
    for r in out["random"]["model"]:
        r.pop("matrices")
    return out


def pe_sweep_part() -> dict:
    m = models.get("opt-125m")
    layer = quant.make_layer(m, models.layer_weights(m))
    wl = dataflows.workload(m, "prefill")
    hw = hardware.load("meadow")
    return {"model": "opt-125m", "phase": "prefill",
            "sweep": commands.sweep_pes(hw, wl, layer, BWS, m, "channel", 0, lambda *a: None)}


def buffer_sweep_part() -> dict:
    m = models.get("opt-125m")
    layer = quant.make_layer(m, models.layer_weights(m))
    rows = []
    for phase in ("prefill", "decode"):
        wl = dataflows.workload(m, phase)
        for nbytes in BUFFERS:
            for bw in (1, 12):
                hw = hardware.load("meadow").with_buffer_bytes(nbytes).with_dram_bandwidth(bw)
                row = {"phase": phase, "buffer_bytes": nbytes, "bandwidth_gbps": bw}
                for df in ("gemm", "tphs"):
                    try:
                        row[f"{df}_cycles"] = evaluate.run(hw, wl, layer, df).latency_cycles
                    except ModelError as err:          # no tiling fits: a finding, recorded as such
                        row[f"{df}_cycles"], row[f"{df}_infeasible"] = None, str(err)
                if row["gemm_cycles"] and row["tphs_cycles"]:
                    row["tphs_vs_gemm"] = row["gemm_cycles"] / row["tphs_cycles"]
                rows.append(row)
    return {"model": "opt-125m", "rows": rows}


def run_part(name: str) -> dict:
    if name == "packing":
        return packing_part()
    if name == "pe-sweep":
        return pe_sweep_part()
    if name == "buffer-sweep":
        return buffer_sweep_part()
    model, phase, per, bws = RUNS[name]
    r = commands.meadow("meadow", model, phase, list(bws), quant_per=per)
    return {k: r[k] for k in ("model", "phase", "workload", "rows", "summary", "packing", "crossover_gbps", "weights")} | {
        "quantization": per}


def merged_runs(parts: dict) -> list:
    """The latency parts merged per (model, phase, quantization): rows and summaries of every bandwidth."""
    out = {}
    for name, (model, phase, per, _) in RUNS.items():
        if name not in parts:
            continue
        p = parts[name]
        key = (model, phase, per)
        if key not in out:
            out[key] = {k: v for k, v in p.items() if k not in ("rows", "summary")} | {"rows": [], "summary": []}
        out[key]["rows"] += p["rows"]
        out[key]["summary"] += p["summary"]
    for r in out.values():
        r["summary"].sort(key=lambda s: s["bandwidth_gbps"])
        r["crossover_gbps"] = commands._crossover(r["summary"])
        r["all_exact"] = all(row["exact"] for row in r["rows"])
        series = {}
        for row in sorted(r["rows"], key=lambda x: x["bandwidth_gbps"]):
            series.setdefault((row["dataflow"], row["variant"], row["packing"]), []).append(row["latency_cycles"])
        r["monotone_in_bandwidth"] = all(v == sorted(v, reverse=True) for v in series.values())
    return list(out.values())


def plot(runs: list, parts: dict, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    for r in runs:
        if r["quantization"] != "channel":
            continue
        bw = [s["bandwidth_gbps"] for s in r["summary"]]
        ax.plot(bw, [s["tphs_vs_gemm"] for s in r["summary"]], marker="o", label=f"{r['model']} {r['phase']}")
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("off-chip bandwidth (Gbps)")
    ax.set_ylabel("GEMM latency / TPHS latency")
    ax.set_title("TPHS vs the strong GEMM (no packing)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    ax = axes[1]
    for r in runs:
        if r["model"] != "opt-125m":
            continue
        bw = [s["bandwidth_gbps"] for s in r["summary"]]
        tag = f"{r['phase']}, int8 per {r['quantization']}"
        ax.plot(bw, [s["meadow_vs_gemm"] for s in r["summary"]], marker="o", label=f"vs strong GEMM, {tag}")
        ax.plot(bw, [s["meadow_vs_paper_gemm"] for s in r["summary"]], marker="s", linestyle="--",
                label=f"vs paper-style GEMM, {tag}")
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("off-chip bandwidth (Gbps)")
    ax.set_ylabel("speedup of MEADOW (TPHS + packing)")
    ax.set_title("OPT-125M: MEADOW vs both GEMM baselines", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6)
    ax = axes[2]
    sw = parts.get("pe-sweep")
    if sw:
        commands.crossover_heatmap(fig, ax, sw["sweep"], "OPT-125M prefill: GEMM / TPHS latency (blue: TPHS faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="*", default=None, help=f"parts to run (default: all): "
                        f"{', '.join(list(RUNS) + list(OTHER))}")
    args = parser.parse_args()
    names = list(RUNS) + list(OTHER)
    todo = args.parts or names
    bad = [p for p in todo if p not in names]
    if bad:
        parser.error(f"unknown part(s) {', '.join(bad)}; choose from {', '.join(names)}")
    journal = RESULTS / "npu_meadow_runs.jsonl"
    code = source_digest("accelerator_models")
    parts = {}
    if journal.exists():
        for line in journal.read_text().splitlines():
            r = json.loads(line)
            if r.get("code") == code:
                parts[r["part"]] = r["result"]
    for name in todo:
        if name in parts:
            continue
        start = time.perf_counter()
        parts[name] = run_part(name)
        seconds = time.perf_counter() - start
        with open(journal, "a") as f:
            f.write(json.dumps({"part": name, "code": code, "seconds": seconds, "result": parts[name]}) + "\n")
        print(f"{name}: {seconds:.0f} s", flush=True)
    runs = merged_runs(parts)
    for r in runs:
        s = {x["bandwidth_gbps"]: x for x in r["summary"]}
        print(f"{r['model']:<10} {r['phase']:<8} per {r['quantization']:<8} " + "  ".join(
            f"{bw:g}G: TPHS {v['tphs_vs_gemm']:.2f}x MEADOW {v['meadow_vs_gemm']:.2f}x paper {v['meadow_vs_paper_gemm']:.2f}x"
            for bw, v in s.items()) + f"  exact {r['all_exact']}")
    plot(runs, parts, RESULTS / "npu_meadow.png")
    missing = [n for n in names if n not in parts]
    if not missing:                  # the result merges every part: it is what the whole program makes
        sys.argv = sys.argv[:1]
    write_result("npu_meadow", {"code": code, "parts_missing": missing, "runs": runs,
                                **{k: parts[k] for k in OTHER if k in parts},
                                "hw": hardware.load("meadow").to_json()})


if __name__ == "__main__":
    main()
