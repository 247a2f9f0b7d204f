"""The RISC-V GCC invocation: the one place that knows -march, -mabi and how the runtime is linked."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from edge_sdk.errors import EdgeSdkError
from edge_sdk.platform import EXT_SYMBOL_PREFIX, ISAS, memory_map

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
RUNTIME_SOURCES = (FIRMWARE / "runtime" / "crt0.S", FIRMWARE / "runtime" / "htif.c")
GCC = "riscv64-unknown-elf-gcc"

ARCH_FLAGS = ("-march=rv32imc", "-mabi=ilp32")
C_FLAGS = ("-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-g")
SOURCE_SUFFIXES = {".c", ".S", ".s"}


def gcc() -> str:
    path = shutil.which(GCC)
    if path is None:
        raise EdgeSdkError(f"{GCC} not found: install the Debian packages gcc-riscv64-unknown-elf and "
                           "picolibc-riscv64-unknown-elf (or run `make setup`)")
    return path


def compile_elf(sources: list[str | Path], output: str | Path, opt: str = "-O2", isa: str = "xedge",
                memory: str = "default", include_dirs: tuple[str | Path, ...] = (),
                defines: dict[str, str | int] | None = None) -> Path:
    """Compile and link C/assembly sources with the platform runtime into an ELF for Spike and the RTL.

    Each extension of `isa` (platform.ISAS) defines EDGE_ISA_<EXT>=1 (`xedge`: EDGE_ISA_XEDGE, `xdec`: also
    EDGE_ISA_XDEC) so sources may choose kernels that use its instructions, and marks the ELF with the symbol
    `__edge_ext_<ext>` so the simulators run it on a core that has them; `isa="base"` is plain RV32IMC.
    The ELF is written only if every step succeeds.
    """
    if isa not in ISAS:
        raise EdgeSdkError(f"unknown --isa '{isa}'; choose one of: {', '.join(ISAS)}")
    if opt not in ("-O0", "-O1", "-O2", "-O3", "-Os"):
        raise EdgeSdkError(f"unknown optimisation level '{opt}'; use -O0, -O1, -O2, -O3 or -Os")
    mem = memory_map(memory)
    paths = [Path(s) for s in sources]
    if not paths:
        raise EdgeSdkError("no source files given")
    for p in paths:
        if not p.is_file():
            raise EdgeSdkError(f"source file '{p}' does not exist")
        if p.suffix not in SOURCE_SUFFIXES:
            raise EdgeSdkError(f"'{p}' is not a C or assembly source (.c, .S, .s)")
    output = Path(output)
    defs = dict(defines or {})
    for ext in ISAS[isa]:
        defs[f"EDGE_ISA_{ext.upper()}"] = 1
    ext_marks = [f"-Wl,--defsym={EXT_SYMBOL_PREFIX}{ext}=1" for ext in ISAS[isa]]
    with tempfile.TemporaryDirectory(prefix="edge-sdk-cc-") as tmp:
        (Path(tmp) / "edge_memory.ld").write_text(mem.linker_memory())
        tmp_elf = Path(tmp) / "out.elf"
        cmd = [gcc(), *ARCH_FLAGS, opt, *C_FLAGS, "--specs=picolibc.specs", "-nostartfiles",
               f"-I{FIRMWARE / 'include'}", *(f"-I{d}" for d in include_dirs),
               *(f"-D{k}={v}" for k, v in defs.items()),
               f"-L{tmp}", f"-T{FIRMWARE / 'runtime' / 'link.ld'}", "-Wl,--gc-sections", *ext_marks,
               *map(str, RUNTIME_SOURCES), *map(str, paths), "-o", str(tmp_elf)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise EdgeSdkError("compilation failed:\n" + proc.stderr.strip())
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_elf, output)
        os.chmod(output, 0o755)
    return output
