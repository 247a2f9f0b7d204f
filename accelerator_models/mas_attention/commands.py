"""What `edge-sdk npu attention` does: search every requested schedule's tiling on one workload and
hardware, execute each best schedule numerically, and report latency, energy, DRAM bytes, utilization and
the speedup over our strongest FLAT and over the paper-style FLAT (cli.py only parses the arguments). A
schedule with no feasible tiling is reported as such (`"feasible": false` and the reason) and the others go on."""
from __future__ import annotations

from accelerator_models.common import hardware
from accelerator_models.common.errors import ModelError
from accelerator_models.mas_attention import workloads
from accelerator_models.mas_attention.bounds import bounds
from accelerator_models.mas_attention.evaluate import TOLERANCE, check_numerics, leading_heads, random_inputs
from accelerator_models.mas_attention.schedules import PAPER_FLAT, SCHEDULES, as_mas, fixed_params
from accelerator_models.mas_attention.search import NoTiling, search

DEFAULT_CHECK_HEADS = 4
PLOT_HEADS = 4             # the Gantt chart draws at most this many heads
FLAT_PAPER_ASSUMPTION = (f"K/V {'re-streamed per row block' if PAPER_FLAT['kv'] == 'stream' else 'resident'}, "
                         f"no DMA prefetch across row blocks, MAC and VEC serial")


def parse_schedules(text: str) -> list:
    names = list(SCHEDULES) if text == "all" else [s.strip() for s in text.split(",")]
    if not names or not all(names):
        raise ModelError(f"no schedule in '{text}'; choose 'all' or from: {', '.join(SCHEDULES)}")
    for name in names:
        fixed_params(name)             # raises on an unknown name
    return list(dict.fromkeys(names))


def parse_check_heads(text: str | int | None) -> int | None:
    """'all' (None: every head) or a positive number of heads to execute numerically."""
    if text is None or text == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ModelError(f"--check-heads is a positive number of heads or 'all', got '{text}'")
    return n


def workload_table() -> list:
    return [w.to_json() for w in workloads.WORKLOADS.values()]


def attention(hw_file: str, workload: str, schedule: str = "all", max_evals: int = 96,
              time_limit: float | None = None, seed: int = 0, real_data: bool = False, progress=None,
              objective: str = "latency", check_heads: int | None = DEFAULT_CHECK_HEADS) -> dict:
    """Search, simulate and check every schedule on the first `check_heads` heads (None: all); returns the
    report (JSON-ready) and, under "_panels", what the Gantt chart draws."""
    hw = hardware.load(hw_file)
    wl = workloads.parse_custom(workload) if workload[:1].isdigit() else workloads.get(workload)
    names = parse_schedules(schedule)
    if max_evals < 1:
        raise ModelError(f"--max-evals must be at least 1, got {max_evals}")
    heads = wl.heads if check_heads is None else min(wl.heads, check_heads)
    if real_data:
        if wl.name != "minilm-l6":
            raise ModelError("--real-data needs --workload minilm-l6 (the model whose weights ship with the SDK)")
        from accelerator_models.mas_attention.minilm import attention_inputs
        inputs = {n: a[:heads] for n, a in attention_inputs(wl.seq_q).items()}
        data = "all-MiniLM-L6-v2 layer-0 Q, K, V of real text"
    else:
        inputs, data = random_inputs(wl, heads, seed), f"random normal Q, K, V (seed {seed})"
    rows, panels, best = [], [], {}
    for name in names:
        seeds = [as_mas(n, prm) for n, prm in best.items()] if name == "mas" else []
        try:
            ev, stats = search(name, wl, hw, max_evals=max_evals, time_limit=time_limit, seed=seed,
                               progress=progress and (lambda name=name: progress(name)), objective=objective,
                               seeds=[s for s in seeds if s])
        except NoTiling as err:
            rows.append({"name": name, "feasible": False, "reason": str(err)})
            continue
        best[name] = ev.params
        row = {"feasible": True, **ev.to_json(), **check_numerics(ev, wl, hw, inputs), "search": stats}
        rows.append(row)
        shown = min(heads, PLOT_HEADS)
        if ev.simulated_heads > shown:                     # do not hold every head's program: the chart
            ev.program = ev.timeline = None                # rebuilds the first heads'
        panels.append((name, lambda ev=ev, h=shown: leading_heads(ev, wl, hw, h)))
    feasible = [r for r in rows if r["feasible"]]
    if not feasible:
        raise ModelError("no schedule has a feasible tiling: " + "; ".join(r["reason"] for r in rows))
    bound = bounds(wl, hw)
    for base in ("flat", "flat-paper"):
        ref = next((r for r in feasible if r["name"] == base), None)
        key = base.replace("-", "_")
        for r in feasible:
            r[f"speedup_vs_{key}"] = ref["latency_cycles"] / r["latency_cycles"] if ref else None
            r[f"energy_vs_{key}"] = r["energy_pj"] / ref["energy_pj"] if ref else None
        if ref:        # the most any schedule could gain over this FLAT on this hardware
            bound[f"max_speedup_vs_{key}"] = ref["latency_cycles"] / bound["latency_cycles"]
            bound[f"max_energy_saving_vs_{key}"] = 1 - bound["energy_pj"] / ref["energy_pj"]
    for r in feasible:
        r["latency_vs_bound"] = r["latency_cycles"] / bound["latency_cycles"]
    return {"workload": wl.to_json(), "hw": hw.to_json(), "data": data, "objective": objective, "tolerance": TOLERANCE,
            "checked_heads": heads, "flat_paper_assumption": FLAT_PAPER_ASSUMPTION,
            "seconds_per_cycle": 1 / (hw.clock_mhz * 1e6), "schedules": rows, "bounds": bound, "_panels": panels}


