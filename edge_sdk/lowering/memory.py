"""The static memory plan: every activation buffer (the model's input and output, each layer's output, each
layer's scratch) gets an offset in one arena, buffers whose lifetimes overlap never overlap in memory, and
buffers that are never live at the same time share bytes (greedy by size, each placed at the lowest offset
free for its lifetime). Then where the constant data goes (RAM or flash, `--weights`) and the check that the
program fits both memories of the memory map: code + flash data in IMEM, activations + RAM data + stack in DMEM."""
from __future__ import annotations

from dataclasses import dataclass

from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering.program import Layer, Program, Tensor
from edge_sdk.platform import memory_map

ALIGN = 8
# Data memory the program uses besides weights, arena and stack: tohost/fromhost, the HTIF call block, the
# console line buffers, printf's tables, the layers' structs (measured: about 2.4 KB; rounded up).
RUNTIME_DATA_BYTES = 4096


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


@dataclass
class Buffer:
    what: str            # for people: "conv2d_0's output", "dense_3's scratch"
    size: int
    first: int           # the step that writes it (-1: before the first layer, the input)
    last: int            # the last step that reads it (len(layers): after the last, the output)
    offset: int = 0


@dataclass
class Plan:
    buffers: list[Buffer]
    tensor_buffer: dict[int, Buffer]     # id(buffer tensor) -> its Buffer
    scratch: dict[int, Buffer]           # layer index -> its scratch Buffer
    arena_bytes: int
    peak_step: int                       # the step where the live bytes peak
    peak_live_bytes: int

    def offset(self, t: Tensor) -> int:
        return self.tensor_buffer[id(t.buffer)].offset + t.storage_offset


def plan(source: Tensor, output: Tensor, layers: list[Layer]) -> Plan:
    end = len(layers)
    live: dict[int, Buffer] = {id(source.buffer): Buffer("the model's input", source.buffer.nbytes, -1, -1)}
    scratch = {}
    for step, layer in enumerate(layers):
        for t in layer.inputs:
            live[id(t.buffer)].last = step
        if layer.output.buffer is layer.output:
            live[id(layer.output)] = Buffer(f"{layer.name}'s output", layer.output.nbytes, step, step)
        if layer.scratch_bytes:
            scratch[step] = Buffer(f"{layer.name}'s scratch", layer.scratch_bytes, step, step)
    live[id(output.buffer)].last = end
    buffers = list(live.values()) + list(scratch.values())
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.first)):
        busy = sorted((p.offset, p.offset + _aligned(p.size)) for p in placed if p.first <= b.last and b.first <= p.last)
        offset = 0
        for lo, hi in busy:
            if offset + b.size <= lo:
                break
            offset = max(offset, hi)
        b.offset = offset
        placed.append(b)
    arena = max(_aligned(b.offset + b.size) for b in buffers)
    steps = range(-1, end + 1)
    live_bytes = [sum(b.size for b in buffers if b.first <= s <= b.last) for s in steps]
    peak = max(range(len(live_bytes)), key=live_bytes.__getitem__)
    return Plan(buffers, live, scratch, arena, steps[peak], live_bytes[peak])


def data_bytes(weight_bytes: int, arena_bytes: int, stack_bytes: int) -> int:
    """Data memory (DMEM) the program needs: the constant data placed in RAM, the arena, the stack, the runtime."""
    return weight_bytes + arena_bytes + stack_bytes + RUNTIME_DATA_BYTES


# ----------------------------------------------------------------------------- where the constant data goes
WEIGHT_PLACEMENTS = ("auto", "ram", "flash")


def check_weights(weights) -> None:
    """An EdgeSdkError unless `weights` is one of WEIGHT_PLACEMENTS."""
    if weights not in WEIGHT_PLACEMENTS:
        raise EdgeSdkError(f"unknown --weights '{weights}'; choose one of: {', '.join(WEIGHT_PLACEMENTS)}")
FLASH_ALIGN = 8          # link.ld: `.flash : ALIGN(8)` right after .text in IMEM


class DoesNotFit(EdgeSdkError):
    """The program does not fit its memory map: the message has the numbers; `memories` names the memories that
    overflow ("data", "code")."""

    def __init__(self, message: str, memories: tuple[str, ...]):
        super().__init__(message)
        self.memories = memories


@dataclass(frozen=True, eq=False)
class ConstArray:
    """One constant array of weights.c (weights, packed N:M values / offsets, quantization parameters, tables)."""
    layer: Layer
    role: str
    nbytes: int
    align: int               # its alignment: aligned(4), or its type's own when larger (int64)
    uses_per_byte: float     # how often the layer reads a byte of its constant data per inference (estimate)

    @property
    def key(self) -> tuple[str, str]:
        return (self.layer.name, self.role)

    @property
    def what(self) -> str:
        return f"{self.layer.name}'s {self.role}"


