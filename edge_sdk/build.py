"""The build cache for host-side artefacts (Spike extension, Verilated core): built once per source version,
written atomically so an interrupted build never leaves a half-written artefact behind."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

from edge_sdk.errors import EdgeSdkError

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("EDGE_SDK_BUILD", ROOT / "build"))


def cached_build(out: Path, make_cmd: Callable[[Path], list[str]], what: str,
                 env: dict[str, str] | None = None) -> Path:
    """Return `out`, building it first with the command `make_cmd(tmp_path)` if it does not exist."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    proc = subprocess.run(make_cmd(tmp), capture_output=True, text=True, env=env)
    if proc.returncode != 0 or not tmp.exists():
        raise EdgeSdkError(f"building {what} failed:\n{(proc.stdout + proc.stderr).strip()[-4000:]}")
    os.replace(tmp, out)
    return out
