"""Run every benchmark program (each writes benchmarks/results/<name>.json), then refresh the README table."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS = ["matmul.py", "sim_speed.py", "rtl_area.py", "soak_differential.py", "readme_table.py"]

if __name__ == "__main__":
    for program in PROGRAMS:
        print(f"== {program}", flush=True)
        subprocess.run([sys.executable, str(HERE / program)], check=True, cwd=HERE)
