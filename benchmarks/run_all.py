"""Run every benchmark program (each writes benchmarks/results/<name>.json), then refresh the README table.
Hours on this 2-core machine: the runtime-prediction grids and the learning runs dominate."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS = [["matmul.py"], ["sim_speed.py"], ["rtl_area.py"], ["kernels.py"], ["soak_differential.py"],
            ["runtime_prediction.py"], ["runtime_prediction.py", "--plan", "long", "--steps", "12000"],
            ["runtime_collect.py", "--budget-minutes", "20"], ["learning.py", "--memory-only"], ["learning.py"],
            ["learning.py", "--config", "medium"], ["learning.py", "--config", "conv"], ["learning_on_device.py"],
            ["npu_attention.py"], ["npu_meadow.py"], ["models.py"], ["readme_table.py"]]

if __name__ == "__main__":
    for program, *args in PROGRAMS:
        print(f"== {program} {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(HERE / program), *args], check=True, cwd=HERE)
