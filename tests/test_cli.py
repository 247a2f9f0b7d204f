"""The `edge-sdk cc` / `edge-sdk sim` command line, including every bad-input path: one clear error, a
non-zero exit, no traceback and no half-written output."""
from __future__ import annotations

import json
import os
import struct
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


LOOP = "int main(void) { for (;;) { __asm__ volatile(\"\"); } }\n"


@pytest.fixture(scope="module")
def loop_elf(tmp_path_factory):
    return _c_program(tmp_path_factory.mktemp("loop"), "loop", LOOP)


@pytest.mark.parametrize("backend", SIMS)
def test_program_that_never_exits(loop_elf, backend):
    """--max-instructions means the same on both simulators; --max-cycles is the RTL's (cycles)."""
    proc = cli("sim", loop_elf, "--sim", backend, "--max-instructions", "200000")
    assert proc.returncode == 4, proc.stderr
    assert "did not exit within 200000 instructions" in proc.stderr and "--max-instructions" in proc.stderr
    if backend == "rtl":
        proc = cli("sim", loop_elf, "--sim", "rtl", "--max-cycles", "2e5")
        assert proc.returncode == 4
        assert "did not exit within 200000 cycles on the RTL" in proc.stderr and "--max-cycles" in proc.stderr


def test_max_cycles_is_for_the_rtl_only(loop_elf):
    proc = cli("sim", loop_elf, "--sim", "spike", "--max-cycles", "200000")
    assert proc.returncode == 2
    assert "only the RTL models" in proc.stderr and "--max-instructions" in proc.stderr


def test_default_instruction_limit(loop_elf):
    """Without any flag a program that never exits is stopped (Spike: 10^9 instructions, a few seconds)."""
    proc = cli("sim", loop_elf, "--json")
    assert proc.returncode == 4, proc.stderr
    assert "did not exit within 1000000000 instructions" in proc.stderr and "--max-instructions" in proc.stderr
    assert json.loads(proc.stdout) == {"error": proc.stderr.strip()[len("error: "):], "limit": "max-instructions",
                                       "process_status": 4}


@pytest.mark.parametrize("limit", ["DEFAULT_MAX_CYCLES", "DEFAULT_MAX_INSTRUCTIONS"])
def test_default_limits_on_the_rtl(loop_elf, monkeypatch, capsys, limit):
    """The RTL gets the same defaults (made small here: the real ones take minutes of RTL time)."""
    from edge_sdk import cli as cli_module
    monkeypatch.setattr(cli_module, limit, 300_000)
    assert cli_module.main(["sim", str(loop_elf), "--sim", "rtl"]) == 4
    err = capsys.readouterr().err
    flag = "--max-cycles" if limit == "DEFAULT_MAX_CYCLES" else "--max-instructions"
    assert "did not exit within 300000" in err and flag in err


@pytest.mark.parametrize("backend", SIMS)
def test_wall_time_limit(loop_elf, backend):
    proc = cli("sim", loop_elf, "--sim", backend, "--max-instructions", "1e15", "--timeout", "1.5",
               *(["--max-cycles", "1e15"] if backend == "rtl" else []))
    assert proc.returncode == 4, proc.stderr
    assert "did not exit within 1.5 s of wall time" in proc.stderr and "--timeout" in proc.stderr


@pytest.mark.parametrize("backend", SIMS)
def test_illegal_instruction(tmp_path, backend):
    elf = _c_program(tmp_path, "illegal", 'int main(void) { __asm__ volatile(".insn r 0x0b, 7, 0x7f, x0, x0, x0"); '
                                          'return 0; }\n')
    proc = cli("sim", elf, "--sim", backend)
    assert proc.returncode == 3            # the program trapped
    assert "illegal instruction at pc 0x8" in proc.stderr and "(instruction 0xfe00700b)" in proc.stderr
    result = json.loads(cli("sim", elf, "--sim", backend, "--json").stdout)
    assert result["exit_code"] == 128 + 2 and result["trap"]["mcause"] == 2 and result["process_status"] == 3
    assert result["trap"]["stack_overflow"] is False


