"""MAS-Attention against layer-wise, FLAT and FlashAttention-2-style schedules on the edge NPU model: every
built-in workload, every schedule's tiling found by the same search on the same engine, every best schedule
executed numerically (random Q, K, V; MiniLM-L6 with its real weights), plus the GEMM cross-check of the
matrix unit against SCALE-Sim, and the lower bounds no schedule can beat (the most any could gain over
FLAT). Writes benchmarks/results/npu_attention.json and npu_attention.png; every
finished run is journaled in npu_attention_runs.jsonl, and a rerun with the same code (a digest of
accelerator_models/) resumes (the long-sequence workloads take most of the hour this needs here)."""
from __future__ import annotations

import argparse
import json
import math
import time

from common import RESULTS, source_digest, write_result

from accelerator_models.common import crosscheck, hardware
from accelerator_models.mas_attention import commands, workloads

SMALL_SET = ("bert-base", "vit-b16", "minilm-l6", "llama-1024", "sd-unet-cross-4096")
GEMMS = [(64, 64, 64), (128, 200, 96), (256, 64, 256), (100, 300, 40), (7, 33, 65), (197, 64, 197)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-evals", type=int, default=96, help="tilings evaluated per schedule and workload")
    parser.add_argument("--workloads", nargs="*", default=list(workloads.WORKLOADS),
                        help="workloads on edge.yaml (default: all built-in ones)")
    parser.add_argument("--objective", default="latency", choices=["latency", "energy", "edp"],
                        help="what the search minimises; other than latency, the results go to "
                             "npu_attention_<objective>.json")
    args = parser.parse_args()
    name = "npu_attention" if args.objective == "latency" else f"npu_attention_{args.objective}"
    check = {"edge": crosscheck.compare(hardware.load("edge"), GEMMS),
             "edge-small": crosscheck.compare(hardware.load("edge-small"), [(64, 64, 64), (7, 33, 65), (100, 40, 96)])}
    # Every finished (hardware, workload) run goes to a journal at once: a rerun with the same --max-evals resumes.
    journal = RESULTS / f"{name}_runs.jsonl"
    code = source_digest("accelerator_models")
    done = {}
    if journal.exists():
        for line in journal.read_text().splitlines():
            r = json.loads(line)
            if r["max_evals"] == args.max_evals and r.get("code") == code:
                done[(r["hw"], r["workload"])] = r
    runs = []
    for hw_name, names in (("edge", args.workloads), ("edge-small", [w for w in SMALL_SET if w in args.workloads])):
        for wl_name in names:
            if (hw_name, wl_name) in done:
                runs.append(done[(hw_name, wl_name)])
                continue
            start = time.perf_counter()
            r = commands.public(commands.attention(hw_name, wl_name, "all", args.max_evals, None, 0,
                                                   real_data=wl_name == "minilm-l6", objective=args.objective))
            by = {s["name"]: s for s in r["schedules"]}
            runs.append({"hw": hw_name, "workload": wl_name, "data": r["data"], "schedules": r["schedules"],
                         "bounds": r["bounds"], "seconds": time.perf_counter() - start, "max_evals": args.max_evals,
                         "code": code})
            with open(journal, "a") as f:
                f.write(json.dumps(runs[-1]) + "\n")
            print(f"{hw_name:<10} {wl_name:<20} " + "  ".join(
                f"{k} {v['latency_cycles']:>11,} ({v['speedup_vs_flat']:.2f}x, E {v['energy_vs_flat']:.2f}, "
                f"{'exact' if v['exact'] else 'NOT EXACT'})" for k, v in by.items()) +
                f"  bound {r['bounds']['max_speedup_vs_flat']:.2f}x [{time.perf_counter() - start:.0f} s]", flush=True)
    summary = {}
    for hw_name in ("edge", "edge-small"):
        mas = [next(s for s in r["schedules"] if s["name"] == "mas") for r in runs if r["hw"] == hw_name]
        if not mas:
            continue
        sp = [s["speedup_vs_flat"] for s in mas]
        en = [1 - s["energy_vs_flat"] for s in mas]
        best_other = [r_s["latency_cycles"] / m["latency_cycles"] for r, m in
                      zip([r for r in runs if r["hw"] == hw_name], mas)
                      for r_s in [min((s for s in r["schedules"] if s["name"] != "mas"),
                                      key=lambda s: s["latency_cycles"])]]
        ceiling = [r["bounds"]["max_speedup_vs_flat"] for r in runs if r["hw"] == hw_name]
        summary[hw_name] = {"workloads": len(mas), "mas_speedup_vs_flat_max": max(sp),
                            "possible_speedup_vs_flat_max": max(ceiling),
                            "possible_speedup_vs_flat_mean": sum(ceiling) / len(ceiling),
                            "possible_energy_saving_vs_flat_max": max(r["bounds"]["max_energy_saving_vs_flat"]
                                                                      for r in runs if r["hw"] == hw_name),
                            "mas_speedup_vs_flat_mean": sum(sp) / len(sp),
                            "mas_speedup_vs_flat_geomean": math.exp(sum(map(math.log, sp)) / len(sp)),
                            "mas_energy_saving_vs_flat_max": max(en), "mas_energy_saving_vs_flat_mean": sum(en) / len(en),
                            "mas_speedup_vs_best_other_min": min(best_other),
                            "mas_speedup_vs_best_other_mean": sum(best_other) / len(best_other),
                            "all_exact": all(s["exact"] for r in runs if r["hw"] == hw_name for s in r["schedules"]),
                            "search_seconds_total": sum(s["search"]["seconds"] for r in runs if r["hw"] == hw_name
                                                        for s in r["schedules"])}
    plot(runs, RESULTS / f"{name}.png")
    write_result(name, {"objective": args.objective, "max_evals": args.max_evals, "workloads": args.workloads,
                        "summary": summary, "runs": runs,
                                   "gemm_crosscheck_scalesim": check})


def plot(runs: list, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 1, figsize=(12, 7), gridspec_kw={"height_ratios": [13, 5]})
    for ax, hw_name in zip(axes, ("edge", "edge-small")):
        rs = [r for r in runs if r["hw"] == hw_name]
        names = ["layerwise", "flash", "mas"]
        for i, n in enumerate(names):
            vals = [next(s for s in r["schedules"] if s["name"] == n)["speedup_vs_flat"] for r in rs]
            ax.bar([x + (i - 1) * 0.27 for x in range(len(rs))], vals, 0.27, label=n)
        ax.axhline(1, color="k", lw=0.8)
        ax.set_xticks(range(len(rs)), [r["workload"] for r in rs], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("speedup vs FLAT")
        ax.set_title(f"{hw_name}: latency of each schedule's best tiling, relative to FLAT's best", fontsize=9)
        if not rs:
            continue
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
