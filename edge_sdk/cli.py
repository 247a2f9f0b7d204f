"""The `edge-sdk` command line: argument parsing only; every subcommand calls a function of a module."""
from __future__ import annotations

import argparse
import json
import sys

from accelerator_models.common.errors import ModelError
from edge_sdk import __version__
from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import ISAS, MEMORY_MAPS
from edge_sdk.report import check_output_path, write_json

# What `edge-sdk --help` tells a user (the module docstring above is for the SDK's developers).
DESCRIPTION = """\
edge-sdk takes neural networks to edge devices and tells you, before silicon, how fast they run, how big
they are and what they cost: build C for the simulated RISC-V MCU and run it on Spike (fast, functional) or
on the cycle-accurate RTL core, benchmark its dense and N:M-sparse kernels, model attention on an edge NPU,
train forward-only on the device, and predict WebAssembly runtimes with bounds."""

EPILOG = """\
examples:
  edge-sdk demo                                  build the int8 matmul demo, run it on Spike and the RTL
  edge-sdk cc prog.c -o prog.elf                 compile and link for the MCU (runtime included)
  edge-sdk sim prog.elf --sim rtl                run it cycle-accurately
  edge-sdk prune m.onnx -o p.onnx --pattern 1:8  N:M-prune an ONNX model's weights (then compile it)
  edge-sdk compile model.onnx -o out/            lower an ONNX model to int8 firmware (then `edge-sdk run out/`)
  edge-sdk COMMAND --help                        options and examples of one command

exit status: 0 success; 1 the result is a failure (`sim`: the program exited with a non-zero code, which
`--json` keeps as `exit_code`; `bench`, `npu`: a result is not exact); 2 an error of edge-sdk itself (bad
arguments or input, a failed build), never a program's code; `sim` also: 3 the program trapped (a stack
overflow too), 4 it did not exit within a limit."""

# Limits `edge-sdk sim` puts on a program that never exits, unless given.
DEFAULT_MAX_INSTRUCTIONS = 1_000_000_000     # both simulators
DEFAULT_MAX_CYCLES = 2_000_000_000           # the RTL (Spike models no cycles)
DEFAULT_TIMEOUT_S = 600.0                    # wall seconds, both simulators

# Process status of `edge-sdk sim` (README "Using it"); the program's own exit code is `exit_code` in --json.
EXIT_OK, EXIT_PROGRAM_FAILED, EXIT_ERROR, EXIT_TRAPPED, EXIT_LIMIT, EXIT_DIVERGED = 0, 1, 2, 3, 4, 5

# Examples shown in the --help of the subcommands that do not give their own (key: command words).
EXAMPLES = {
    "demo": ["edge-sdk demo                 # what `make sim` runs: the demo on Spike and on the RTL"],
    "prune": ["edge-sdk prune model.onnx -o pruned.onnx --pattern 1:8",
              "edge-sdk prune model.qdq.onnx -o pruned.qdq.onnx --pattern 2:16"],
    "compile": ["edge-sdk compile model.qdq.onnx -o out/",
                "edge-sdk compile model.onnx -o out/ --calibration samples.npz --memory mcu",
                "edge-sdk compile model.qdq.onnx -o out/ --memory mcu --weights flash   # weights in the code memory"],
    "run": ["edge-sdk run out/ --sim spike --input x.npy --output y.npy",
            "edge-sdk run out/ --sim rtl --input x.npy --json"],
    "runtime": ["edge-sdk runtime train -o model.pt",
                "edge-sdk runtime evaluate --model model.pt --held-out --json metrics.json",
                "edge-sdk runtime predict --model model.pt --workload polybench/small/gemm "
                "--platform wasmtime-j:hc-10"],
    "runtime train": ["edge-sdk runtime train -o model.pt",
                      "edge-sdk runtime train -o mlp.pt --model mlp --steps 2000"],
    "runtime evaluate": ["edge-sdk runtime evaluate --model model.pt --held-out --json metrics.json"],
    "runtime predict": ["edge-sdk runtime predict --model model.pt --workload polybench/small/gemm "
                        "--platform wasmtime-j:hc-10 --alpha 0.1"],
    "runtime collect": ["edge-sdk runtime collect -o measurements --budget-minutes 10 --sizes small"],
    "learn": ["edge-sdk learn --algo bio-fo --dataset digits --layers 2x32",
              "edge-sdk learn --on-device --sim spike --dataset digits --layers 2x32 --epochs 5"],
    "bench": ["edge-sdk bench kernels --list", "edge-sdk bench kernels --layers resnet8-stack3-conv --patterns 1:8"],
    "npu": ["edge-sdk npu attention --list-workloads", "edge-sdk npu attention --workload bert-base --schedule all"],
    "npu attention": ["edge-sdk npu attention --list-workloads",
                      "edge-sdk npu attention --hw edge.yaml --workload bert-base --schedule all --json out.json"],
}


