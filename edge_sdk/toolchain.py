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


def default_stack_size(memory: str = "default") -> int:
    """Bytes of stack a program gets unless it asks otherwise: 1/16 of the data memory, at most 64 KiB
    (64 KiB in the default configuration, 16 KiB in `mcu`)."""
    return min(64 * 1024, memory_map(memory).dmem_bytes // 16)


def _output_path(output: str | Path) -> Path:
    """The ELF path `-o` names, or an EdgeSdkError when nothing can be written there."""
    output = Path(output)
    if output.is_dir():
        raise EdgeSdkError(f"-o '{output}' is a directory; give the ELF a file name, e.g. '{output / 'prog.elf'}'")
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise EdgeSdkError(f"cannot write '{output}': '{parent}' is a file, not a directory")
            break
    return output


def compile_elf(sources: list[str | Path], output: str | Path, opt: str = "-O2", isa: str = "xedge",
                memory: str = "default", include_dirs: tuple[str | Path, ...] = (),
                defines: dict[str, str | int] | None = None, stack_size: int | None = None) -> Path:
    """Compile and link C/assembly sources with the platform runtime into an ELF for Spike and the RTL.

    Each extension of `isa` (platform.ISAS) defines EDGE_ISA_<EXT>=1 (`xedge`: EDGE_ISA_XEDGE, `xdec`: also
    EDGE_ISA_XDEC) so sources may choose kernels that use its instructions, and marks the ELF with the symbol
    `__edge_ext_<ext>` so the simulators run it on a core that has them; `isa="base"` is plain RV32IMC.
    `stack_size` bytes of stack (default `default_stack_size(memory)`) sit at the bottom of the data memory:
    a program that needs more traps with a stack-overflow report instead of overwriting its data.
    The ELF is written only if every step succeeds.
    """
    if isa not in ISAS:
        raise EdgeSdkError(f"unknown --isa '{isa}'; choose one of: {', '.join(ISAS)}")
    if opt not in ("-O0", "-O1", "-O2", "-O3", "-Os"):
        raise EdgeSdkError(f"unknown optimisation level '{opt}'; use -O0, -O1, -O2, -O3 or -Os")
    mem = memory_map(memory)
    if stack_size is None:
        stack_size = default_stack_size(memory)
    if isinstance(stack_size, bool) or not isinstance(stack_size, int) or stack_size < 256 or stack_size % 16:
        raise EdgeSdkError(f"--stack-size must be a multiple of 16 bytes, at least 256, got {stack_size!r}")
    if stack_size >= mem.dmem_bytes:
        raise EdgeSdkError(f"--stack-size {stack_size} does not fit the {mem.dmem_bytes}-byte data memory of "
                           f"configuration '{mem.name}'")
    paths = [Path(s) for s in sources]
    if not paths:
        raise EdgeSdkError("no source files given")
    for p in paths:
        if p.is_dir():
            raise EdgeSdkError(f"'{p}' is a directory, not a C or assembly source")
        if not p.is_file():
            raise EdgeSdkError(f"source file '{p}' does not exist")
        if p.suffix not in SOURCE_SUFFIXES:
            raise EdgeSdkError(f"'{p}' is not a C or assembly source (.c, .S, .s)")
    output = _output_path(output)
    if any(output.resolve() == p.resolve() for p in paths):
        raise EdgeSdkError(f"-o '{output}' is one of the sources: give the ELF another name, e.g. "
                           f"'{output.with_suffix('.elf')}'")
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
               f"-Wl,--defsym=__stack_size={stack_size}",
               *map(str, RUNTIME_SOURCES), *map(str, paths), "-o", str(tmp_elf)]
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        if proc.returncode != 0:
            raise EdgeSdkError("compilation failed:\n" + proc.stderr.strip())
        _install(tmp_elf, output)
    return output


def _install(built: Path, output: Path) -> None:
    """Copy the built ELF to `output` through a temporary file beside it: either the whole ELF is there
    afterwards or nothing is (an old file of that name stays as it was)."""
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, tmp)
        os.chmod(tmp, 0o755)
        os.replace(tmp, output)
    except OSError as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise EdgeSdkError(f"cannot write the ELF to '{output}': {err.strerror or err}") from None


def allocated_sections(elf: str | Path) -> list[tuple[str, int, int]]:
    """(name, address, size) of every section of a linked ELF that occupies memory (code, data, bss, stack)."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile
    with Path(elf).open("rb") as f:
        return [(s.name, s["sh_addr"], s["sh_size"]) for s in ELFFile(f).iter_sections()
                if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_size"]]