@pytest.mark.parametrize("backend", SIMS)
def test_non_utf8_console(tmp_path, backend):
    """Any byte a program prints comes through; the ones that are not UTF-8 are shown escaped."""
    elf = _c_program(tmp_path, "bytes", '#include <stdio.h>\nint main(void) { printf("raw \\xff\\xfe\\x80 '
                                        'utf8 \\xc3\\xa9 end\\n"); return 0; }\n')
    proc = cli("sim", elf, "--sim", backend)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "raw \\xff\\xfe\\x80 utf8 \u00e9 end\n"
    result = json.loads(cli("sim", elf, "--sim", backend, "--json").stdout)
    assert result["console"] == "raw \\xff\\xfe\\x80 utf8 \u00e9 end\n" and result["exit_code"] == 0


@pytest.mark.parametrize("backend", SIMS)
def test_exit_codes_stay_apart(tmp_path, backend):
    """A program's exit code 2 is not edge-sdk's error status 2: sim exits 1 and keeps the code in --json."""
    elf = _c_program(tmp_path, "two", "int main(void) { return 2; }\n")
    proc = cli("sim", elf, "--sim", backend)
    assert proc.returncode == 1 and "exit code 2" in proc.stderr
    result = json.loads(cli("sim", elf, "--sim", backend, "--json").stdout)
    assert result["exit_code"] == 2 and result["trap"] is None and result["process_status"] == 1
    assert cli("sim", tmp_path / "missing.elf", "--sim", backend).returncode == 2


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


def test_cc_output_that_cannot_be_written(tmp_path):
    src = tmp_path / "ok.c"
    src.write_text("int main(void) { return 0; }\n")
    proc = cli("cc", src, "-o", tmp_path)                        # a directory
    assert proc.returncode == 2 and "is a directory" in proc.stderr and "file name" in proc.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    proc = cli("cc", src, "-o", notes / "ok.elf")                # under a file
    assert proc.returncode == 2 and "is a file, not a directory" in proc.stderr
    proc = cli("cc", src, "-o", "/sys/edge-sdk-test.elf")        # unwritable, even for root
    assert proc.returncode == 2 and "cannot write the ELF to '/sys/edge-sdk-test.elf'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert cli("cc", tmp_path, "-o", tmp_path / "x.elf").returncode == 2      # a directory as a source
    proc = cli("cc", src, "-o", src)                                          # would overwrite the source
    assert proc.returncode == 2 and "is one of the sources" in proc.stderr and src.read_text().startswith("int")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "ok.c"]  # nothing half-written


@pytest.mark.parametrize("backend", SIMS)
def test_trace_that_cannot_be_written(hello_elf, tmp_path, backend):
    proc = cli("sim", hello_elf, "--sim", backend, "--trace", tmp_path / "missing" / "run.trace")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: cannot write the trace to '{tmp_path / 'missing' / 'run.trace'}': the "
                                   f"directory '{tmp_path / 'missing'}' does not exist (create it first)")
    proc = cli("sim", hello_elf, "--sim", backend, "--trace", tmp_path)
    assert proc.returncode == 2 and "is a directory" in proc.stderr
    trace = tmp_path / f"{backend}.trace"
    assert cli("sim", hello_elf, "--sim", backend, "--trace", trace).returncode == 0
    assert trace.read_text().startswith("core   0: 3 0x")


