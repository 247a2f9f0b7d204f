"""Collect runtime measurements of our own WebAssembly workloads on the runtimes of this machine, solo and
co-located with another workload, into the Pitot npz format (`data.npz`, `if2.npz`).

Every finished measurement is appended to `journal.jsonl` in the output directory at once, so an interrupted
collection (Ctrl-C, a kill) loses nothing and a rerun resumes where it stopped, trying the failed
measurements again; the npz files are rewritten from the journal at the end (also after an interruption).
Each row also records the machine's noise: the coefficient of variation of the repetitions (`cv`) and the
1-minute load average when it started (`load`).
"""
from __future__ import annotations

import json
import os
import platform as host_platform
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from edge_sdk.errors import EdgeSdkError
from edge_sdk.runtime_prediction import wasm

HARNESS_JS = Path(__file__).resolve().parent / "harness.cjs"
PY_HARNESS = [sys.executable, "-m", "edge_sdk.runtime_prediction.harness"]
RUNTIMES = {
    "wasmtime-cranelift-speed": [*PY_HARNESS, "wasmtime-cranelift-speed"],
    "wasmtime-cranelift-none": [*PY_HARNESS, "wasmtime-cranelift-none"],
    "wasmtime-pulley": [*PY_HARNESS, "wasmtime-pulley"],
    "wasm3": [*PY_HARNESS, "wasm3"],
    "node-liftoff": ["node", "--liftoff-only", str(HARNESS_JS)],
    "node-turbofan": ["node", "--no-liftoff", str(HARNESS_JS)],
}
DEFAULT_SIZES = ("small", "medium", "large")


def available_runtimes() -> list[str]:
    out = []
    try:
        import wasmtime  # noqa: F401
        out += ["wasmtime-cranelift-speed", "wasmtime-cranelift-none", "wasmtime-pulley"]
    except ImportError:
        pass
    try:
        import wasm3  # noqa: F401
        out.append("wasm3")
    except ImportError:
        pass
    if shutil.which("node"):
        out += ["node-liftoff", "node-turbofan"]
    return out


def _host_features() -> tuple[list[str], list[float]]:
    """This machine's side features: CPU frequency, cache sizes, core count (logarithms)."""
    names, values = [], []
    mhz = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                mhz = float(line.split(":")[1])
                break
    except OSError:
        pass
    names.append("cpufreq")
    values.append(np.log1p(mhz))
    for index in range(4):
        base = Path(f"/sys/devices/system/cpu/cpu0/cache/index{index}")
        try:
            level, kind = (base / "level").read_text().strip(), (base / "type").read_text().strip()
            size = (base / "size").read_text().strip()
            kib = float(size[:-1]) * (1024 if size.endswith("M") else 1) if size[-1] in "KM" else float(size) / 1024
        except (OSError, ValueError):
            continue
        names.append(f"l{level}{kind[0].lower()}_size")
        values.append(np.log1p(kib))
    names.append("cpus")
    values.append(np.log(os.cpu_count() or 1))
    return names, values


def _start_interferer(cmd: list[str], timeout_s: float) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # wait until it has compiled and is about to loop
        line = proc.stdout.readline()
        if line.strip() == "ready":
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("interferer did not start")


