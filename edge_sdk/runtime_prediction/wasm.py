"""WebAssembly workloads: build them from C (clang --target=wasm32, wasm-ld; freestanding, no WASI needed) and
count their opcodes (the workload side features, log(1 + count) like Pitot's; ours are static counts of the
module's code section, Pitot's were counted during execution)."""
from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

from edge_sdk.errors import EdgeSdkError

HERE = Path(__file__).resolve().parent
WORKLOAD_DIR = HERE / "workloads"
KERNEL_DIR = HERE.parents[1] / "firmware" / "kernels"
INCLUDE_DIR = HERE.parents[1] / "firmware" / "include"
# SIZE for each size class; the kernels scale as SIZE^3 (gemm, floyd-warshall, dnn), SIZE^3 / 4 (jacobi),
# SIZE log SIZE (sort) or SIZE (hash).
SIZES = {
    "gemm_f32": {"tiny": 8, "small": 64, "medium": 128, "large": 256},
    "jacobi2d": {"tiny": 8, "small": 64, "medium": 128, "large": 256},
    "sort_int": {"tiny": 8, "small": 256, "medium": 1024, "large": 4096},
    "hash_mix": {"tiny": 8, "small": 128, "medium": 512, "large": 2048},
    "floyd_warshall": {"tiny": 8, "small": 64, "medium": 128, "large": 256},
    "dnn_matmul_i8": {"tiny": 8, "small": 64, "medium": 128, "large": 256},
}
EXTRA_SOURCES = {"dnn_matmul_i8": [KERNEL_DIR / "matmul_i8.c"]}


def clang() -> str:
    for name in ("clang", "clang-16", "clang-15", "clang-14"):
        if shutil.which(name):
            return name
    raise EdgeSdkError("clang not found: install the Debian packages clang and lld (or run `make setup`)")


def build(kernel: str, size: str, out_dir: Path) -> Path:
    """Compile one workload to `out_dir/<kernel>@<size>.wasm` exporting `run`."""
    if kernel not in SIZES:
        raise EdgeSdkError(f"unknown workload '{kernel}'; choose from {', '.join(SIZES)}")
    if size not in SIZES[kernel]:
        raise EdgeSdkError(f"unknown size '{size}'; choose from {', '.join(SIZES[kernel])}")
    out = out_dir / f"{kernel}@{size}.wasm"
    cmd = [clang(), "--target=wasm32", "-O2", "-nostdlib", "-fno-builtin", f"-DSIZE={SIZES[kernel][size]}",
           f"-I{INCLUDE_DIR}", "-Wl,--no-entry", "-Wl,--export=run", "-Wl,-z,stack-size=65536",
           str(WORKLOAD_DIR / f"{kernel}.c"), str(WORKLOAD_DIR / "support.c"),
           *map(str, EXTRA_SOURCES.get(kernel, [])), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EdgeSdkError(f"building {kernel}@{size} for wasm32 failed:\n{proc.stderr.strip()}")
    return out


class _Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise EdgeSdkError("truncated WebAssembly module")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    sleb = uleb  # only skipped, never interpreted

    def skip(self, n: int) -> None:
        self.pos += n


_VALTYPES = {0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F, 0x40}
_ONE_ULEB = {0x0C, 0x0D, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xD2}
_FC_IMMEDIATES = {8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}


def _count_body(r: _Reader, end: int, counts: Counter) -> None:
    for _ in range(r.uleb()):  # locals
        r.uleb()
        r.byte()
    while r.pos < end:
        op = r.byte()
        if op == 0xFC:
            sub = r.uleb()
            counts[f"xFC{sub:02X}"] += 1
            for _ in range(_FC_IMMEDIATES.get(sub, 0)):
                r.uleb()
            continue
        if op == 0xFD:
            raise EdgeSdkError("SIMD opcodes are not counted: build workloads without -msimd128")
        counts[f"x{op:02X}"] += 1
        if op in (0x02, 0x03, 0x04):
            if r.data[r.pos] in _VALTYPES:
                r.byte()
            else:
                r.sleb()
        elif op in _ONE_ULEB:
            r.uleb()
        elif op == 0x0E:
            for _ in range(r.uleb() + 1):
                r.uleb()
        elif op == 0x11:
            r.uleb()
            r.uleb()
        elif op == 0x1C:
            for _ in range(r.uleb()):
                r.byte()
        elif 0x28 <= op <= 0x3E:
            r.uleb()
            r.uleb()
        elif op in (0x3F, 0x40, 0xD0):
            r.byte()
        elif op in (0x41, 0x42):
            r.sleb()
        elif op == 0x43:
            r.skip(4)
        elif op == 0x44:
            r.skip(8)
    if r.pos != end:
        raise EdgeSdkError("malformed function body in the WebAssembly module (opcode walk overran it)")


def opcode_counts(module: bytes) -> Counter:
    """Static count of each opcode (`xNN`, `xFCNN` for prefixed ones) in the module's code section."""
    if module[:4] != b"\0asm":
        raise EdgeSdkError("not a WebAssembly module (bad magic)")
    r, counts = _Reader(module, 8), Counter()
    while r.pos < len(module):
        section, size = r.byte(), r.uleb()
        end = r.pos + size
        if section == 10:
            for _ in range(r.uleb()):
                body_size = r.uleb()
                body_end = r.pos + body_size
                _count_body(r, body_end, counts)
                r.pos = body_end
        r.pos = end
    return counts
