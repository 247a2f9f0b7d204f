"""Soak differential test: many random RV32IMC + xedge programs, Spike and RTL commit traces compared
exactly (CI runs 8 of them; this runs as many as you ask)."""
from __future__ import annotations

import argparse
import time

from common import write_result

from edge_sdk.sim.differential import diff_random


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="number of programs")
    parser.add_argument("--blocks", type=int, default=150, help="random blocks per program")
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args()
    start, retired, failures = time.perf_counter(), 0, []
    for seed in range(args.first_seed, args.first_seed + args.n):
        r = diff_random(seed, n_blocks=args.blocks)
        retired += r.retired
        if not r.ok:
            failures.append({"seed": seed, "divergence": str(r.divergence)})
            print(f"seed {seed}: {r.divergence}")
    seconds = time.perf_counter() - start
    print(f"{args.n} programs, {retired} instructions compared, {len(failures)} mismatches, {seconds:.0f} s")
    write_result("differential_soak", {"programs": args.n, "blocks_per_program": args.blocks,
                                       "first_seed": args.first_seed, "instructions_compared": retired,
                                       "mismatches": len(failures), "failures": failures, "seconds": seconds})


if __name__ == "__main__":
    main()