def constant_arrays(program: Program) -> list[ConstArray]:
    """Every constant array of the program, in weights.c's order. Reads per byte: a conv weight byte is read once
    per output pixel, an FC weight byte once, a table entry about once per output element over the table's size:
    (the layer's MACs, or its output elements for a layer without MACs) / its constant bytes."""
    out = []
    for layer in program.layers:
        uses = max(layer.macs, layer.output.nbytes) / max(1, layer.weight_bytes)
        for role, a in layer.data.items():
            out.append(ConstArray(layer, role, a.nbytes, max(4, a.dtype.itemsize), uses))
    return out


def flash_data_bytes(arrays: list[ConstArray]) -> int:
    """Bytes of the .flash section holding `arrays` (each at its alignment, in weights.c's order)."""
    end = 0
    for a in arrays:
        end = -(-end // a.align) * a.align + a.nbytes
    return end


def code_memory_bytes(code_bytes: int, flash: list[ConstArray]) -> int:
    """IMEM the program takes: the code, then (aligned) the .flash section."""
    return -(-code_bytes // FLASH_ALIGN) * FLASH_ALIGN + flash_data_bytes(flash) if flash else code_bytes


def _auto_flash(arrays: list[ConstArray], excess: int, room: int) -> list[ConstArray] | None:
    """`--weights auto`: the arrays to move from the data memory to flash so that `excess` bytes of it are freed,
    none when nothing is in excess. The arrays read least per byte go first (FC weights, read once an inference,
    before conv weights, read once an output pixel; a flash load costs a wait state on the RTL), skipping any that
    would not fit the `room` bytes left in the code memory; then those not needed after all go back to RAM, the
    most-read first. None when no such choice frees enough."""
    if excess <= 0:
        return []
    chosen, freed, used = [], 0, 0
    for a in sorted(arrays, key=lambda a: (a.uses_per_byte, -a.nbytes)):
        if freed >= excess:
            break
        if used + a.nbytes + a.align - 1 <= room:
            chosen.append(a)
            freed, used = freed + a.nbytes, used + a.nbytes + a.align - 1
    if freed < excess:
        return None
    for a in sorted(chosen, key=lambda a: -a.uses_per_byte):
        if freed - a.nbytes >= excess:
            chosen.remove(a)
            freed -= a.nbytes
    return [a for a in arrays if a in chosen]


def _most(arrays: list[ConstArray]) -> str:
    by_layer: dict[str, int] = {}
    for a in arrays:
        by_layer[a.layer.name] = by_layer.get(a.layer.name, 0) + a.nbytes
    name = max(by_layer, key=by_layer.__getitem__)
    return f"the most: {name}, {by_layer[name]:,}"


def _data_memory(program: Program, ram: list[ConstArray], stack_bytes: int) -> tuple[int, str]:
    """Data memory needed with `ram` in RAM, and what it is made of."""
    mem, p = memory_map(program.memory), program.plan
    weights = sum(a.nbytes for a in ram)
    needed = data_bytes(weights, p.arena_bytes, stack_bytes)
    largest = max(p.buffers, key=lambda b: b.size)
    at = "before the first layer" if p.peak_step < 0 else \
        "after the last layer" if p.peak_step >= len(program.layers) else f"at layer {program.layers[p.peak_step].name}"
    in_flash = " in RAM" if len(ram) < sum(len(layer.data) for layer in program.layers) else ""
    text = (f"it needs {needed:,} bytes of data memory, which has {mem.dmem_bytes:,} (DMEM; "
            f"{abs(needed - mem.dmem_bytes):,} {'too many' if needed > mem.dmem_bytes else 'free'}): weights and "
            f"quantization parameters{in_flash} {weights:,}{f' ({_most(ram)})' if ram else ''}, activations "
            f"{p.arena_bytes:,} (peak {p.peak_live_bytes:,} live {at}; the largest buffer is {largest.what}, "
            f"{largest.size:,}), stack {stack_bytes:,}, runtime {RUNTIME_DATA_BYTES:,}")
    return needed, text


def _code_memory(program: Program, flash: list[ConstArray], code_bytes: int | None) -> tuple[int, str]:
    """Code memory needed with `flash` in flash (the code's size unknown: at least), and what it is made of."""
    mem = memory_map(program.memory)
    needed = code_memory_bytes(code_bytes or 0, flash)
    weights = f"weights and quantization parameters in flash {flash_data_bytes(flash):,}" + \
        (f" ({_most(flash)})" if flash else "")
    if code_bytes is None:
        return needed, (f"it needs more than {needed:,} bytes of code memory, which has {mem.imem_bytes:,} "
                        f"(IMEM): {weights}, and the code")
    return needed, (f"it needs {needed:,} bytes of code memory, which has {mem.imem_bytes:,} (IMEM; "
                    f"{abs(needed - mem.imem_bytes):,} {'too many' if needed > mem.imem_bytes else 'free'}): code "
                    f"{code_bytes:,}, {weights}")


def check_fits(program: Program, stack_bytes: int, code_bytes: int | None = None) -> None:
    """Place the program's constant arrays as `program.weights` asks (sets `program.flash`) and check both
    memories: the code and the flash data against the code memory (IMEM), the activation arena, the data in RAM,
    the stack and the runtime against the data memory (DMEM). `code_bytes`: the code's size (measured on a linked
    ELF); None before linking, when only the flash data is counted against IMEM. An EdgeSdkError with the
    numbers (which memory, needed and available, the largest contributors) when the program does not fit.

    ram: every array in the data memory. flash: every array in the code memory. auto: in the data memory when
    everything fits there (ram's result, no flash wait states); else the arrays read least per byte move to
    flash until the rest fits (_auto_flash)."""
    mem = memory_map(program.memory)
    arrays = constant_arrays(program)
    code_room = mem.imem_bytes - -(-(code_bytes or 0) // FLASH_ALIGN) * FLASH_ALIGN
    all_ram, _ = _data_memory(program, arrays, stack_bytes)
    auto = _auto_flash(arrays, all_ram - mem.dmem_bytes, code_room)
    flash = {"ram": [], "flash": arrays, "auto": auto if auto is not None else []}[program.weights]
    program.flash = frozenset(a.key for a in flash)
    ram = [a for a in arrays if a not in flash]
    dmem_needed, dmem_text = _data_memory(program, ram, stack_bytes)
    imem_needed, imem_text = _code_memory(program, flash, code_bytes)
    dmem_over, imem_over = dmem_needed > mem.dmem_bytes, imem_needed > mem.imem_bytes
    if not (dmem_over or imem_over or (program.weights == "auto" and auto is None)):
        return
    head = f"the model does not fit the '{mem.name}' memory map: "
    tail = " Choose a bigger memory map (--memory default) or a smaller model"
    floor = data_bytes(0, program.plan.arena_bytes, stack_bytes)
    if program.weights == "auto" and floor > mem.dmem_bytes:
        raise DoesNotFit(f"{head}{dmem_text}; without any weights the activations, stack and runtime alone need "
                         f"{floor:,}, wherever the weights are.{tail}", ("data",))
    if program.weights == "auto":
        # Neither memory nor a split of the arrays between them holds it.
        _, flash_text = _code_memory(program, arrays, code_bytes)
        total = (code_bytes or 0) + all_ram
        both = mem.imem_bytes + mem.dmem_bytes
        split = (f"together, code, weights, activations, stack and runtime need {total:,} of the {both:,} bytes of "
                 "both" + ("" if code_bytes is not None else " (the code not counted)")) if total > both else \
            (f"no split of its constant arrays between the two fits either: {all_ram - mem.dmem_bytes:,} bytes of "
             f"them would have to leave the data memory, the code memory has {code_room:,} free"
             + (" beside the code" if code_bytes is not None else " (less the code)") + ", and the largest arrays are "
             + ", ".join(f"{a.what} {a.nbytes:,}" for a in sorted(arrays, key=lambda a: -a.nbytes)[:3]))
        raise DoesNotFit(f"{head}{dmem_text}; with its weights in flash (--weights flash) {flash_text}; {split}."
                         + tail, ("data", "code"))
    parts = ([dmem_text] if dmem_over else []) + ([imem_text] if imem_over else [])
    hint = ""
    if program.weights == "ram" and dmem_over and auto:
        hint = (f" With --weights auto, {sum(a.nbytes for a in auto):,} bytes of them would go to flash (the code "
                f"memory, {mem.imem_bytes:,} bytes, which they share with the code).")
    elif program.weights == "flash" and imem_over and not dmem_over and all_ram <= mem.dmem_bytes:
        hint = " They fit the data memory: --weights ram or auto."
    raise DoesNotFit(f"{head}{'; and '.join(parts)} (--weights {program.weights}).{hint}{tail}",
                     ("data",) * dmem_over + ("code",) * imem_over)
