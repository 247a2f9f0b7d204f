"""Dense vs N:M sparse layer kernels on the RTL (cycles): every layer of edge_sdk/kernel_bench.py (ResNet-18 at
64x64, a small ViT's linear layers, MLPerf Tiny ResNet-8 and DS-CNN) with the dense xedge kernel, the sparse
software kernel (xedge core) and the sparse kernel with the xdec extension (xdec core), for every pattern whose
M divides the layer's reduction; every row checked bit for bit against the numpy reference. Writes
results/kernels.json and results/kernels.png (speedup over dense vs pattern, per layer type)."""
from __future__ import annotations

import argparse

from common import RESULTS, load_json, write_result

import json

from edge_sdk.kernel_bench import LAYERS, sweep
from edge_sdk.lowering.sparsity import COSTS, choose, features, fit
from riscv_ext.nm_format import SUPPORTED, parse_pattern


def summary(rows: list[dict]) -> dict:
    dense = {r["layer"]: r["cycles"] for r in rows if r["variant"] == "dense"}
    out = {}
    for pattern in SUPPORTED:
        for op in ("conv", "fc"):
            sel = [r for r in rows if r["pattern"] == pattern and r["op"] == op]
            sw = {r["layer"]: dense[r["layer"]] / r["cycles"] for r in sel if r["variant"] == "sw"}
            ext = {r["layer"]: dense[r["layer"]] / r["cycles"] for r in sel if r["variant"] == "ext"}
            if sw:
                out[f"{op} {pattern}"] = {"sw_max": max(sw.values()), "sw_mean": sum(sw.values()) / len(sw),
                                          "ext_max": max(ext.values()), "ext_mean": sum(ext.values()) / len(ext),
                                          "ext_over_sw_max": max(ext[k] / sw[k] for k in sw), "layers": len(sw)}
    return out


def write_costs(result: dict) -> None:
    """The compiler's kernel cost model (edge_sdk/lowering/sparsity.py), fitted to every conv and fc row."""
    samples = []
    for r in result["rows"]:
        layer = LAYERS[r["layer"]]
        if layer.op not in ("conv", "fc"):
            continue
        pattern = None if r["pattern"] == "dense" else parse_pattern(r["pattern"])
        pixels = layer.ho * layer.wo if layer.op == "conv" else 1
        samples.append((layer.op, r["variant"], features(layer.op, pixels, layer.cout, layer.reduction, pattern),
                        r["cycles"]))
    models = fit(samples)
    COSTS.write_text(json.dumps({"source": f"{result['command']} ({result['date']}): cycles on the RTL of every conv "
                                           "and fc layer and pattern of the kernel benchmark",
                                 "models": models}, indent=2) + "\n")
    for kind, variants in models.items():
        for variant, m in variants.items():
            held = m["held_out_mean_relative_error"]
            print(f"cost model {kind} {variant}: {m['samples']} samples, mean error {m['mean_relative_error']:.1%} "
                  f"(max {m['max_relative_error']:.1%})" + (f", held out {held:.1%}" if held is not None else ""))
    print(f"wrote {COSTS.relative_to(RESULTS.parent.parent)}")
    loss = choice_loss(result["rows"])
    print(f"kernel choice on the benchmark's {loss['cases']} (layer, pattern, ISA) cases: {loss['mean']:.1%} mean, "
          f"{loss['worst']:.0%} worst over the measured fastest kernel")


def choice_loss(rows: list[dict]) -> dict:
    """How much slower than the measured fastest kernel the compiler's choice (sparsity.choose) is, over every
    conv / fc layer and pattern of the benchmark on xedge (dense, sw) and xdec (dense, sw, ext)."""
    dense = {r["layer"]: r["cycles"] for r in rows if r["variant"] == "dense"}
    cases: dict = {}
    for r in rows:
        if r["variant"] in ("sw", "ext"):
            cases.setdefault((r["layer"], r["pattern"]), {"dense": dense[r["layer"]]})[r["variant"]] = r["cycles"]
    losses = []
    for (name, pattern), cycles in cases.items():
        layer = LAYERS[name]
        pixels = layer.ho * layer.wo if layer.op == "conv" else 1
        for isa, allowed in (("xedge", ("dense", "sw")), ("xdec", ("dense", "sw", "ext"))):
            options = {k: v for k, v in cycles.items() if k in allowed}
            chosen = choose(layer.op, parse_pattern(pattern), isa, pixels, layer.cout, layer.reduction)
            losses.append(options[chosen] / min(options.values()) - 1)
    return {"cases": len(losses), "mean": sum(losses) / len(losses), "worst": max(losses)}


def plot(rows: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = summary(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    by_density = sorted(SUPPORTED, key=lambda p: -int(p.split(":")[0]) / int(p.split(":")[1]))
    for ax, op in zip(axes, ("conv", "fc")):
        pats = [p for p in by_density if f"{op} {p}" in s]
        for key, label in (("sw_mean", "sparse sw (mean)"), ("ext_mean", "sparse xdec (mean)"),
                           ("ext_max", "sparse xdec (max)")):
            ax.plot(pats, [s[f"{op} {p}"][key] for p in pats], marker="o", label=label)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_title(f"{op} layers ({s[f'{op} {pats[0]}']['layers']})")
        ax.set_xlabel("N:M pattern (density falls to the right)")
        ax.legend()
    axes[0].set_ylabel("speedup over the dense xedge kernel")
    fig.suptitle("N:M sparse kernels on the RTL core (cycles)")
    fig.tight_layout()
    fig.savefig(RESULTS / "kernels.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", nargs="*")
    parser.add_argument("--patterns", nargs="*")
    parser.add_argument("--from-results", action="store_true",
                        help="only redraw the plot and refit the compiler's cost model from results/kernels.json")
    args = parser.parse_args()
    if args.from_results:
        result = load_json("kernels")
        plot(result["rows"])
        write_costs(result)
        return
    rows = sweep(args.layers, args.patterns, "rtl")
    area = load_json("rtl_area")
    write_result("kernels", {"sim": "rtl", "rows": rows, "summary": summary(rows),
                             "all_exact": all(r["exact"] for r in rows),
                             "xdec_area_overhead": area["xdec_overhead"] if area else None})
    plot(rows)
    write_costs(load_json("kernels"))


if __name__ == "__main__":
    main()
