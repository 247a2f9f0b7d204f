"""`edge_sdk.compile`: an ONNX model -> int8 firmware for the simulated MCU (frontend -> lowering -> C -> GCC)
in an output directory, and the compiled model's `run` on Spike or the RTL.

OUT/ holds model.c and weights.c (generated), model.elf, model.qdq.onnx (the QDQ model the firmware computes:
onnxruntime's reference), model.json (what `run` needs: the input and output quantization and ONNX type, where
the input goes) and report.json (per layer: kernel, MACs, weight bytes and where they are, and after a run its
cycles and instructions; totals: flash = code + the constant data placed there, RAM = the data memory used,
weights by memory, peak activation RAM). It is written into a temporary directory and renamed into place only
when every step succeeded."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from elftools.elf.elffile import ELFFile

from edge_sdk import frontend, lowering
from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering import memory as memory_plan
from edge_sdk.lowering.codegen import ARENA_SYMBOL
from edge_sdk.lowering.program import Program, Tensor
from edge_sdk.lowering.quant import QParams
from edge_sdk.platform import memory_map
from edge_sdk.report import check_output_path, layer_cycles_png, write_json
from edge_sdk.toolchain import allocated_sections, default_stack_size

MANIFEST, REPORT, ELF, QDQ = "model.json", "report.json", "model.elf", "model.qdq.onnx"


def _tensor_json(t: Tensor) -> dict:
    return {"name": t.name, "shape": list(t.shape), "scale": t.q.scale, "zero_point": t.q.zero_point,
            "order": list(t.order)}


def _tensor(d: dict) -> Tensor:
    """The tensor a manifest describes (its storage order: HWC / row-major by default, as compiled before it was
    recorded; stored int32 for an int32 ONNX type, else int8)."""
    return Tensor(d["name"], tuple(d["shape"]), QParams(d["scale"], d["zero_point"]),
                  perm=tuple(d["order"]) if "order" in d else None,
                  dtype="int32" if d.get("dtype") == "int32" else "int8")


def _elf_sizes(elf: Path, memory: str) -> tuple[int, int, int]:
    """Bytes the ELF occupies in the code memory (IMEM) as code and as constant data (the .flash section), and
    in the data memory (everything else, the stack too)."""
    mem = memory_map(memory)
    sections = allocated_sections(elf)
    imem = [(name, size) for name, addr, size in sections if mem.imem_base <= addr < mem.imem_base + mem.imem_bytes]
    flash = sum(size for name, size in imem if name == ".flash")
    code = sum(size for _, size in imem) - flash
    return code, flash, sum(size for *_, size in sections) - code - flash


def _where(program: Program, layers) -> str | None:
    """Where the constant data of `layers` is: "ram", "flash", "ram+flash", or None (there is none)."""
    places = {program.in_flash(layer, role) for layer in layers for role in layer.data}
    return None if not places else "ram+flash" if len(places) == 2 else "flash" if True in places else "ram"


def _report(program: Program, title: str, elf: Path, quantized_here: bool) -> dict:
    code, flash_data, data = _elf_sizes(elf, program.memory)
    mem = memory_map(program.memory)
    layers = [{"name": layer.name, "op": layer.op, "kernel": layer.kind, "pattern": layer.pattern,
               "function": layer.function,
               "about": layer.about, "macs": layer.macs, "weight_bytes": layer.weight_bytes,
               "weights_in": _where(program, [layer]),
               "output_shape": list(layer.output.shape), "output_dtype": layer.output.dtype,
               "cycles": None, "instructions": None}
              for layer in program.layers]
    flash_weights = sum(a.nbytes for layer in program.layers for role, a in layer.data.items()
                        if program.in_flash(layer, role))
    weights = sum(layer.weight_bytes for layer in program.layers)
    return {"model": title, "isa": program.isa, "memory": program.memory, "weights": program.weights,
            "quantization": "calibrated by the compiler (quantize_static)" if quantized_here else "QDQ as given",
            "layers": layers,
            "totals": {"layers": len(layers), "macs": sum(layer.macs for layer in program.layers),
                       "weights_in": _where(program, program.layers),
                       "code_bytes": code, "weight_bytes": weights,
                       "flash_weight_bytes": flash_weights, "ram_weight_bytes": weights - flash_weights,
                       "flash_bytes": code + flash_data, "flash_data_bytes": flash_data,
                       "flash_memory_bytes": mem.imem_bytes,
                       "activation_bytes": program.plan.arena_bytes, "stack_bytes": default_stack_size(program.memory),
                       "data_bytes": data, "data_memory_bytes": mem.dmem_bytes},
            "run": None}


def _code_bytes(program: Program, title: str, work: Path) -> int:
    """The size of the firmware's code (IMEM without the .flash data): the program linked with one-element
    stand-ins for its constant arrays (in RAM), so the code memory check knows it before the constant data is
    placed. The code does not depend on where the arrays are (they are addressed absolutely either way)."""
    work.mkdir()
    try:
        memory = program.memory
        try:
            elf = lowering.build(program, work, title, stand_ins=True)
        except EdgeSdkError as err:
            if not _imem_overflow(err) or memory == "default":
                raise
            memory = "default"   # the code alone overflows this map's IMEM: measure it in the biggest one
            elf = lowering.build(program, work, title, stand_ins=True, memory=memory)
        return _elf_sizes(elf, memory)[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _imem_overflow(err: EdgeSdkError) -> bool:
    """The linker's "region `IMEM' overflowed" (or ".text / .flash will not fit in region `IMEM'")."""
    return "IMEM'" in str(err) and ("overflowed" in str(err) or "will not fit" in str(err))


def _build(program: Program, tmp: Path, title: str) -> Path:
    """Place the constant data, check both memories and build the ELF. Placement first with the code's size
    unknown (the arrays alone against IMEM); when `auto` puts some of them in flash, the code's size is
    measured and the placement redone with it; a link that overflows IMEM is reported with the numbers."""
    stack = default_stack_size(program.memory)
    code = None
    try:
        memory_plan.check_fits(program, stack)
    except memory_plan.DoesNotFit as err:
        if "code" not in err.memories:
            raise
        code = _code_bytes(program, title, tmp / "code-size")
        memory_plan.check_fits(program, stack, code)   # raises again, with the code's size in the numbers
    if code is None and program.flash and program.weights == "auto":
        code = _code_bytes(program, title, tmp / "code-size")
        memory_plan.check_fits(program, stack, code)
    try:
        return lowering.build(program, tmp, title)
    except EdgeSdkError as err:
        if not _imem_overflow(err):
            raise
        memory_plan.check_fits(program, stack, code if code is not None else _code_bytes(program, title,
                                                                                          tmp / "code-size"))
        raise


def _out_dir(out_dir: str | Path) -> Path:
    """out_dir as an absolute path, if it is new, empty or an earlier compile output (which is replaced)."""
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise EdgeSdkError(f"-o '{out_dir}' is a file; give a directory for the compiled model")
    if out.is_dir() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise EdgeSdkError(f"'{out_dir}' exists and is not a compiled model directory: give a new or empty directory")
    if not out.parent.is_dir():
        raise EdgeSdkError(f"cannot write '{out_dir}': the directory '{out.parent}' does not exist (create it first)")
    return out


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished tmp directory to out, replacing an earlier compile output there."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def compile(model: str | Path, out_dir: str | Path, calibration: str | Path | np.ndarray | None = None,
            isa: str = "xedge", memory: str = "default", dense_only: bool = False,
            weights: str = "auto") -> CompiledModel:  # noqa: A001
    """Compile `model` (an ONNX file or ModelProto; float with `calibration` data, or QDQ) for `isa` and the
    memory map `memory` into out_dir; the compiled model (`.run(x, sim)`, `.report`). Weight layers whose
    weights follow an N:M pattern use the sparse kernels where the cost model fitted to measured cycles predicts
    them faster at the layer's shape (lowering/sparsity.py), unless `dense_only`; the report names the pattern
    either way. `weights`: where the constant data (weights.c) goes: "ram" (the data memory), "flash" (the code
    memory, IMEM: no data memory taken, a wait state per load on the RTL) or "auto" (RAM when everything fits
    the data memory, else the arrays read least per byte in flash until it does; lowering/memory.py)."""
    out = _out_dir(out_dir)
    lowering.check_target(isa, memory)
    memory_plan.check_weights(weights)     # before the slow frontend
    title = Path(model).name if isinstance(model, (str, Path)) else (model.graph.name or "model")
    qm = frontend.load(model, calibration, lowering.ONNX_OPS, lowering.INTEGER_ONLY_OPS)
    program = lowering.lower(qm.relax, isa, memory, dense_only, weights)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        elf = _build(program, tmp, title)
        (tmp / QDQ).write_bytes(qm.qdq.SerializeToString())
        manifest = {"model": title, "isa": isa, "memory": memory,
                    "input": {**_tensor_json(program.input), "onnx_name": qm.input.name,
                              "dtype": qm.input.dtype, "offset": program.plan.offset(program.input)},
                    "output": {**_tensor_json(program.output), "onnx_name": qm.output.name,
                               "dtype": qm.output.dtype},
                    "layers": [layer.name for layer in program.layers]}
        write_json(manifest, tmp / MANIFEST)
        report = _report(program, title, elf, qm.quantized_here)
        write_json(report, tmp / REPORT)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return CompiledModel(out, manifest, report)


def load(out_dir: str | Path) -> CompiledModel:
    """A compiled model from its output directory."""
    out = Path(out_dir)
    try:
        manifest = json.loads((out / MANIFEST).read_text())
        report = json.loads((out / REPORT).read_text())
    except (OSError, json.JSONDecodeError):
        raise EdgeSdkError(f"'{out_dir}' is not a compiled model directory (no readable {MANIFEST} and {REPORT}); "
                           "make one with `edge-sdk compile MODEL.onnx -o DIR`") from None
    if not (out / ELF).is_file():
        raise EdgeSdkError(f"'{out_dir}' has no {ELF}: compile the model again")
    return CompiledModel(out, manifest, report)


def _write_input(elf: Path, dst: Path, offset: int, data: bytes) -> None:
    """A copy of elf with data at the arena symbol + offset (the arena is in .data, so it is in the file)."""
    image = bytearray(elf.read_bytes())
    with elf.open("rb") as f:
        e = ELFFile(f)
        symbol = e.get_section_by_name(".symtab").get_symbol_by_name(ARENA_SYMBOL)[0]
        section = e.get_section(symbol["st_shndx"])
        at = section["sh_offset"] + symbol["st_value"] - section["sh_addr"] + offset
    image[at:at + len(data)] = data
    dst.write_bytes(bytes(image))


def _parse_console(console: str, layers: int, output_bytes: int) -> tuple[list[tuple[int, int]], bytes]:
    counts, hex_out = {}, None
    for line in console.splitlines():
        fields = line.split()
        if fields[:1] == ["@edge-layer"] and len(fields) == 4:
            counts[int(fields[1])] = (int(fields[2]), int(fields[3]))
        elif fields[:1] == ["@edge-output"] and len(fields) == 2:
            hex_out = fields[1]
    if len(counts) != layers or hex_out is None or len(hex_out) != 2 * output_bytes:
        raise EdgeSdkError("the firmware did not report every layer and its output:\n" + console[-2000:])
    return [counts[k] for k in range(layers)], bytes.fromhex(hex_out)


class CompiledModel:
    """A model compiled into an output directory: `run` it on a simulator, read its `report`."""

    def __init__(self, out_dir: Path, manifest: dict, report: dict):
        self.out_dir, self.manifest, self.report = Path(out_dir), manifest, report
        self.input, self.output = _tensor(manifest["input"]), _tensor(manifest["output"])
        # The ONNX types: float32 (quantized / dequantized on the host) or int8 / uint8 (already quantized: the
        # tensor's quantization is then scale 1 and the storage shift, so the host stores the integers as they are);
        # an output may be int32 (an exact integer sum, stored as int32 and returned as it is).
        self.input_dtype, self.output_dtype = (np.dtype(manifest[k].get("dtype", "float32"))
                                               for k in ("input", "output"))

    def _check_input(self, x: np.ndarray) -> None:
        expected = f"shape {self.input.shape} ({self.input_dtype})"
        if x.shape != self.input.shape or not np.issubdtype(x.dtype, np.number):
            raise EdgeSdkError(f"the model's input '{self.manifest['input']['onnx_name']}' has {expected}; got an "
                               f"array of shape {x.shape} ({x.dtype})")
        if not np.isfinite(x).all():
            raise EdgeSdkError("the input holds NaN or infinite values")
        if self.input_dtype.kind in "iu" and not np.array_equal(x, x.astype(self.input_dtype)):
            raise EdgeSdkError(f"the model's input '{self.manifest['input']['onnx_name']}' is {self.input_dtype} "
                               f"(already quantized); got values that are not {self.input_dtype} integers")

    def run(self, x: np.ndarray, sim: str = "spike") -> np.ndarray:  # noqa: A002 - the SDK's option name
        """The model's output for input x (the ONNX input's shape and type: float32, or int8 / uint8 for a model
        quantized at its input), computed by the firmware on `sim` ("spike" or "rtl"), in the ONNX output's shape
        and type (float32 dequantized, the int8 / uint8 values, or the int32 sums). The report gets each layer's
        cycles (RTL) and instructions; report.json is rewritten."""
        from edge_sdk import sim as simulators
        x = np.asarray(x)
        self._check_input(x)
        stored = self.input.to_storage(self.input.q.quantize(x.astype(np.float32)))
        with tempfile.TemporaryDirectory(prefix="edge-sdk-run-") as tmp:
            elf = Path(tmp) / ELF
            _write_input(self.out_dir / ELF, elf, self.manifest["input"]["offset"], stored.tobytes())
            r = simulators.run(elf, sim, memory=self.manifest["memory"])
        if r.exit_code != 0 or r.trap is not None:
            trap = f", trap: {r.trap}" if r.trap else ""
            raise EdgeSdkError(f"the firmware failed on {sim}: exit code {r.exit_code}{trap}\n{r.console[-2000:]}")
        counts, raw = _parse_console(r.console, len(self.manifest["layers"]), self.output.nbytes)
        for row, (cycles, instructions) in zip(self.report["layers"], counts):
            row["cycles"], row["instructions"] = (cycles if sim == "rtl" else None), instructions
        self.report["run"] = {"sim": sim, "cycles": sum(c for c, _ in counts) if sim == "rtl" else None,
                              "instructions": sum(i for _, i in counts), "sim_seconds": r.sim_seconds}
        write_json(self.report, self.out_dir / REPORT)
        stored = self.output.from_storage(np.frombuffer(raw, np.dtype(self.output.dtype).newbyteorder("<")))
        if self.output.dtype == "int32":
            return stored.astype(np.int32)
        return self.output.q.dequantize(stored).astype(self.output_dtype)

    def reference(self, x: np.ndarray) -> np.ndarray:
        """onnxruntime's output for x on the QDQ model the firmware computes (graph optimizations off)."""
        import onnx
        x = np.asarray(x)
        self._check_input(x)
        return frontend.reference(onnx.load(self.out_dir / QDQ), x.astype(self.input_dtype))


def table(report: dict) -> str:
    """The report as a table for people."""
    measured = report["run"] is not None
    unit = "cycles" if measured and report["run"]["sim"] == "rtl" else "instructions"
    head = f"{'layer':<22} {'kernel':<16} {'function':<18} {'MACs':>10} {'weights B':>10} {'in':<9}"
    lines = [head + (f" {unit:>13}" if measured else ""), "-" * (len(head) + (14 if measured else 0))]
    for row in report["layers"]:
        kernel = row["kernel"] + (f" {row['pattern']}" if row.get("pattern") else "")
        line = (f"{row['name']:<22} {kernel:<16} {row['function']:<18} {row['macs']:>10,} {row['weight_bytes']:>10,} "
                f"{row.get('weights_in') or '':<9}")
        if measured:
            line += f" {row['cycles' if unit == 'cycles' else 'instructions']:>13,}"
        lines.append(line)
    t = report["totals"]
    options = f"(--isa {report['isa']}, --memory {report['memory']}, --weights {report.get('weights', 'ram')})"
    if "flash_bytes" not in t:   # a report written before weights could go to flash: all in RAM
        t = {**t, "flash_bytes": t["code_bytes"], "flash_weight_bytes": 0, "ram_weight_bytes": t["weight_bytes"],
             "flash_memory_bytes": None, "weights_in": "ram" if t["weight_bytes"] else None}
    of_flash = f" of {t['flash_memory_bytes']:,}" if t["flash_memory_bytes"] else ""
    split = f"{t['flash_weight_bytes']:,} B in flash, {t['ram_weight_bytes']:,} B in RAM"
    where = {"ram": "all in RAM", "flash": "all in flash", None: "none", "ram+flash": split}[t["weights_in"]]
    lines.append(f"{t['layers']} layers, {t['macs']:,} MACs; weights {t['weight_bytes']:,} B ({where}) {options}")
    other = t["data_bytes"] - t["activation_bytes"] - t["ram_weight_bytes"] - t["stack_bytes"]
    lines.append(f"flash (code memory) {t['flash_bytes']:,}{of_flash} B used: code {t['code_bytes']:,} + constant data "
                 f"{t['flash_bytes'] - t['code_bytes']:,}; RAM (data memory) {t['data_bytes']:,} of "
                 f"{t['data_memory_bytes']:,} B used: activations {t['activation_bytes']:,} + weights "
                 f"{t['ram_weight_bytes']:,} + stack {t['stack_bytes']:,} + runtime and layer descriptors {other:,}")
    if measured:
        r = report["run"]
        total = r["cycles"] if unit == "cycles" else r["instructions"]
        lines.append(f"on {r['sim']}: {total:,} {unit} in all layers")
    return "\n".join(lines)


def load_input(path: str | Path) -> np.ndarray:
    """An input array from a .npy file."""
    p = Path(path)
    if not p.is_file():
        raise EdgeSdkError(f"input file '{path}' does not exist")
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise EdgeSdkError(f"'{path}' is not a .npy file: {err}") from None


def report_saved(out_dir: str | Path, plot: str | Path | None = None) -> tuple[str, Path]:
    """`edge-sdk report`: the table of a compiled model and its per-layer PNG (default OUT/report.png);
    the model must have been run (`edge-sdk run`) so the report holds per-layer counts."""
    compiled = load(out_dir)
    if compiled.report.get("run") is None:
        raise EdgeSdkError(f"'{out_dir}' has no per-layer counts yet: run it first "
                           f"(`edge-sdk run {out_dir} --sim rtl --input X.npy`)")
    target = Path(plot) if plot else compiled.out_dir / "report.png"
    check_output_path(target, "--plot")
    return table(compiled.report), layer_cycles_png(compiled.report, target)


def run_saved(out_dir: str | Path, input_path: str | Path, sim_name: str, output_path: str | Path | None) -> dict:
    """`edge-sdk run`: the compiled model in out_dir on the input in input_path; the output saved as .npy."""
    compiled = load(out_dir)
    check_output_path(output_path, "--output")
    y = compiled.run(load_input(input_path), sim_name)
    if output_path is not None:
        tmp = Path(output_path).with_name(f".{Path(output_path).name}.{os.getpid()}.tmp.npy")
        np.save(tmp, y)
        os.replace(tmp, output_path)
    return {"output": y.tolist(), "argmax": int(np.argmax(y)), "report": compiled.report}