def _count(text: str) -> int:
    """A positive whole number for a limit: 5000000, 5_000_000 or 5e6."""
    try:
        value = float(text) if any(c in text for c in "eE.") else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got '{text}'") from None
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got '{text}'")
    return int(value)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got '{text}'")
    return value


def _bytes(text: str) -> int:
    """A size in bytes: 65536, 64K or 1M."""
    scale = {"k": 1024, "m": 1024 * 1024}.get(text[-1:].lower(), 1)
    try:
        value = int(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of bytes such as 65536 or 64K, got '{text}'") from None
    return value


def _cmd_cc(args: argparse.Namespace) -> int:
    from edge_sdk.toolchain import compile_elf
    compile_elf(args.sources, args.output, opt=args.opt, isa=args.isa, memory=args.memory,
                stack_size=args.stack_size)
    return 0


def _cmd_sim(args: argparse.Namespace) -> int:
    from edge_sdk import sim
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")   # any console text prints, whatever the locale
    if args.interactive or args.breaks:
        return _cmd_debug(args)
    if args.max_cycles is not None and args.sim == "spike":
        raise EdgeSdkError("--max-cycles counts core cycles, which only the RTL models (--sim rtl); bound a run on "
                           "Spike with --max-instructions N")
    if args.sim == "cosim":
        return _cmd_cosim(args)
    try:
        r = sim.run(args.elf, args.sim, trace=args.trace, memory=args.memory,
                    max_instructions=args.max_instructions or DEFAULT_MAX_INSTRUCTIONS,
                    max_cycles=(args.max_cycles or DEFAULT_MAX_CYCLES) if args.sim == "rtl" else None,
                    timeout_s=args.timeout or DEFAULT_TIMEOUT_S)
    except sim.SimLimitError as err:
        return _limit_reached(err, args.json)
    status = _sim_status(r)
    if args.json:
        print(json.dumps({**r.to_json(), "process_status": status}, indent=2))
    else:
        sys.stdout.write(r.console)
        sys.stdout.flush()
    return _sim_summary(r, status, summary=not args.json)


def _cmd_cosim(args: argparse.Namespace) -> int:
    """`sim --sim cosim`: the RTL and Spike in lock step; the RTL's console on stdout, the comparison on stderr."""
    from edge_sdk import sim
    try:
        r = sim.lockstep(args.elf, memory=args.memory, spike_trace=args.trace,
                         max_instructions=args.max_instructions or DEFAULT_MAX_INSTRUCTIONS,
                         max_cycles=args.max_cycles or DEFAULT_MAX_CYCLES, timeout_s=args.timeout or DEFAULT_TIMEOUT_S)
    except sim.SimLimitError as err:
        return _limit_reached(err, args.json)
    rr = r.rtl_result   # the RTL's run (console without the runtime's reports, its trap), when both exited
    status = EXIT_DIVERGED if not r.ok else _sim_status(rr)
    if args.json:
        d = r.divergence
        print(json.dumps({"sim": "cosim", "ok": r.ok, "stop": r.stop, "compared": r.compared,
                          "exit_codes": {"spike": r.exit_codes[0], "rtl": r.exit_codes[1]},
                          "consoles_equal": r.console_equal, "interrupts": r.interrupts, "synced": r.synced,
                          "rtl_cycles": r.rtl_cycles, "sim_seconds": r.sim_seconds,
                          "trap": None if rr is None else rr.to_json()["trap"],
                          "divergence": None if d is None else str(d), "process_status": status}, indent=2))
    else:
        sys.stdout.write(rr.console if rr is not None else r.consoles[1])
        sys.stdout.flush()
    print(r if not r.ok else f"[cosim] {r}", file=sys.stderr)
    return status if rr is None else _sim_summary(rr, status, summary=False)


def _limit_reached(err, as_json: bool) -> int:
    """A run stopped by --max-instructions, --max-cycles or --timeout: the error (and JSON), status 4."""
    if as_json:
        print(json.dumps({"error": str(err), "limit": err.limit, "process_status": EXIT_LIMIT}, indent=2))
    print(f"error: {err}", file=sys.stderr)
    return EXIT_LIMIT


def _sim_status(r) -> int:
    """The process status of a finished run (see EPILOG)."""
    return EXIT_TRAPPED if r.trap is not None else EXIT_OK if r.exit_code == 0 else EXIT_PROGRAM_FAILED


def _sim_summary(r, status: int, summary: bool = True) -> int:
    """Print a finished run's summary line (unless not `summary`) and its trap to stderr; return `status`."""
    if summary:
        cycles = "" if r.cycles is None else f", {r.cycles} cycles"
        print(f"[{r.sim}] exit code {r.exit_code}, {r.instret} instructions{cycles}, {r.sim_seconds:.3f} s",
              file=sys.stderr)
    if r.trap is not None:
        what = "" if r.trap.stack_overflow else "the program trapped: "
        print(f"error: {what}{r.trap}", file=sys.stderr)
    return status


def _cmd_debug(args: argparse.Namespace) -> int:
    """`sim --interactive`: the RTL debugger on stdin; the process status is the program's, if it exited."""
    from edge_sdk.sim.debugger import debug
    if not args.interactive:
        raise EdgeSdkError("--break stops the interactive debugger: add --interactive")
    if args.sim != "rtl":
        raise EdgeSdkError("--interactive debugs the RTL core: add --sim rtl")
    if args.json:
        raise EdgeSdkError("--json prints a finished run; it does not combine with --interactive")
    if args.timeout is not None:
        raise EdgeSdkError("--timeout bounds a run's wall time; the debugger waits for you: stop it with quit "
                           "or Ctrl-C")
    r = debug(args.elf, memory=args.memory, breaks=args.breaks or [], trace=args.trace,
              max_cycles=args.max_cycles or DEFAULT_MAX_CYCLES,
              max_instructions=args.max_instructions or DEFAULT_MAX_INSTRUCTIONS)
    if r is None:
        return EXIT_OK
    return _sim_summary(r, _sim_status(r))


def _cmd_bench_kernels(args: argparse.Namespace) -> int:
    from edge_sdk import kernel_bench
    if args.list:
        for layer in kernel_bench.LAYERS.values():
            size = (f"{layer.elements:>11,} elements" if layer.glue else
                    f"{layer.macs:>11,} MACs, reduction {layer.reduction}")
            print(f"{layer.name:28} {layer.op:10} {size}")
        return 0
    check_output_path(args.json, "--json")
    split = lambda text: text.split(",") if text is not None else None  # noqa: E731
    rows = kernel_bench.sweep(split(args.layers), split(args.patterns), args.sim)
    dense = {r["layer"]: r for r in rows if r["variant"] == "dense"}
    measure = "cycles" if args.sim == "rtl" else "instructions"
    for r in rows:
        base = dense[r["layer"]][measure]
        print(f"{r['layer']:28} {r['pattern']:6} {r['variant']:6} {r[measure]:>11,} {measure}  "
              f"{base / r[measure]:5.2f}x dense  exact {r['exact']}")
    if args.json:
        write_json({"sim": args.sim, "rows": rows}, args.json)
    return 0 if all(r["exact"] for r in rows) else 1


def _cmd_prune(args: argparse.Namespace) -> int:
    from edge_sdk.frontend import prune
    layers = prune.prune(args.model, args.output, args.pattern)
    print(prune.table(layers))
    print(f"written to {args.output}")
    return 0


def _cmd_compile(args: argparse.Namespace) -> int:
    from edge_sdk import compiler
    compiled = compiler.compile(args.model, args.output, calibration=args.calibration, isa=args.isa,
                                memory=args.memory, dense_only=args.dense_only, weights=args.weights)
    print(compiler.table(compiled.report))
    print(f"written to {compiled.out_dir}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from edge_sdk import compiler
    text, png = compiler.report_saved(args.out_dir, args.plot)
    print(text)
    print(f"plot written to {png}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from edge_sdk import compiler
    result = compiler.run_saved(args.out_dir, args.input, args.sim, args.output)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(compiler.table(result["report"]))
        print(f"output argmax {result['argmax']}" + (f", written to {args.output}" if args.output else ""))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from edge_sdk.demo import run_demo
    run_demo()
    return 0


def _cmd_runtime_train(args: argparse.Namespace) -> int:
    from edge_sdk.runtime_prediction import commands
    result = commands.train(args.data, args.output, args.train_fraction, args.seed, args.steps, args.model)
    b = next(b for b in result["bounds"] if b["alpha"] == 0.1)
    print(f"held-out test split: {result['n']} rows, MAPE {result['mape']:.2%} (solo "
          f"{_pct(result['mape_solo'])}, co-located {_pct(result['mape_interference'])}); alpha 0.1 bound: "
          f"coverage {_pct(b['coverage'])}, tightness {_pct(b['tightness'])}")
    print(f"model written to {args.output}")
    return 0


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.2%}"


def _cmd_runtime_evaluate(args: argparse.Namespace) -> int:
    from edge_sdk.runtime_prediction import commands
    result = commands.evaluate(args.model, args.data, held_out=args.held_out)
    write_json(result, args.json)
    print(f"{result['n']} rows: MAPE {result['mape']:.2%} (solo {_pct(result['mape_solo'])}, co-located "
          f"{_pct(result['mape_interference'])})")
    for b in result["bounds"]:
        if b["coverage"] is None:
            print(f"  alpha {b['alpha']:<5} no bound: {b['unavailable']}")
        else:
            print(f"  alpha {b['alpha']:<5} coverage {b['coverage']:.1%}  tightness {b['tightness']:.1%}")
    return 0


def _cmd_runtime_predict(args: argparse.Namespace) -> int:
    from edge_sdk.runtime_prediction import commands
    r = commands.predict(args.model, args.workload, args.platform, args.others or [], args.alpha)
    beside = f" beside {', '.join(r['co_located'])}" if r["co_located"] else ""
    print(f"{r['workload']} on {r['platform']}{beside}: predicted {r['predicted_runtime']:.4g}, upper bound "
          f"{r['upper_bound']:.4g} (holds with probability >= {100 * (1 - r['alpha']):.10g}%; units of the training "
          "data)")
    return 0


def _cmd_runtime_collect(args: argparse.Namespace) -> int:
    from edge_sdk.runtime_prediction import collect
    summary = collect.collect(args.output, runtimes=args.runtimes, budget_minutes=args.budget_minutes,
                              repetitions=args.repetitions, sizes=args.sizes, kernels=args.workloads,
                              pairs_per_workload=args.pairs)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_learn(args: argparse.Namespace) -> int:
    from edge_sdk.learning import commands
    try:
        lr = [float(v) for v in args.lr.split(",")] if args.lr else None
    except ValueError:
        raise EdgeSdkError(f"--lr takes a number or one per layer separated by commas, got '{args.lr}'") from None
    if args.on_device:
        if args.algo != "bio-fo":
            raise EdgeSdkError("only --algo bio-fo trains on the device")
        result = commands.learn_on_device(args.dataset, args.sim, args.layers, args.epochs, lr, args.seed,
                                          args.max_train, args.max_test, args.data, args.memory)
    else:
        if lr is not None and len(lr) != 1:
            raise EdgeSdkError("host training takes one --lr")
        result = commands.learn_host(args.algo, args.dataset, args.layers, args.epochs, lr[0] if lr else None,
                                     args.seed, args.max_train, args.plot, args.connectivity, args.batch_size,
                                     args.data)
    print(commands.accuracy_line(result))
    write_json(result, args.json)
    return 0


def _cmd_npu_attention(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from accelerator_models.mas_attention import commands
    if args.list_workloads:
        for w in commands.workload_table():
            print(f"{w['name']:<20} heads {w['heads']:>3}  seq {w['seq_q']:>5} x {w['seq_kv']:<5} d {w['head_dim']:>4}  "
                  f"{w['about']}")
        return 0
    if not args.workload:
        raise EdgeSdkError("--workload is required (see --list-workloads, or give HEADSxSEQ_QxSEQ_KVxDIM)")
    check_output_path(args.json, "--json")
    check_output_path(args.plot, "--plot")
    bars = {}

    def progress(schedule):
        if schedule not in bars:
            for bar in bars.values():
                bar.close()
            bars[schedule] = tqdm(desc=f"search {schedule}", unit="tiling", leave=False)
        bars[schedule].update(1)

    report = commands.attention(args.hw, args.workload, args.schedule, args.max_evals, args.time_limit, args.seed,
                                args.real_data, progress, args.objective, commands.parse_check_heads(args.check_heads))
    for bar in bars.values():
        bar.close()
    wl = report["workload"]
    print(f"{wl['name']}: {wl['heads']} heads, seq {wl['seq_q']} x {wl['seq_kv']}, head dim {wl['head_dim']} on "
          f"'{report['hw']['name']}' ({report['data']})")
    print(commands.table(report))
    if args.plot:
        commands.plot(report, args.plot)
        print(f"Gantt chart written to {args.plot}")
    write_json(commands.public(report), args.json)
    return 0 if all(r["exact"] for r in report["schedules"] if r["feasible"]) else 1


def _cmd_npu_meadow(args: argparse.Namespace) -> int:
    from accelerator_models.meadow import commands
    if args.list_models:
        for m in commands.model_table():
            print(f"{m['name']:<10} hidden {m['hidden']:>5}  heads {m['heads']:>3} x {m['head_dim']:<3} FFN {m['ffn']:>5}  "
                  f"{m['layers']:>2} layers  {m['weights']:<9}  {m['about']}")
        return 0
    report = commands.meadow(args.hw, args.model, args.phase, commands.parse_bandwidths(args.bandwidth), args.tokens,
                             args.context, args.chunk_size, args.packet, args.mode_bits, args.quant,
                             numerics=not args.no_check, pe_sweep=bool(args.plot),
                             progress=lambda what: print(f"  {what}", file=sys.stderr, flush=True))
    wl = report["workload"]
    print(f"{report['model']} {report['phase']}: {wl['tokens']} token(s)" + (f" after {wl['past']} cached" if wl["past"] else "")
          + f", one layer on '{report['hw']['name']}' ({report['packing']['source']})")
    print(commands.table(report))
    if args.plot:
        commands.plot(report, args.plot)
        print(f"plot written to {args.plot}")
    write_json(report, args.json)
    return 0 if all(r["exact"] is not False for r in report["rows"]) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-sdk", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"edge-sdk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cc = sub.add_parser(
        "cc", help="compile and link C/assembly for the simulated MCU (runtime included)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compile and link C/assembly with the MCU's runtime (start-up, exit and console through "
                    "tohost) into one ELF that runs on Spike and on the RTL.",
        epilog="examples:\n"
               "  edge-sdk cc prog.c -o prog.elf\n"
               "  edge-sdk cc prog.c firmware/kernels/matmul_i8.c -o mm.elf -O 3 --isa base --memory mcu\n"
               "  edge-sdk cc deep.c -o deep.elf --stack-size 256K     # more stack for deep recursion\n\n"
               "The stack sits at the bottom of the data memory: a program that needs more than --stack-size "
               "traps with\na stack-overflow report (`edge-sdk sim` exit status 3) instead of overwriting its "
               "data.\nexit status: 0 the ELF was written; 2 an error (nothing is written then).")
    cc.add_argument("sources", nargs="+", help="C or assembly sources")
    cc.add_argument("-o", dest="output", required=True, help="output ELF")
    cc.add_argument("-O", dest="opt", default="2", choices=["0", "1", "2", "3", "s"], help="optimisation level")
    cc.add_argument("--isa", default="xedge", choices=ISAS, help="custom extensions the code may use: xedge (EDGE_ISA_XEDGE), xdec = xedge + the "
                    "decimating load of the N:M sparse kernels (also EDGE_ISA_XDEC), base = plain RV32IMC")
    cc.add_argument("--memory", default="default", choices=sorted(MEMORY_MAPS), help="memory configuration")
    cc.add_argument("--stack-size", type=_bytes, default=None, metavar="BYTES",
                    help="stack bytes, a multiple of 16 (e.g. 65536 or 64K; default 1/16 of the data memory, at "
                         "most 64K: 64K for --memory default, 16K for mcu)")
    cc.set_defaults(func=_cmd_cc)

    s = sub.add_parser(
        "sim", help="run an ELF on Spike (functional) or the RTL core (cycle-accurate)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run an ELF built by `edge-sdk cc` to its exit: the program's console on stdout, a summary "
                    "line (exit code,\ninstructions, cycles on the RTL) on stderr.",
        epilog="examples:\n"
               "  edge-sdk sim prog.elf                            # Spike\n"
               "  edge-sdk sim prog.elf --sim rtl --json           # cycles and counters as one JSON object\n"
               "  edge-sdk sim prog.elf --sim rtl --max-cycles 5e6 --trace rtl.trace\n"
               "  edge-sdk sim prog.elf --sim rtl --break main --interactive   # the debugger (type help)\n\n"
               f"limits: a program that does not exit is stopped after --max-instructions (default "
               f"{DEFAULT_MAX_INSTRUCTIONS:,}, both\nsimulators), --max-cycles (RTL only; default "
               f"{DEFAULT_MAX_CYCLES:,}) or --timeout seconds of wall time (default {DEFAULT_TIMEOUT_S:g}).\n\n"
               "exit status: 0 the program exited with code 0; 1 it exited with another code (the code itself "
               "is\n`exit_code` in --json); 2 an error of edge-sdk (bad arguments, a missing, corrupt or "
               "truncated ELF, a failed\nbuild); 3 the program trapped (illegal instruction, access fault, stack "
               "overflow: `trap` in --json);\n4 it did not exit within a limit; 5 (--sim cosim) the RTL and Spike "
               "differ.")
    s.add_argument("elf", help="an ELF built by `edge-sdk cc`")
    s.add_argument("--sim", default="spike", choices=["spike", "rtl", "cosim"],
                   help="spike: fast, functional (default); rtl: the Verilated core, cycle-accurate; cosim: both "
                        "in lock step, every retired instruction compared, stopping at the first difference")
    s.add_argument("--max-instructions", type=_count, default=None, metavar="N",
                   help="stop with an error after N executed instructions, on either simulator (default "
                        f"{DEFAULT_MAX_INSTRUCTIONS:,})")
    s.add_argument("--max-cycles", type=_count, default=None, metavar="N",
                   help="RTL and cosim: stop with an error after N core cycles (default "
                        f"{DEFAULT_MAX_CYCLES:,}); Spike models no cycles, use --max-instructions there")
    s.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                   help=f"stop with an error after this much wall time (default {DEFAULT_TIMEOUT_S:g})")
    s.add_argument("--trace", default=None, metavar="FILE",
                   help="write a commit trace (Spike --log-commits format) to FILE")
    s.add_argument("--memory", default="default", choices=sorted(MEMORY_MAPS), help="memory configuration")
    s.add_argument("--json", action="store_true", help="print one JSON object instead of the console")
    s.add_argument("--interactive", action="store_true",
                   help="RTL only: a debugger on stdin (step, continue, regs, mem, counters, disassembly); "
                        "type help")
    s.add_argument("--break", dest="breaks", action="append", default=None, metavar="SYMBOL|ADDR",
                   help="with --interactive: stop before the instruction there (repeatable); the debugger runs "
                        "to the first one reached")
    s.set_defaults(func=_cmd_sim)

    rt = sub.add_parser("runtime", help="WebAssembly runtime prediction with conformal bounds (Pitot-style)")
    rts = rt.add_subparsers(dest="runtime_command", required=True)
    t = rts.add_parser("train", help="train a predictor; prints held-out metrics")
    t.add_argument("--data", default=None, help="dataset directory (data.npz, ifN.npz) or npz file (default: the "
                   "Pitot measurements shipped in edge_sdk/data/pitot, or $EDGE_SDK_DATA/pitot)")
    t.add_argument("-o", dest="output", required=True, help="model file to write")
    t.add_argument("--train-fraction", type=float, default=0.9)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, default=6000, help="optimiser steps (early-stopped on validation)")
    t.add_argument("--model", default="pitot", choices=["pitot", "mlp", "attention"])
    t.set_defaults(func=_cmd_runtime_train)
    e = rts.add_parser("evaluate", help="MAPE, bound coverage and tightness of a model on a dataset")
    e.add_argument("--model", required=True)
    e.add_argument("--data", default=None, help="dataset directory or npz file (default: as for train)")
    e.add_argument("--json", default=None, help="write the metrics to this JSON file")
    e.add_argument("--held-out", action="store_true", help="only the test split the model was trained without")
    e.set_defaults(func=_cmd_runtime_evaluate)
    pr = rts.add_parser("predict", help="runtime and upper bound of one workload on one platform")
    pr.add_argument("--model", required=True)
    pr.add_argument("--workload", required=True)
    pr.add_argument("--platform", required=True)
    pr.add_argument("--with", dest="others", action="append", help="a co-located workload (repeatable)")
    pr.add_argument("--alpha", type=float, default=0.1, help="miscoverage of the bound")
    pr.set_defaults(func=_cmd_runtime_predict)
    c = rts.add_parser("collect", help="measure WebAssembly workloads on the runtimes here (same npz format)")
    c.add_argument("-o", dest="output", required=True, help="output directory")
    c.add_argument("--runtimes", nargs="*", default=None, help="runtimes to use (default: all available)")
    c.add_argument("--budget-minutes", type=float, default=None, help="stop starting new runs after this")
    c.add_argument("--repetitions", type=int, default=3)
    c.add_argument("--sizes", nargs="*", default=None, help="workload sizes (default: small medium large)")
    c.add_argument("--workloads", nargs="*", default=None, help="workload kernels (default: all)")
    c.add_argument("--pairs", type=int, default=2, help="co-located partners measured per workload and runtime")
    c.set_defaults(func=_cmd_runtime_collect)

    le = sub.add_parser("learn", help="Bio-FO forward-only training (--on-device: as firmware on the MCU)")
    le.add_argument("--algo", default="bio-fo", choices=["bio-fo", "bp", "ff", "drtp", "pepita", "bio-fo-conv",
                                                          "bp-conv"],
                    help="bio-fo-conv / bp-conv: 3x3 blocks (--layers = channels) on image datasets")
    le.add_argument("--connectivity", default="local", choices=["local", "conv"],
                    help="bio-fo-conv / bp-conv: locally connected (the paper's) or weight-shared convolutions")
    le.add_argument("--dataset", default="digits", choices=["digits", "mnist", "fashion", "cifar10", "ecg200",
                                                             "ecg5000"])
    le.add_argument("--layers", default="2x32", help="COUNTxWIDTH or comma-separated widths")
    le.add_argument("--epochs", type=int, default=None, help="epochs per layer (default: the algorithm's own, "
                    "e.g. ff 1000 full-batch steps per layer; on-device 5)")
    le.add_argument("--lr", default=None, help="learning rate (default: the algorithm's paper's, e.g. Adam 1e-3 "
                    "for bio-fo and bp, 0.03 for ff, SGD 0.01 for pepita; on-device: SGD, one per layer allowed, "
                    "default normalised by each layer's input size, for any depth)")
    le.add_argument("--batch-size", type=int, default=None, help="host training: samples per step (default: "
                    "the algorithm's own; ff trains on the whole training set at once)")
    le.add_argument("--data", default=None, help="directory holding images/ and ecg/ (default: $EDGE_SDK_DATA, "
                    "else the data shipped in edge_sdk/data)")
    le.add_argument("--seed", type=int, default=0)
    le.add_argument("--on-device", action="store_true", help="train as firmware on the simulated MCU")
    le.add_argument("--sim", default="spike", choices=["spike", "rtl"])
    le.add_argument("--memory", default="default", choices=sorted(MEMORY_MAPS),
                    help="on-device: the memory map the firmware is linked for (mcu: 64 KiB code, 256 KiB data)")
    le.add_argument("--max-train", type=int, default=None, help="use only the first N training samples")
    le.add_argument("--max-test", type=int, default=None, help="use only the first N test samples")
    le.add_argument("--json", default=None, help="write the results to this JSON file")
    le.add_argument("--plot", default=None, help="host training: plot test accuracy per epoch to this PNG")
    le.set_defaults(func=_cmd_learn)

    bench = sub.add_parser("bench", help="benchmarks of the MCU kernels")
    benchs = bench.add_subparsers(dest="bench_command", required=True)
    bk = benchs.add_parser("kernels", help="dense vs N:M sparse (software, xdec) layer kernels, cycles from the RTL",
                           epilog="example: edge-sdk bench kernels --layers resnet8-stack3-conv --patterns 1:8 "
                                  "--json out.json")
    bk.add_argument("--sim", choices=("rtl", "spike"), default="rtl",
                    help="rtl: cycles (default); spike: instruction counts only")
    bk.add_argument("--layers", help="comma-separated layer names (default: all; see --list)")
    bk.add_argument("--patterns", help="comma-separated N:M patterns (default: 1:4,1:8,1:16,2:8,2:16,4:16)")
    bk.add_argument("--json", help="write {\"rows\": [...]} here")
    bk.add_argument("--list", action="store_true", help="name the layers and exit")
    bk.set_defaults(func=_cmd_bench_kernels)

    npu = sub.add_parser("npu", help="edge-NPU models: attention dataflows on a YAML-described NPU")
    npus = npu.add_subparsers(dest="npu_command", required=True)
    at = npus.add_parser("attention", help="search, simulate and numerically check attention schedules")
    at.add_argument("--hw", default="edge.yaml", help="hardware YAML: a path or a shipped config (edge, edge-small)")
    at.add_argument("--workload", default=None, help="a built-in workload or HEADSxSEQ_QxSEQ_KVxDIM")
    at.add_argument("--schedule", default="all", help="all (layerwise, flat, flat-paper, flash, mas-paper, mas), or "
                    "comma-separated names, including the FLAT variants flat-<resident|stream>-<prefetch|block|serial>")
    at.add_argument("--max-evals", type=int, default=96, help="tilings the search may evaluate per schedule")
    at.add_argument("--time-limit", type=float, default=None, help="seconds the search may take per schedule")
    at.add_argument("--seed", type=int, default=0, help="seed of the genetic search and of the random inputs")
    at.add_argument("--objective", default="latency", choices=["latency", "energy", "edp"],
                    help="what the tiling search minimises (default latency; edp = energy x delay)")
    at.add_argument("--real-data", action="store_true", help="MiniLM-L6 only: real Q, K, V from its weights")
    at.add_argument("--check-heads", default="4", help="heads each schedule is executed numerically on: a number "
                    "(default 4) or all")
    at.add_argument("--list-workloads", action="store_true", help="print the built-in workloads and exit")
    at.add_argument("--json", default=None, help="write the report to this JSON file")
    at.add_argument("--plot", default=None, help="draw a Gantt chart of the MAC and VEC streams to this PNG")
    at.set_defaults(func=_cmd_npu_attention)
    me = npus.add_parser("meadow", help="MEADOW: GEMM vs TPHS dataflows with weight packing for one transformer layer",
                         epilog="example: edge-sdk npu meadow --model opt-125m --phase prefill --bandwidth 1,12,51 "
                                "--json out.json --plot out.png")
    me.add_argument("--hw", default="meadow.yaml", help="hardware YAML with PE groups, softmax and unpack units")
    me.add_argument("--model", default="opt-125m", help="opt-125m, opt-1.3b, deit-s, deit-b, minilm-l6 (--list-models)")
    me.add_argument("--phase", default="prefill", choices=["prefill", "decode"])
    me.add_argument("--bandwidth", default="1,3,6,12,25,51", help="off-chip bandwidths in Gbps, comma-separated")
    me.add_argument("--tokens", type=int, default=None, help="prefill: prompt tokens (default: the model's)")
    me.add_argument("--context", type=int, default=128, help="decode: tokens already in the KV cache")
    me.add_argument("--chunk-size", type=int, default=None, help="weights per packed chunk (default: the best "
                    "whose unique matrix fits the unpack unit)")
    me.add_argument("--packet", type=int, default=16, help="chunk IDs per packet")
    me.add_argument("--mode-bits", type=int, default=2, help="mode bits per packet (2^N widths)")
    me.add_argument("--quant", default="channel", choices=["channel", "tensor"], help="int8 per channel or per tensor")
    me.add_argument("--no-check", action="store_true", help="skip the numerical execution (exact: null)")
    me.add_argument("--list-models", action="store_true", help="print the models and exit")
    me.add_argument("--json", default=None, help="write the report to this JSON file")
    me.add_argument("--plot", default=None, help="plot latency over bandwidth and the GEMM/TPHS crossover over "
                    "bandwidth and PE count (runs the PE sweep) to this PNG")
    me.set_defaults(func=_cmd_npu_meadow)

    pr = sub.add_parser("prune", help="N:M magnitude pruning of an ONNX model's conv / FC weights, grouped as the "
                        "sparse kernels read them")
    pr.add_argument("model", help="an ONNX model: float, or QDQ (its integer weights are pruned, scales kept)")
    pr.add_argument("-o", dest="output", required=True, metavar="PRUNED.onnx", help="the pruned model")
    pr.add_argument("--pattern", required=True, metavar="N:M",
                    help="at most N non-zero weights in every group of M: 1:4, 1:8, 1:16, 2:8, 2:16 or 4:16")
    pr.set_defaults(func=_cmd_prune)

    co = sub.add_parser("compile", help="compile an ONNX model to int8 firmware for the MCU (generated C, ELF, "
                        "report.json in OUT/)")
    co.add_argument("model", help="an ONNX model: float (give --calibration) or quantized (QDQ)")
    co.add_argument("-o", dest="output", required=True, metavar="OUT", help="output directory")
    co.add_argument("--calibration", default=None, metavar="DATA.npz",
                    help="float models: N input samples, one array of shape (N, *input shape without the batch)")
    co.add_argument("--isa", default="xedge", choices=ISAS, help="xedge: the SIMD kernels (default); base: plain "
                    "RV32IMC C kernels; xdec: xedge + the N:M decimating load")
    co.add_argument("--memory", default="default", choices=sorted(MEMORY_MAPS), help="memory map the model must fit")
    co.add_argument("--weights", default="auto", choices=["auto", "ram", "flash"],
                    help="where the constant data (weights, quantization parameters, tables) goes: ram = the data "
                         "memory (no wait states); flash = the code memory (IMEM: frees the data memory, one wait "
                         "state per load on the RTL); auto (default) = RAM when everything fits the data memory, "
                         "else the arrays read least often move to flash until the rest fits")
    co.add_argument("--dense-only", action="store_true",
                    help="never use the N:M sparse kernels (by default a conv / FC layer whose weights follow an N:M "
                         "pattern uses the sparse kernel measured fastest on this ISA)")
    co.set_defaults(func=_cmd_compile)

    rp = sub.add_parser("report", help="a compiled and run model's per-layer table, and a PNG of cycles per layer",
                        epilog="example: edge-sdk report out/ --plot layers.png")
    rp.add_argument("out_dir", metavar="OUT", help="a directory written by `edge-sdk compile` and run with `edge-sdk run`")
    rp.add_argument("--plot", default=None, help="PNG to write (default: OUT/report.png)")
    rp.set_defaults(func=_cmd_report)

    ru = sub.add_parser("run", help="run a compiled model on Spike or the RTL; outputs as onnxruntime returns them")
    ru.add_argument("out_dir", metavar="OUT", help="a directory written by `edge-sdk compile`")
    ru.add_argument("--sim", default="spike", choices=["spike", "rtl"],
                    help="spike: fast, instruction counts (default); rtl: cycle-accurate")
    ru.add_argument("--input", required=True, metavar="X.npy", help="the model's input (its ONNX shape and type: float32, or int8 / uint8 for a model quantized "
                         "at its input)")
    ru.add_argument("--output", default=None, metavar="Y.npy", help="write the output here (float32, dequantized; or the int8 / uint8 "
                         "values of a model quantized at its output, or the int32 sums of a ConvInteger / MatMulInteger output)")
    ru.add_argument("--json", action="store_true", help="print the output and the report as one JSON object")
    ru.set_defaults(func=_cmd_run)

    d = sub.add_parser("demo", help="build the int8 matmul demo and run it on Spike and the RTL (make sim)")
    d.set_defaults(func=_cmd_demo)
    _add_examples(parser)
    return parser


def _add_examples(parser: argparse.ArgumentParser, words: str = "") -> None:
    """Give every subcommand without an epilog of its own the examples of EXAMPLES."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, p in action.choices.items():
                key = f"{words}{name}"
                if key in EXAMPLES and not p.epilog:
                    p.epilog = "examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[key])
                    p.formatter_class = argparse.RawDescriptionHelpFormatter
                _add_examples(p, f"{key} ")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "opt", None) is not None:
        args.opt = f"-O{args.opt}"
    try:
        return args.func(args)
    except (EdgeSdkError, ModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