def table(report: dict) -> str:
    head = (f"{'schedule':<21} {'latency (cycles)':>17} {'time (ms)':>10} {'energy (uJ)':>12} {'DRAM (KB)':>10} "
            f"{'MAC util':>9} {'VEC util':>9} {'vs FLAT':>8} {'vs FLAT-paper':>13} {'/ bound':>8}  exact (max abs error)")
    lines = [head, "-" * len(head)]

    def times(x):
        return f"{x:.2f}x" if x else "-"
    for r in report["schedules"]:
        if not r["feasible"]:
            lines.append(f"{r['name']:<21} infeasible: {r['reason']}")
            continue
        lines.append(f"{r['name']:<21} {r['latency_cycles']:>17,} {r['latency_cycles'] * report['seconds_per_cycle'] * 1e3:>10.3f} "
                     f"{r['energy_pj'] / 1e6:>12.2f} {r['dram_bytes'] / 1024:>10,.0f} {r['mac_utilization']:>9.1%} "
                     f"{r['vec_utilization']:>9.1%} {times(r['speedup_vs_flat']):>8} "
                     f"{times(r['speedup_vs_flat_paper']):>13} {r['latency_vs_bound']:>7.2f}x  "
                     f"{'yes' if r['exact'] else 'NO'} ({r['max_abs_error']:.1e})")
    b = report["bounds"]
    lines.append(f"{'bound':<21} {b['latency_cycles']:>17,} {b['latency_cycles'] * report['seconds_per_cycle'] * 1e3:>10.3f} "
                 f"{b['energy_pj'] / 1e6:>12.2f} {b['dram_bytes'] / 1024:>10,.0f}  no schedule does better on this "
                 f"hardware ({b['bound_by'].upper()}-bound; the MAC bound counts the array's fill and drain per fold)")
    for key, label in (("flat", "our FLAT"), ("flat_paper", "the paper-style FLAT")):
        if f"max_speedup_vs_{key}" in b:
            lines.append(f"no schedule can be more than {b[f'max_speedup_vs_{key}']:.2f}x faster than {label} or save "
                         f"more than {b[f'max_energy_saving_vs_{key}']:.0%} of its energy here")
    if any(r["name"] == "flat-paper" for r in report["schedules"]):
        lines.append(f"flat-paper: {report['flat_paper_assumption']}")
    lines.append(f"numerics: each schedule executed on {report['checked_heads']} of {report['workload']['heads']} "
                 f"heads ({report['data']}; --check-heads all for every head)")
    return "\n".join(lines)


def plot(report: dict, path: str) -> None:
    from accelerator_models.common.plot import gantt
    wl = report["workload"]
    panels = [(name, *run()) for name, run in report["_panels"]]
    gantt([(name, p.ops, tl) for name, p, tl in panels], path, f"{wl['name']} on {report['hw']['name']}: the first "
          f"{min(report['checked_heads'], PLOT_HEADS)} of {wl['heads']} heads (each schedule with its best tiling)")


def public(report: dict) -> dict:
    return {k: v for k, v in report.items() if not k.startswith("_")}