def measure(runtime: str, module: Path, reps: int, timeout_s: float, interferer: Path | None = None) -> dict:
    """One measurement: median wall time (microseconds) of `reps` calls after one warm-up call."""
    other = None
    load = os.getloadavg()[0]
    try:
        if interferer is not None:
            other = _start_interferer([*RUNTIMES[runtime], str(interferer), "loop"], timeout_s)
        proc = subprocess.run([*RUNTIMES[runtime], str(module), str(reps + 1)], capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"failed": f"timeout after {timeout_s} s"}
    except RuntimeError as err:
        return {"failed": str(err)}
    finally:
        if other is not None:
            other.kill()
            other.wait()
    if proc.returncode != 0:
        return {"failed": f"exit status {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    times = np.array(json.loads(proc.stdout.strip().splitlines()[-1])["times"][1:])
    return {"t": float(np.median(times) * 1e6), "cv": float(times.std() / times.mean()), "load": load,
            "reps": reps}


def _write_npz(path: Path, arrays: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def write_dataset(out: Path, journal: list[dict], workloads: list[str], platforms: list[str],
                  features: dict[str, dict[str, int]]) -> dict:
    """data.npz (solo rows + tables) and if2.npz (co-located rows) from the journal's finished measurements."""
    vocab = sorted({op for counts in features.values() for op in counts})
    d_workload = np.array([[np.log1p(features[w].get(op, 0)) for op in vocab] for w in workloads], dtype=np.float32)
    host_names, host_values = _host_features()
    runtimes = list(RUNTIMES)
    d_platform = np.array([[float(p.split(":")[0] == r) for r in runtimes] + host_values for p in platforms],
                          dtype=np.float32)
    tables = {"d_workload": d_workload, "d_platform": d_platform, "n_workload": np.array(workloads),
              "n_platform": np.array(platforms), "f_workload": np.array(vocab),
              "f_platform": np.array([f"runtime={r}" for r in runtimes] + host_names)}
    ok = [j for j in journal if "t" in j and j["workload"] in workloads and j["platform"] in platforms]
    solo = [j for j in ok if j["interferer"] is None]
    inter = [j for j in ok if j["interferer"] is not None and j["interferer"] in workloads]

    def rows(entries):
        return {"t": np.array([e["t"] for e in entries], dtype=np.float64),
                "i_workload": np.array([workloads.index(e["workload"]) for e in entries], dtype=np.int64),
                "i_platform": np.array([platforms.index(e["platform"]) for e in entries], dtype=np.int64),
                "cv": np.array([e["cv"] for e in entries]), "load": np.array([e["load"] for e in entries])}

    _write_npz(out / "data.npz", {**rows(solo), **tables})
    if inter:
        _write_npz(out / "if2.npz", {**rows(inter), "i_interference0": np.array(
            [workloads.index(e["interferer"]) for e in inter], dtype=np.int64)})
    return {"solo": len(solo), "interference": len(inter)}


def read_journal(path: Path) -> list[dict]:
    """The journal's entries. A last line cut short (the collection was killed while writing it) is dropped and
    cut from the file, so that appending goes on cleanly; a damaged line before it is an error."""
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.splitlines()
    entries = []
    for number, line in enumerate(lines, 1):
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines):
                raise EdgeSdkError(f"'{path}' line {number} is not a journal entry ({line[:80]!r}): repair or delete "
                                   "that line, then run the same command again") from None
            with path.open("r+") as f:
                f.truncate(len(text.encode()) - len(line.encode()) - (0 if text.endswith(line) else 1))
    return entries


def collect(output: str | Path, runtimes: list[str] | None = None, budget_minutes: float | None = None,
            repetitions: int = 3, sizes: list[str] | None = None, kernels: list[str] | None = None,
            pairs_per_workload: int = 2, timeout_s: float = 60.0, seed: int = 0) -> dict:
    out = Path(output)
    have = available_runtimes()
    runtimes = list(runtimes) if runtimes else have
    for r in runtimes:
        if r not in RUNTIMES:
            raise EdgeSdkError(f"unknown runtime '{r}'; known: {', '.join(RUNTIMES)}")
        if r not in have:
            raise EdgeSdkError(f"runtime '{r}' is not available here (available: {', '.join(have) or 'none'})")
    if repetitions < 1:
        raise EdgeSdkError(f"--repetitions must be at least 1, got {repetitions}")
    if pairs_per_workload < 0:
        raise EdgeSdkError(f"--pairs must be 0 or more, got {pairs_per_workload}")
    if budget_minutes is not None and budget_minutes <= 0:
        raise EdgeSdkError(f"--budget-minutes must be positive, got {budget_minutes}")
    kernels = list(kernels or wasm.SIZES)
    sizes = list(sizes or DEFAULT_SIZES)
    out.mkdir(parents=True, exist_ok=True)
    modules_dir = out / "modules"
    modules_dir.mkdir(exist_ok=True)
    modules, features = {}, {}
    for k in kernels:
        for s in sizes:
            name = f"edge/{k}@{s}"
            modules[name] = wasm.build(k, s, modules_dir)
            features[name] = dict(wasm.opcode_counts(modules[name].read_bytes()))
    workloads = list(modules)
    host = socket.gethostname() or host_platform.node()
    platforms = [f"{r}:{host}" for r in runtimes]
    rng = random.Random(seed)
    jobs = [(w, p, None) for p in platforms for w in workloads]
    for p in platforms:
        for w in workloads:
            others = [o for o in workloads if o != w]
            jobs += [(w, p, o) for o in rng.sample(others, min(pairs_per_workload, len(others)))]
    journal_path = out / "journal.jsonl"
    journal = read_journal(journal_path)
    # Only a successful measurement is done: a failed one (a timeout, a crash) is tried again on a rerun.
    done = {(j["workload"], j["platform"], j["interferer"]) for j in journal if "t" in j}
    todo = [j for j in jobs if j not in done]
    deadline = time.monotonic() + 60 * budget_minutes if budget_minutes else None
    stopped_by_budget = interrupted = False
    failed = set()
    try:
        with journal_path.open("a") as log, tqdm(total=len(jobs), initial=len(jobs) - len(todo),
                                                 desc="measuring", unit="run") as bar:
            for workload, plat, other in todo:
                if deadline is not None and time.monotonic() > deadline:
                    stopped_by_budget = True
                    break
                runtime = plat.split(":")[0]
                result = measure(runtime, modules[workload], repetitions, timeout_s,
                                 modules[other] if other else None)
                entry = {"workload": workload, "platform": plat, "interferer": other, **result}
                log.write(json.dumps(entry) + "\n")
                log.flush()
                journal.append(entry)
                if "failed" in result:
                    failed.add((workload, plat, other))
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        counts = write_dataset(out, journal, workloads, platforms, features)
    measured = len({(j["workload"], j["platform"], j["interferer"]) for j in journal if "t" in j})
    if interrupted:
        raise EdgeSdkError(f"interrupted: {measured} measurements are kept in '{journal_path}' (and written to "
                           f"{out}/data.npz); run the same command again to resume")
    return {"output": str(out), "runtimes": runtimes, "workloads": len(workloads), "planned": len(jobs),
            "measured": measured, "failed": len(failed), "stopped_by_budget": stopped_by_budget, **counts}
