"""Gantt chart of a simulated tile program: one lane per unit (DMA load/store, MAC, VEC)."""
from __future__ import annotations

from accelerator_models.common.engine import Timeline
from accelerator_models.common.program import UNITS

COLORS = {"load": "#8da0cb", "store": "#a6d854", "mac": "#fc8d62", "vec": "#66c2a5", "softmax": "#e78ac3",
          "unpack": "#ffd92f"}
EXTRA = ("#e5c494", "#b3b3b3", "#1b9e77", "#d95f02")


def gantt(panels: list, path: str, title: str) -> None:
    """`panels` = [(label, ops, timeline)]: one subplot per schedule, lanes per unit, shared time axis."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 1.3 + 1.1 * len(panels)), sharex=True, squeeze=False)
    for ax, (label, ops, tl) in zip(axes[:, 0], panels):
        present = {op.unit for op in ops}
        units = [u for u in UNITS if u in present] + sorted(present - set(UNITS) - {"sync"})
        for lane, unit in enumerate(units):
            bars = [(tl.start[op.id], op.cycles) for op in ops if op.unit == unit and op.cycles]
            color = COLORS.get(unit, EXTRA[lane % len(EXTRA)])
            ax.broken_barh(bars, (lane - 0.4, 0.8), facecolors=color, linewidth=0)
        ax.set_yticks(range(len(units)), units)
        ax.set_ylim(-0.6, len(units) - 0.4)
        ax.set_title(f"{label}: {tl.latency_cycles:,} cycles", fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("cycle")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
