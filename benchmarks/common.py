"""Shared by the benchmark programs: where results go and what every result file records."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))


def write_result(name: str, data: dict) -> Path:
    """Write benchmarks/results/<name>.json with the command and machine that produced it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    record = {
        "benchmark": name,
        "command": "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        **data,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return out


def load_json(name: str) -> dict | None:
    """benchmarks/results/<name>.json, or None if that benchmark has not been run."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def source_digest(folder: str, suffixes=(".py", ".yaml")) -> str:
    """A digest of the sources under `folder` (relative to the repository root): a journal resumes only the rows
    that the same code produced."""
    h = hashlib.sha256()
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix in suffixes:
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]
