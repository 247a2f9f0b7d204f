"""Soak differential test: many random RV32IMC + xedge programs (traps, CSRs, calls, hazards; see
edge_sdk/sim/randprog.py), Spike and RTL commit traces compared exactly (CI runs a few dozen; this runs 10^4 by
default, one program per core at a time)."""
from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

from common import write_result

from edge_sdk.errors import EdgeSdkError
from edge_sdk.sim.differential import diff_random


def run_one(seed: int, blocks: int) -> tuple[int, int, str | None]:
    """(seed, instructions compared, what went wrong or None)."""
    try:
        r = diff_random(seed, n_blocks=blocks)
    except EdgeSdkError as err:  # a build error, or a run that hit its limit (a hang on one simulator)
        return seed, 0, f"error: {err}"
    if r.ok and r.exit_codes == (0, 0):
        return seed, r.retired, None
    return seed, r.retired, (f"{r.divergence or 'traces match'}; console equal: {r.console_equal}; "
                             f"exit codes (spike, rtl): {r.exit_codes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="number of programs")
    parser.add_argument("--blocks", type=int, default=150, help="random blocks per program")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="programs run in parallel")
    args = parser.parse_args()
    start, retired, failures = time.perf_counter(), 0, []
    seeds = range(args.first_seed, args.first_seed + args.n)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for done, (seed, n, problem) in enumerate(pool.map(run_one, seeds, [args.blocks] * args.n, chunksize=4), 1):
            retired += n
            if problem:
                failures.append({"seed": seed, "divergence": problem})
                print(f"seed {seed}: {problem}", flush=True)
            if done % 500 == 0:
                print(f"{done}/{args.n} programs, {len(failures)} mismatches, {time.perf_counter() - start:.0f} s",
                      flush=True)
    seconds = time.perf_counter() - start
    print(f"{args.n} programs, {retired} instructions compared, {len(failures)} mismatches, {seconds:.0f} s")
    write_result("differential_soak", {"programs": args.n, "blocks_per_program": args.blocks,
                                       "first_seed": args.first_seed, "jobs": args.jobs,
                                       "instructions_compared": retired, "mismatches": len(failures),
                                       "failures": failures, "seconds": seconds})


if __name__ == "__main__":
    main()