@pytest.mark.parametrize("backend", SIMS)
def test_truncated_elf(hello_elf, tmp_path, backend):
    """A file cut short, or a segment that claims bytes beyond the end of the file: one clear error (Spike's
    loader used to stop on a C++ assertion)."""
    data = hello_elf.read_bytes()
    cut = tmp_path / "cut.elf"
    cut.write_bytes(data[:len(data) // 8])                  # inside the code segment
    proc = cli("sim", cut, "--sim", backend)
    assert proc.returncode == 2 and "is truncated" in proc.stderr and "edge-sdk cc" in proc.stderr
    assert "ends at byte" in proc.stderr and f"the end of the file ({len(data) // 8} bytes)" in proc.stderr
    # Section headers intact, one segment longer than the file: what reached Spike's assertion before.
    damaged = bytearray(data)
    phoff, phentsize, phnum = struct.unpack_from("<I", data, 28)[0], *struct.unpack_from("<HH", data, 42)
    for k in range(phnum):
        ph = phoff + k * phentsize
        p_type, p_offset, _, _, p_filesz, p_memsz = struct.unpack_from("<IIIIII", data, ph)
        if p_type == 1 and p_filesz:
            grow = len(data) - p_offset + 4096
            struct.pack_into("<II", damaged, ph + 16, grow, max(grow, p_memsz))
    bad = tmp_path / "beyond.elf"
    bad.write_bytes(bytes(damaged))
    proc = cli("sim", bad, "--sim", backend)
    assert proc.returncode == 2 and "beyond the end of the file" in proc.stderr
    assert "Assertion" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


STACK_PROGRAM = r"""#include <stdio.h>
int data_word = 12345;
__attribute__((noinline)) static int depth(int n) {
  volatile char pad[64];
  pad[n & 63] = (char)n;
  if (n == 0) return 0;
  return depth(n - 1) + pad[n & 63];
}
int main(void) {
  int d = depth(DEPTH);
  printf("depth %d data %d\n", d, data_word);
  return data_word != 12345;
}
"""


@pytest.mark.parametrize("backend", SIMS)
def test_stack_overflow_is_reported(tmp_path, backend):
    """2000 frames of 80 bytes do not fit the default 64 KiB stack: the first access below the stack faults (the
    stack sits at the bottom of the data memory) and sim says it was a stack overflow, before .data is touched."""
    src = tmp_path / "deep.c"
    src.write_text(STACK_PROGRAM.replace("DEPTH", "2000"))
    elf = tmp_path / "deep.elf"
    assert cli("cc", src, "-o", elf).returncode == 0
    proc = cli("sim", elf, "--sim", backend)
    assert proc.returncode == 3 and proc.stdout == ""
    assert "error: stack overflow: the stack pointer 0x8fff" in proc.stderr
    assert "below the bottom (0x90000000) of the 65536-byte stack" in proc.stderr
    assert "store access fault" in proc.stderr and "--stack-size" in proc.stderr
    trap = json.loads(cli("sim", elf, "--sim", backend, "--json").stdout)["trap"]
    assert trap["stack_overflow"] is True and trap["mcause"] == 7 and trap["sp"] < trap["stack_bottom"]
    # The same program with a stack that is big enough runs, and its data is intact.
    big = tmp_path / "deep_big.elf"
    assert cli("cc", src, "-o", big, "--stack-size", "256K").returncode == 0
    proc = cli("sim", big, "--sim", backend)
    assert proc.returncode == 0 and proc.stdout.startswith("depth ") and "data 12345" in proc.stdout


@pytest.mark.parametrize("backend", SIMS)
def test_bad_pointer_is_not_called_a_stack_overflow(tmp_path, backend):
    elf = _c_program(tmp_path, "wild", "int main(void) { *(volatile int *)0x8ff00000 = 1; return 0; }\n")
    proc = cli("sim", elf, "--sim", backend)
    assert proc.returncode == 3
    assert "the program trapped: store access fault" in proc.stderr and "stack overflow" not in proc.stderr


def test_stack_size_arguments(tmp_path):
    src = tmp_path / "ok.c"
    src.write_text("int main(void) { return 0; }\n")
    for bad in ("100", "12x", "64M"):
        proc = cli("cc", src, "-o", tmp_path / "x.elf", "--stack-size", bad)
        assert proc.returncode == 2 and "stack-size" in proc.stderr, bad
    assert not (tmp_path / "x.elf").exists()


def test_first_builds_in_two_processes_do_not_race(tmp_path):
    """Two processes that need the same artefact at once (e.g. the Verilated model, whose --Mdir they would
    share): one builds it, the other waits under the lock and uses it."""
    script = tmp_path / "build.py"
    log = tmp_path / "log"
    script.write_text(f"""
import sys, time
from pathlib import Path
from edge_sdk.build import cached_build
def command(tmp):
    return [sys.executable, "-c", "import sys, time; from pathlib import Path; "
            "log = open({str(log)!r}, 'a'); log.write('start\\\\n'); log.flush(); time.sleep(1.5); "
            "log.write('end\\\\n'); log.flush(); Path(sys.argv[1]).write_text('model')", str(tmp)]
print(cached_build(Path({str(tmp_path / 'out' / 'model')!r}), command, "a model").read_text())
""")
    env = {**os.environ, "PYTHONPATH": str(FIRMWARE.parent)}
    procs = [subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o[0].strip() for o in outs] == ["model", "model"]
    assert log.read_text().split() == ["start", "end"]          # built once, never two at a time


def test_verilated_model_builds_under_the_lock(monkeypatch, tmp_path):
    """The Verilated model's --Mdir is used only by the command cached_build runs under its lock."""
    from edge_sdk.platform import memory_map
    from edge_sdk.sim import rtl
    seen = {}

    def record(out, make_cmd, what, env=None):
        seen["out"], seen["cmd"] = out, make_cmd(tmp_path / "tmp")
        return out

    monkeypatch.setattr(rtl, "cached_build", record)
    rtl.core_library(memory_map("default"))
    mdir = seen["cmd"][seen["cmd"].index("--Mdir") + 1]
    assert mdir.startswith(str(seen["out"].parent)) and seen["out"].name.startswith("libedge-core-default-")


def test_help_is_for_users():
    proc = cli("--help")
    assert proc.returncode == 0
    assert "argument parsing only" not in proc.stdout and "edge-sdk takes neural networks" in proc.stdout
    assert "examples:" in proc.stdout and "exit status" in proc.stdout
    import tomllib
    version = tomllib.loads((FIRMWARE.parent / "pyproject.toml").read_text())["project"]["version"]
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"edge-sdk {version}"


@pytest.mark.parametrize("command", ["cc", "sim", "demo", "learn", "runtime", "runtime train", "runtime evaluate",
                                     "runtime predict", "runtime collect", "bench", "bench kernels", "npu",
                                     "npu attention"])
def test_every_subcommand_help_has_examples(command):
    proc = cli(*command.split(), "--help")
    assert proc.returncode == 0
    epilog = proc.stdout[proc.stdout.index("example"):]
    assert f"edge-sdk {command}" in epilog


def test_readme_using_it_is_true():
    """The README's "Using it" names the flags and the exit statuses `sim --help` has."""
    readme = (FIRMWARE.parent / "README.md").read_text()
    using = readme[readme.index("## Using it"):]
    using = using[:using.index("\n## ", 3)]
    for text in ("--max-instructions", "--max-cycles", "--timeout", "--stack-size", "--version", "stack overflow"):
        assert text in using, text
    for status in range(5):
        assert f"| {status} |" in using, status
    help_text = cli("sim", "--help").stdout
    for flag in ("--max-instructions", "--max-cycles", "--timeout", "--trace", "--json"):
        assert flag in help_text


def test_ctrl_c_is_one_error_line_and_exit_2(tmp_path):
    """SIGINT while a simulation runs: one error line, exit 2, no traceback."""
    import signal
    import time
    src = tmp_path / "spin.c"
    src.write_text("int main(void) { for (;;) { __asm__ volatile(\"\"); } }\n")
    elf = tmp_path / "spin.elf"
    assert subprocess.run([sys.executable, "-m", "edge_sdk.cli", "cc", str(src), "-o", str(elf)]).returncode == 0
    # A one-instruction loop runs at several hundred MIPS on Spike: the default instruction limit can be hit
    # within seconds on a fast machine, so the limit here is far beyond what the sleep lets it reach.
    proc = subprocess.Popen([sys.executable, "-m", "edge_sdk.cli", "sim", str(elf), "--sim", "spike",
                             "--max-instructions", str(10**15), "--timeout", "600"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and err.strip().splitlines()[-1] == "error: interrupted (Ctrl-C)", err
    assert "Traceback" not in err
