"""Runs inside a measurement process: load a wasm module in one runtime, call its `run` export `reps` times
(or, as an interferer, until killed), and print the wall time of each call as JSON. Compilation and
instantiation happen before timing starts; "ready" is printed when the first call may begin.

    python -m edge_sdk.runtime_prediction.harness RUNTIME MODULE REPS|loop
"""
from __future__ import annotations

import json
import sys
import time


def _wasmtime_runner(module: bytes, strategy: str):
    import wasmtime
    config = wasmtime.Config()
    if strategy == "pulley":
        config.target = "pulley64"
    else:
        config.cranelift_opt_level = strategy
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, module), [])
    run = instance.exports(store)["run"]
    return lambda: run(store)


def _wasm3_runner(module: bytes):
    import wasm3
    env = wasm3.Environment()
    rt = env.new_runtime(1 << 20)
    rt.load(env.parse_module(module))
    return rt.find_function("run")


PYTHON_RUNTIMES = {
    "wasmtime-cranelift-speed": lambda m: _wasmtime_runner(m, "speed"),
    "wasmtime-cranelift-none": lambda m: _wasmtime_runner(m, "none"),
    "wasmtime-pulley": lambda m: _wasmtime_runner(m, "pulley"),
    "wasm3": _wasm3_runner,
}


def main(argv: list[str]) -> int:
    runtime, path, reps = argv
    run = PYTHON_RUNTIMES[runtime](open(path, "rb").read())
    print("ready", flush=True)
    if reps == "loop":
        while True:
            run()
    times = []
    for _ in range(int(reps)):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(json.dumps({"times": times}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
