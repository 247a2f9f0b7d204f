"""The static memory plan: every activation buffer (the model's input and output, each layer's output, each
layer's scratch) gets an offset in one arena, buffers whose lifetimes overlap never overlap in memory, and
buffers that are never live at the same time share bytes (greedy by size, each placed at the lowest offset
free for its lifetime). Then the check that the program fits the memory map's data memory."""
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
    return weight_bytes + arena_bytes + stack_bytes + RUNTIME_DATA_BYTES


def check_fits(program: Program, stack_bytes: int) -> None:
    """An EdgeSdkError with the numbers when weights, arena, stack and runtime exceed the data memory."""
    mem = memory_map(program.memory)
    weights = sum(layer.weight_bytes for layer in program.layers)
    p = program.plan
    needed = data_bytes(weights, p.arena_bytes, stack_bytes)
    if needed <= mem.dmem_bytes:
        return
    largest = max(p.buffers, key=lambda b: b.size)
    heaviest = max(program.layers, key=lambda layer: layer.weight_bytes)
    at = "before the first layer" if p.peak_step < 0 else \
        "after the last layer" if p.peak_step >= len(program.layers) else f"at layer {program.layers[p.peak_step].name}"
    raise EdgeSdkError(
        f"the model does not fit the '{mem.name}' memory map: it needs {needed:,} bytes of data memory, which has "
        f"{mem.dmem_bytes:,} ({needed - mem.dmem_bytes:,} too many): weights and quantization parameters "
        f"{weights:,} (the most: {heaviest.name}, {heaviest.weight_bytes:,}), activations {p.arena_bytes:,} (peak "
        f"{p.peak_live_bytes:,} live {at}; the largest buffer is {largest.what}, {largest.size:,}), stack "
        f"{stack_bytes:,}, runtime {RUNTIME_DATA_BYTES:,}. Choose a bigger memory map (--memory default) or a "
        "smaller model")
