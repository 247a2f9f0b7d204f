"""What `edge-sdk npu attention` does: search every requested schedule's tiling on one workload and
hardware, execute each best schedule numerically, and report latency, energy, DRAM bytes, utilization and
the speedup over FLAT (cli.py only parses the arguments)."""
from __future__ import annotations

from accelerator_models.common import hardware
from accelerator_models.common.errors import ModelError
from accelerator_models.mas_attention import workloads
from accelerator_models.mas_attention.bounds import bounds
from accelerator_models.mas_attention.evaluate import TOLERANCE, check_numerics, leading_heads, random_inputs
from accelerator_models.mas_attention.schedules import SCHEDULES
from accelerator_models.mas_attention.search import search


def parse_schedules(text: str) -> list:
    names = list(SCHEDULES) if text == "all" else [s.strip() for s in text.split(",")]
    bad = [s for s in names if s not in SCHEDULES]
    if bad or not names:
        raise ModelError(f"unknown schedule '{','.join(bad) or text}'; choose 'all' or from: {', '.join(SCHEDULES)}")
    return names


def workload_table() -> list:
    return [w.to_json() for w in workloads.WORKLOADS.values()]


def attention(hw_file: str, workload: str, schedule: str = "all", max_evals: int = 96,
              time_limit: float | None = None, seed: int = 0, real_data: bool = False, progress=None,
              objective: str = "latency") -> dict:
    """Search, simulate and check every schedule; returns the report (JSON-ready) and, under "_panels",
    what the Gantt chart draws."""
    hw = hardware.load(hw_file)
    wl = workloads.parse_custom(workload) if workload[:1].isdigit() else workloads.get(workload)
    names = parse_schedules(schedule)
    if max_evals < 1:
        raise ModelError(f"--max-evals must be at least 1, got {max_evals}")
    if real_data:
        if wl.name != "minilm-l6":
            raise ModelError("--real-data needs --workload minilm-l6 (the model whose weights ship with the SDK)")
        from accelerator_models.mas_attention.minilm import attention_inputs
        inputs, data = attention_inputs(wl.seq_q), "all-MiniLM-L6-v2 layer-0 Q, K, V of real text"
    else:
        inputs, data = random_inputs(wl, min(wl.heads, 4), seed), f"random normal Q, K, V (seed {seed})"
    rows, panels = [], []
    for name in names:
        ev, stats = search(name, wl, hw, max_evals=max_evals, time_limit=time_limit, seed=seed,
                           progress=progress and (lambda name=name: progress(name)), objective=objective)
        row = {**ev.to_json(), **check_numerics(ev, wl, hw, inputs), "search": stats}
        rows.append(row)
        if ev.simulated_heads > row["checked_heads"]:     # do not hold every head's program: the chart
            ev.program = ev.timeline = None                # rebuilds the first heads'

        panels.append((name, lambda ev=ev, h=row["checked_heads"]: leading_heads(ev, wl, hw, h)))
    flat = next((r for r in rows if r["name"] == "flat"), None)
    bound = bounds(wl, hw)
    for r in rows:
        r["speedup_vs_flat"] = flat["latency_cycles"] / r["latency_cycles"] if flat else None
        r["energy_vs_flat"] = r["energy_pj"] / flat["energy_pj"] if flat else None
        r["latency_vs_bound"] = r["latency_cycles"] / bound["latency_cycles"]
    if flat:        # the most any schedule could gain over FLAT on this hardware
        bound["max_speedup_vs_flat"] = flat["latency_cycles"] / bound["latency_cycles"]
        bound["max_energy_saving_vs_flat"] = 1 - bound["energy_pj"] / flat["energy_pj"]
    return {"workload": wl.to_json(), "hw": hw.to_json(), "data": data, "objective": objective, "tolerance": TOLERANCE,
            "seconds_per_cycle": 1 / (hw.clock_mhz * 1e6), "schedules": rows, "bounds": bound, "_panels": panels}


def table(report: dict) -> str:
    head = (f"{'schedule':<10} {'latency (cycles)':>17} {'time (ms)':>10} {'energy (uJ)':>12} {'DRAM (KB)':>11} "
            f"{'MAC util':>9} {'VEC util':>9} {'vs FLAT':>8}  exact (max abs error)")
    lines = [head, "-" * len(head)]
    for r in report["schedules"]:
        vs = f"{r['speedup_vs_flat']:.2f}x" if r["speedup_vs_flat"] else "-"
        lines.append(f"{r['name']:<10} {r['latency_cycles']:>17,} {r['latency_cycles'] * report['seconds_per_cycle'] * 1e3:>10.3f} "
                     f"{r['energy_pj'] / 1e6:>12.2f} {r['dram_bytes'] / 1024:>11,.0f} {r['mac_utilization']:>9.1%} "
                     f"{r['vec_utilization']:>9.1%} {vs:>8}  {'yes' if r['exact'] else 'NO'} "
                     f"({r['max_abs_error']:.1e})")
    b = report["bounds"]
    lines.append(f"{'bound':<10} {b['latency_cycles']:>17,} {b['latency_cycles'] * report['seconds_per_cycle'] * 1e3:>10.3f} "
                 f"{b['energy_pj'] / 1e6:>12.2f} {b['dram_bytes'] / 1024:>11,.0f}  no schedule does better on this "
                 f"hardware ({b['bound_by'].upper()}-bound)")
    if "max_speedup_vs_flat" in b:
        lines.append(f"no schedule can be more than {b['max_speedup_vs_flat']:.2f}x faster than FLAT or save more "
                     f"than {b['max_energy_saving_vs_flat']:.0%} of its energy here")
    return "\n".join(lines)


def plot(report: dict, path: str) -> None:
    from accelerator_models.common.plot import gantt
    wl = report["workload"]
    heads = report["schedules"][0]["checked_heads"]
    panels = [(name, *run()) for name, run in report["_panels"]]
    gantt([(name, p.ops, tl) for name, p, tl in panels], path, f"{wl['name']} on {report['hw']['name']}: the first "
          f"{heads} of {wl['heads']} heads (each schedule with its best tiling)")


def public(report: dict) -> dict:
    return {k: v for k, v in report.items() if not k.startswith("_")}

