"""The compiler's second stage: a QDQ Relax module -> kernel calls (pattern table, kernel selection), a static
memory plan, C, and the ELF (the RISC-V GCC through edge_sdk.toolchain)."""
from __future__ import annotations

from pathlib import Path

from edge_sdk.errors import EdgeSdkError
from edge_sdk.lowering import codegen, memory, transformer
from edge_sdk.lowering.graph import select_layers
from edge_sdk.lowering.partition import partition
from edge_sdk.lowering.patterns import INTEGER_ONLY_OPS, ONNX_OPS
from edge_sdk.lowering.program import Program
from edge_sdk.platform import ISAS, memory_map
from edge_sdk.toolchain import FIRMWARE, compile_elf

KERNEL_SOURCES = tuple(FIRMWARE / "kernels" / f for f in ("nn_dense_i8.c", "nn_sparse_i8.c", "matmul_i8.c",
                                                           "nn_glue_i8.c", "nn_transformer_i8.c", "nn_int32.c"))

__all__ = ["INTEGER_ONLY_OPS", "ONNX_OPS", "Program", "build", "check_target", "lower"]


def check_target(isa: str, memory_name: str) -> None:
    """An EdgeSdkError for an unknown ISA or memory map."""
    if isa not in ISAS:
        raise EdgeSdkError(f"unknown --isa '{isa}'; choose one of: {', '.join(ISAS)}")
    memory_map(memory_name)


def lower(mod, isa: str = "xedge", memory_name: str = "default", dense_only: bool = False,
          weights: str = "auto") -> Program:
    """Partition `mod`, select a kernel per layer (N:M sparse ones where the weights allow and measurements say
    they are faster, unless `dense_only`) and plan the activation memory; the constant data goes where `weights`
    says ("ram", "flash", "auto"), placed and checked against `memory_name` by memory.check_fits (before the
    build: the compiler's, which also measures the code's size when it needs it)."""
    check_target(isa, memory_name)
    memory.check_weights(weights)
    source, output, layers = select_layers(partition(mod), isa, sparse=not dense_only)
    layers = transformer.fuse_lookup_tables(layers, output)
    program = Program(source, output, layers, isa, memory_name, memory.plan(source, output, layers))
    program.weights = weights
    return program


def build(program: Program, out_dir: Path, title: str, stand_ins: bool = False, memory: str | None = None) -> Path:
    """Write the generated C into out_dir and compile it with the kernels into out_dir/model.elf, for the program's
    memory map or `memory`; with stand_ins, one-element stand-ins replace the constant arrays (codegen.generate)."""
    sources = []
    for name, text in codegen.generate(program, title, stand_ins=stand_ins).items():
        (out_dir / name).write_text(text)
        sources.append(out_dir / name)
    return compile_elf([*sources, *KERNEL_SOURCES], out_dir / "model.elf", isa=program.isa,
                       memory=memory or program.memory)
