"""The `edge-sdk` command line: argument parsing only; every subcommand calls a function of a module."""
from __future__ import annotations

import argparse
import json
import sys

from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import ISAS, MEMORY_MAPS


def _cmd_cc(args: argparse.Namespace) -> int:
    from edge_sdk.toolchain import compile_elf
    compile_elf(args.sources, args.output, opt=args.opt, isa=args.isa, memory=args.memory)
    return 0


def _cmd_sim(args: argparse.Namespace) -> int:
    from edge_sdk import sim
    r = sim.run(args.elf, args.sim, max_cycles=args.max_cycles, trace=args.trace, memory=args.memory)
    if args.json:
        print(json.dumps(r.to_json(), indent=2))
    else:
        sys.stdout.write(r.console)
        cycles = "" if r.cycles is None else f", {r.cycles} cycles"
        print(f"[{r.sim}] exit code {r.exit_code}, {r.instret} instructions{cycles}, {r.sim_seconds:.3f} s",
              file=sys.stderr)
    if r.trap is not None:
        print(f"error: the program trapped: {r.trap}", file=sys.stderr)
    return r.exit_code


def _cmd_demo(args: argparse.Namespace) -> int:
    from edge_sdk.demo import run_demo
    run_demo()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-sdk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    cc = sub.add_parser("cc", help="compile and link C/assembly for the simulated MCU (runtime included)")
    cc.add_argument("sources", nargs="+", help="C or assembly sources")
    cc.add_argument("-o", dest="output", required=True, help="output ELF")
    cc.add_argument("-O", dest="opt", default="2", choices=["0", "1", "2", "3", "s"], help="optimisation level")
    cc.add_argument("--isa", default="xedge", choices=ISAS, help="xedge defines EDGE_ISA_XEDGE for kernels")
    cc.add_argument("--memory", default="default", choices=sorted(MEMORY_MAPS), help="memory configuration")
    cc.set_defaults(func=_cmd_cc)

    s = sub.add_parser("sim", help="run an ELF on Spike (functional) or the RTL core (cycle-accurate)")
    s.add_argument("elf")
    s.add_argument("--sim", default="spike", choices=["spike", "rtl"])
    s.add_argument("--max-cycles", type=int, default=None,
                   help="stop with an error after N cycles (RTL) or N instructions (Spike)")
    s.add_argument("--trace", default=None, help="write a commit trace (Spike --log-commits format)")
    s.add_argument("--memory", default="default", choices=sorted(MEMORY_MAPS), help="memory configuration")
    s.add_argument("--json", action="store_true", help="print one JSON object instead of the console")
    s.set_defaults(func=_cmd_sim)

    d = sub.add_parser("demo", help="build the int8 matmul demo and run it on Spike and the RTL (make sim)")
    d.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "opt", None) is not None:
        args.opt = f"-O{args.opt}"
    try:
        return args.func(args)
    except EdgeSdkError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
