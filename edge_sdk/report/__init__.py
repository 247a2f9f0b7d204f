"""Reports shared by every subcommand: JSON written atomically (no half-written file on an error), the check of
an output path before the work that fills it, and the compiled model's per-layer plot."""
from __future__ import annotations

import json
import os
from pathlib import Path

from edge_sdk.errors import EdgeSdkError


def check_output_path(path: str | Path | None, flag: str) -> None:
    """An EdgeSdkError naming `flag` when `path` cannot be written as a file (checked before the work)."""
    if path is None:
        return
    p = Path(path).absolute()
    if p.is_dir():
        raise EdgeSdkError(f"cannot write {flag} '{path}': it is a directory; give a file name")
    if not p.parent.is_dir():
        raise EdgeSdkError(f"cannot write {flag} '{path}': its directory does not exist (create it first)")
    if not os.access(p.parent, os.W_OK):
        raise EdgeSdkError(f"cannot write {flag} '{path}': its directory is not writable")


def write_json(obj: dict, path: str | Path | None) -> None:
    if not path:
        return
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise EdgeSdkError(f"cannot write '{path}': {err.strerror}") from None


def layer_cycles_png(report: dict, path: str | Path) -> Path:
    """A compiled model's cycles (or instructions on Spike) per layer as bars coloured by kernel kind (dense,
    sparse-sw, sparse-ext, glue), from its report.json after `edge-sdk run`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = report.get("run")
    unit = "cycles" if run and run["sim"] == "rtl" else "instructions"
    layers = report["layers"]
    colours = {"dense": "tab:blue", "sparse-sw": "tab:orange", "sparse-ext": "tab:green", "glue": "tab:gray"}
    fig, ax = plt.subplots(figsize=(max(6, 0.4 * len(layers)), 4))
    for kind, colour in colours.items():
        xs = [i for i, row in enumerate(layers) if row["kernel"] == kind]
        if xs:
            ax.bar(xs, [layers[i][unit] for i in xs], color=colour, label=kind)
    ax.set_xticks(range(len(layers)), [row["name"] + (f" {row['pattern']}" if row.get("pattern") else "")
                                       for row in layers], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"{unit} ({run['sim']})")
    ax.set_title(f"{report['model']}: {unit} per layer (--isa {report['isa']})")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path
