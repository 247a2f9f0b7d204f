"""The `edge-sdk cc` / `edge-sdk sim` command line, including every bad-input path: one clear error, a
non-zero exit, no traceback and no half-written output."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edge_sdk.toolchain import FIRMWARE
from tests.conftest import SIMS


def cli(*args, check_traceback=True):
    proc = subprocess.run([sys.executable, "-m", "edge_sdk.cli", *map(str, args)], capture_output=True, text=True)
    if check_traceback:
        assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def hello_elf(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "hello.elf"
    proc = cli("cc", FIRMWARE / "apps" / "hello.c", "-o", out, "-O", "s")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize("backend", SIMS)
def test_sim_json(hello_elf, backend):
    proc = cli("sim", hello_elf, "--sim", backend, "--json")
    assert proc.returncode == 0
    result = json.loads(proc.stdout)
    assert {"exit_code", "cycles", "instret", "console", "sim_seconds"} <= set(result)
    assert result["exit_code"] == 0 and "heap ok" in result["console"]
    assert (result["cycles"] is None) == (backend == "spike")


def test_sim_prints_console_and_trace(hello_elf, tmp_path):
    trace = tmp_path / "rtl.trace"
    proc = cli("sim", hello_elf, "--sim", "rtl", "--trace", trace)
    assert proc.returncode == 0 and proc.stdout.startswith("sorted:")
    assert "cycles" in proc.stderr
    first = trace.read_text().splitlines()[0]
    assert first.startswith("core   0: 3 0x80000000 (")


def _c_program(tmp_path, name, body):
    src = tmp_path / f"{name}.c"
    src.write_text(body)
    elf = tmp_path / f"{name}.elf"
    assert cli("cc", src, "-o", elf).returncode == 0
    return elf


@pytest.mark.parametrize("backend", SIMS)
def test_program_that_never_exits(tmp_path, backend):
    elf = _c_program(tmp_path, "loop", "int main(void) { for (;;) { __asm__ volatile(\"\"); } }\n")
    proc = cli("sim", elf, "--sim", backend, "--max-cycles", "200000")
    assert proc.returncode == 2
    assert "did not exit within 200000" in proc.stderr and "--max-cycles" in proc.stderr


@pytest.mark.parametrize("backend", SIMS)
def test_illegal_instruction(tmp_path, backend):
    elf = _c_program(tmp_path, "illegal", 'int main(void) { __asm__ volatile(".insn r 0x0b, 7, 0x7f, x0, x0, x0"); '
                                          'return 0; }\n')
    proc = cli("sim", elf, "--sim", backend)
    assert proc.returncode == 128 + 2
    assert "illegal instruction at pc 0x8" in proc.stderr and "(instruction 0xfe00700b)" in proc.stderr


def test_missing_elf(tmp_path):
    proc = cli("sim", tmp_path / "nope.elf")
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "edge-sdk cc" in proc.stderr


def test_corrupt_elf(tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF" + os.urandom(60))
    proc = cli("sim", bad)
    assert proc.returncode == 2 and "not a valid ELF" in proc.stderr


def test_elf_for_wrong_architecture():
    proc = cli("sim", os.path.realpath(sys.executable), "--sim", "rtl")
    assert proc.returncode == 2 and "64-bit ELF" in proc.stderr and "32-bit RISC-V" in proc.stderr


def test_elf_without_runtime(tmp_path):
    src = tmp_path / "bare.S"
    src.write_text(".globl _start\n_start: j _start\n")
    elf = tmp_path / "bare.elf"
    subprocess.run(["riscv64-unknown-elf-gcc", "-march=rv32imc", "-mabi=ilp32", "-nostdlib",
                    "-Wl,-Ttext=0x80000000", str(src), "-o", str(elf)], check=True)
    proc = cli("sim", elf)
    assert proc.returncode == 2 and "no 'tohost' symbol" in proc.stderr


def test_compile_error_leaves_no_output(tmp_path):
    src = tmp_path / "broken.c"
    src.write_text("int main(void) { return undefined_name; }\n")
    out = tmp_path / "broken.elf"
    proc = cli("cc", src, "-o", out)
    assert proc.returncode == 2 and "compilation failed" in proc.stderr and "undefined_name" in proc.stderr
    assert not out.exists()


def test_bad_arguments(tmp_path):
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    assert "not a C or assembly source" in cli("cc", txt, "-o", tmp_path / "x.elf").stderr
    assert "does not exist" in cli("cc", tmp_path / "missing.c", "-o", tmp_path / "x.elf").stderr
    proc = cli("sim", tmp_path / "x.elf", "--max-cycles", "0")
    assert proc.returncode == 2 and "positive" in proc.stderr
    proc = cli("sim", tmp_path / "x.elf", "--sim", "qemu", check_traceback=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
