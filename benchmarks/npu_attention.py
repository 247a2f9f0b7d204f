"""MAS-Attention (the paper's, and ours with the key-split tier) against layer-wise, FLAT (our strongest and the
paper-style one) and FlashAttention-2-style schedules on the edge NPU model: every built-in workload, every
schedule's tiling found by the same search on the same engine, every best schedule executed numerically on
every head (random Q, K, V; MiniLM-L6 with its real weights), the FLAT baseline study (every FLAT variant:
K/V resident or re-streamed, DMA prefetching, fenced per row block or serial) on the study workloads, the GEMM
cross-check of the matrix unit against SCALE-Sim, and the lower bounds no schedule can beat. Writes
benchmarks/results/<name>.json and <name>.png (name: npu_attention, or --name); every finished run is
journaled in <name>_runs.jsonl, and a rerun with the same code (a digest of accelerator_models/) resumes (the
long-sequence workloads take most of the time)."""
from __future__ import annotations

import argparse
import json
import math
import time

from common import RESULTS, source_digest, write_result

from accelerator_models.common import crosscheck, hardware
from accelerator_models.mas_attention import commands, schedules, workloads

SMALL_SET = ("bert-base", "vit-b16", "minilm-l6", "llama-1024", "sd-unet-cross-4096")
STUDY_SET = ("bert-base", "vit-b16", "minilm-l6")
GEMMS = [(64, 64, 64), (128, 200, 96), (256, 64, 256), (100, 300, 40), (7, 33, 65), (197, 64, 197)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-evals", type=int, default=96, help="tilings evaluated per schedule and workload")
    parser.add_argument("--workloads", nargs="*", default=list(workloads.WORKLOADS),
                        help="workloads on edge.yaml (default: all built-in ones; edge-small.yaml runs those of "
                             f"{', '.join(SMALL_SET)} among them)")
    parser.add_argument("--objective", default="latency", choices=["latency", "energy", "edp"],
                        help="what the search minimises")
    parser.add_argument("--name", default=None, help="results name (default npu_attention, or "
                        "npu_attention_<objective>); give another for a subset so the full results stay")
    parser.add_argument("--gantt", nargs="*", default=["bert-base", "llama-1024"],
                        help="workloads whose best schedules' streams (first 2 heads, edge.yaml) are drawn to "
                             "<name>_gantt_<workload>.png, when they are run")
    args = parser.parse_args()
    name = args.name or ("npu_attention" if args.objective == "latency" else f"npu_attention_{args.objective}")
    check = {"edge": crosscheck.compare(hardware.load("edge"), GEMMS),
             "edge-small": crosscheck.compare(hardware.load("edge-small"), [(64, 64, 64), (7, 33, 65), (100, 40, 96)])}
    # Every finished (hardware, workload) run goes to a journal at once: a rerun with the same --max-evals resumes.
    journal = RESULTS / f"{name}_runs.jsonl"
    code = source_digest("accelerator_models")
    done = {}
    if journal.exists():
        for line in journal.read_text().splitlines():
            r = json.loads(line)
            if r["max_evals"] == args.max_evals and r.get("code") == code and r.get("objective") == args.objective:
                done[(r["hw"], r["workload"])] = r
    runs = []
    for hw_name, names in (("edge", args.workloads), ("edge-small", [w for w in SMALL_SET if w in args.workloads])):
        for wl_name in names:
            if (hw_name, wl_name) in done:
                runs.append(done[(hw_name, wl_name)])
                continue
            start = time.perf_counter()
            study = hw_name == "edge" and wl_name in STUDY_SET
            which = list(schedules.SCHEDULES) + ([v for v in schedules.flat_variants()
                                                  if v not in ("flat-resident-prefetch", "flat-stream-block")]
                                                 if study else [])
            r = commands.public(commands.attention(hw_name, wl_name, ",".join(which), args.max_evals, None, 0,
                                                   real_data=wl_name == "minilm-l6", objective=args.objective,
                                                   check_heads=None))
            runs.append({"hw": hw_name, "workload": wl_name, "data": r["data"], "schedules": r["schedules"],
                         "bounds": r["bounds"], "heads": r["workload"]["heads"], "checked_heads": r["checked_heads"],
                         "seconds": time.perf_counter() - start, "max_evals": args.max_evals,
                         "objective": args.objective, "code": code})
            with open(journal, "a") as f:
                f.write(json.dumps(runs[-1]) + "\n")
            print(f"{hw_name:<10} {wl_name:<20} " + "  ".join(
                f"{s['name']} " + (f"{s['latency_cycles']:>11,} ({s['speedup_vs_flat']:.2f}x, "
                                   f"{'exact' if s['exact'] else 'NOT EXACT'})"
                                   if s["feasible"] and s["speedup_vs_flat"] else
                                   f"{s['latency_cycles']:,}" if s["feasible"] else "infeasible")
                for s in r["schedules"]) + f"  bound {r['bounds']['latency_cycles']:,} "
                f"[{time.perf_counter() - start:.0f} s]", flush=True)
    summary = {hw_name: summarise([r for r in runs if r["hw"] == hw_name]) for hw_name in ("edge", "edge-small")
               if any(r["hw"] == hw_name for r in runs)}
    plot(runs, RESULTS / f"{name}.png")
    for run in [r for r in runs if r["hw"] == "edge" and r["workload"] in args.gantt]:
        gantt(run, RESULTS / f"{name}_gantt_{run['workload']}.png")
    write_result(name, {"objective": args.objective, "max_evals": args.max_evals, "workloads": args.workloads,
                        "flat_paper_assumption": commands.FLAT_PAPER_ASSUMPTION, "summary": summary, "runs": runs,
                        "gemm_crosscheck_scalesim": check})


def _by_name(run: dict) -> dict:
    return {s["name"]: s for s in run["schedules"] if s["feasible"]}


def summarise(runs: list) -> dict:
    """MAS against FLAT (ours and the paper-style one) and against the best other schedule, per configuration."""
    out = {"workloads": len(runs)}
    for mas in ("mas", "mas-paper"):
        key = mas.replace("-", "_")
        rows = [(r, _by_name(r)) for r in runs if mas in _by_name(r)]
        for base in ("flat", "flat-paper"):
            pairs = [(by[mas], by[base]) for _, by in rows if base in by]
            if pairs:
                sp = [b["latency_cycles"] / m["latency_cycles"] for m, b in pairs]
                en = [1 - m["energy_pj"] / b["energy_pj"] for m, b in pairs]
                k = base.replace("-", "_")
                out[f"{key}_speedup_vs_{k}"] = {"max": max(sp), "mean": sum(sp) / len(sp),
                                                "geomean": math.exp(sum(map(math.log, sp)) / len(sp))}
                out[f"{key}_energy_saving_vs_{k}"] = {"max": max(en), "mean": sum(en) / len(en)}
        mine = ("mas",) if mas == "mas" else ("mas", "mas-paper")     # the paper's MAS: against the baselines
        others = [min(s["latency_cycles"] for n, s in by.items() if n not in mine) / by[mas]["latency_cycles"]
                  for _, by in rows]
        if others:
            out[f"{key}_vs_best_other"] = {"min": min(others), "mean": sum(others) / len(others)}
        out[f"{key}_vs_bound"] = {r["workload"]: by[mas]["latency_cycles"] / r["bounds"]["latency_cycles"]
                                  for r, by in rows}
    out["all_exact"] = all(s["exact"] for r in runs for s in r["schedules"] if s["feasible"])
    out["every_head_checked"] = all(r["checked_heads"] == r["heads"] for r in runs)
    out["search_seconds_total"] = sum(s["search"]["seconds"] for r in runs for s in r["schedules"] if s["feasible"])
    return out


def gantt(run: dict, path, heads: int = 2) -> None:
    """The load/store/MAC/VEC streams of each schedule's best tiling on the first heads of a run's workload."""
    from accelerator_models.common.engine import simulate
    from accelerator_models.common.plot import gantt as draw
    hw, wl = hardware.load(run["hw"]), workloads.get(run["workload"]).with_heads(heads)
    panels = []
    for s in run["schedules"]:
        if s["feasible"] and s["name"] in schedules.SCHEDULES:
            p = schedules.build(s["name"], wl, hw, s["params"])
            panels.append((s["name"], p.ops, simulate(p.ops, hw)))
    draw(panels, path, f"{run['workload']} on {run['hw']}: the first {heads} heads (each schedule with its best tiling)")


def plot(runs: list, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 1, figsize=(13, 7), gridspec_kw={"height_ratios": [13, 5]})
    names = ["layerwise", "flat-paper", "flash", "mas-paper", "mas"]
    for ax, hw_name in zip(axes, ("edge", "edge-small")):
        rs = [r for r in runs if r["hw"] == hw_name]
        for i, n in enumerate(names):
            vals = [_by_name(r)[n]["speedup_vs_flat"] if n in _by_name(r) and _by_name(r)[n]["speedup_vs_flat"]
                    else 0 for r in rs]
            ax.bar([x + (i - 2) * 0.17 for x in range(len(rs))], vals, 0.17, label=n)
        ax.scatter(range(len(rs)), [r["bounds"].get("max_speedup_vs_flat", 0) for r in rs], marker="_", s=300,
                   color="k", label="bound")
        ax.axhline(1, color="k", lw=0.8)
        ax.set_xticks(range(len(rs)), [r["workload"] for r in rs], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("speedup vs FLAT")
        ax.set_title(f"{hw_name}: latency of each schedule's best tiling, relative to our FLAT's best", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncol=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
