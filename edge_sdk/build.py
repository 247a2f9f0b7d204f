"""The build cache for host-side artefacts (Spike extension, Verilated core): built once per source version,
written atomically so an interrupted build never leaves a half-written artefact behind, and under a lock so
two processes that need the same artefact at the same time build it once (the second waits for the first;
they never share a half-built --Mdir)."""
from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path
from typing import Callable

from edge_sdk.errors import EdgeSdkError

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("EDGE_SDK_BUILD", ROOT / "build"))


def lock_path(out: Path) -> Path:
    """The lock file that guards the build of `out` (and of any work directory its command uses)."""
    return out.with_name(f".{out.name}.lock")


def cached_build(out: Path, make_cmd: Callable[[Path], list[str]], what: str,
                 env: dict[str, str] | None = None) -> Path:
    """Return `out`, building it first with the command `make_cmd(tmp_path)` if it does not exist.

    The build runs holding an exclusive lock on `lock_path(out)`: a process that finds the artefact missing
    waits for one that is building it and then uses its result."""
    if out.exists():
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path(out), "a")
    except OSError as err:
        raise EdgeSdkError(f"cannot build {what} in '{out.parent}': {err.strerror}; set EDGE_SDK_BUILD to a "
                           "writable directory") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # released when the file is closed
        if out.exists():                   # built by another process while this one waited
            return out
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        proc = subprocess.run(make_cmd(tmp), capture_output=True, text=True, errors="replace", env=env)
        if proc.returncode != 0 or not tmp.exists():
            raise EdgeSdkError(f"building {what} failed:\n{(proc.stdout + proc.stderr).strip()[-4000:]}")
        os.replace(tmp, out)
    return out
