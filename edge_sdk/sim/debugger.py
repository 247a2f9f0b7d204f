"""`edge-sdk sim ELF --sim rtl --interactive`: a small command-line debugger over RTLCore, reading commands
from stdin (a terminal or a pipe) and printing to stdout."""
from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import TextIO

from edge_sdk.errors import EdgeSdkError
from edge_sdk.sim.result import SimResult, parse_reports
from edge_sdk.sim.rtlcore import RegisterError, RTLCore, register_index

HELP = """\
commands (an empty line repeats the last one):
  s, step [N]        retire N instructions (default 1), then show the next
  c, continue        run to a breakpoint or the program's exit
  cycles N           simulate N clock cycles
  b, break WHERE     stop before the instruction at WHERE (a symbol or an address)
  d, delete WHERE    remove that breakpoint
  info               breakpoints, cycles and instructions so far
  r, regs            the registers
  m, mem WHERE [N]   N bytes (default 64) at WHERE: an address, a symbol or a register (mem sp 32)
  counters           mcycle, minstret and the hpm counters
  x, where           the instruction the core is stopped before, disassembled
  q, quit            leave the debugger
  h, help            this text
The core stops before an instruction: the registers and memory show the state before it executes."""

PROMPT = "(edge) "


class Debugger:
    """Commands over one RTLCore, output to `out`; `continue` runs under `max_cycles` and `max_instructions`
    (counted from reset)."""

    def __init__(self, core: RTLCore, out: TextIO, max_cycles: int | None = None,
                 max_instructions: int | None = None):
        self.core = core
        self.out = out
        self.max_cycles = max_cycles
        self.max_instructions = max_instructions
        self._shown = 0          # console characters printed so far
        self.commands = {"s": self.step, "step": self.step, "c": self.cont, "continue": self.cont,
                         "cycles": self.cycles, "b": self.add_break, "break": self.add_break,
                         "d": self.delete, "delete": self.delete, "info": self.info, "r": self.regs,
                         "regs": self.regs, "m": self.mem, "mem": self.mem, "counters": self.counters,
                         "x": self.show, "where": self.show, "h": self.help, "help": self.help}

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def flush_console(self) -> None:
        """Print what the program wrote since the last call (without the runtime's exit and trap reports)."""
        text = parse_reports(self.core.console)[0]
        if len(text) > self._shown:
            self.out.write(text[self._shown:])
            self._shown = len(text)

    def location(self, addr: int) -> str:
        where = self.core.where(addr)
        return f"0x{addr:08x}" + (f" <{where}>" if where else "")

    def show(self, *_args: str) -> None:
        core = self.core
        if core.exited:
            self.say(f"the program exited with code {core.exit_code} ({core.instret:,} instructions and "
                     f"{core.cycles:,} cycles since reset)")
        elif core.pc is None:
            last = core.last_retired
            self.say(f"between instructions at cycle {core.cycles:,} (last retired: "
                     f"{self.location(last.pc) if last else 'none'})")
        else:
            self.say(f"=> {self.location(core.pc)}: {core.disassemble()}")

    def step(self, count: str = "1") -> None:
        retired = self.core.step(_number(count))
        self.flush_console()
        plural = "s" if retired.cycles != 1 else ""
        self.say(f"retired {self.location(retired.pc)} in {retired.cycles} cycle{plural}")
        self.show()

    def cont(self, *_args: str) -> None:
        stop = self.core.run_until(max_cycles=self.max_cycles, max_instructions=self.max_instructions)
        self.flush_console()
        if stop.reason == "breakpoint":
            self.say(f"stopped at the breakpoint at {self.location(stop.pc)}")
        self.show()

    def cycles(self, count: str = "") -> None:
        n = self.core.step_cycles(_number(_given(count, "cycles needs a count: cycles N")))
        self.flush_console()
        self.say(f"{n} instruction{'s' if n != 1 else ''} retired")
        self.show()

    def add_break(self, where: str = "") -> None:
        addr = self.core.add_breakpoint(_where(_given(where, "break needs a symbol or an address: break main")))
        self.say(f"breakpoint set at {self.location(addr)}")

    def delete(self, where: str = "") -> None:
        addr = self.core.address(_where(_given(where, "delete needs the breakpoint's symbol or address")))
        self.core.remove_breakpoint(addr)
        self.say(f"breakpoint at {self.location(addr)} deleted")

    def info(self, *_args: str) -> None:
        core = self.core
        points = ", ".join(self.location(a) for a in core.breakpoints) or "none"
        self.say(f"breakpoints: {points}\n{core.instret:,} instructions retired, {core.cycles:,} cycles since reset")

    def regs(self, *_args: str) -> None:
        pc = self.core.pc
        self.say(str(self.core.regs))
        where = "(exited)" if self.core.exited else "(between instructions)"
        self.say(f"      pc {self.location(pc) if pc is not None else where}")

    def mem(self, where: str = "", count: str = "64") -> None:
        _given(where, "mem needs an address, a symbol or a register: mem sp 32")
        try:
            addr = self.core.regs[register_index(where)]
        except RegisterError:
            addr = self.core.address(_where(where))
        data = self.core.mem.read(addr, _number(count, zero=True))
        for off in range(0, len(data), 16):
            row = data[off:off + 16]
            text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
            self.say(f"0x{addr + off:08x}: {row.hex(' '):<47}  {text}")

    def counters(self, *_args: str) -> None:
        self.say(str(self.core.counters))

    def help(self, *_args: str) -> None:
        self.say(HELP)

    def execute(self, line: str) -> bool:
        """Run one command line; False when it asks to quit."""
        words = line.split()   # no command takes an argument with spaces
        if not words:
            return True
        name, args = words[0], words[1:]
        if name in ("q", "quit", "exit"):
            return False
        command = self.commands.get(name)
        try:
            if command is None:
                raise EdgeSdkError(f"unknown command '{name}': type help")
            try:
                inspect.signature(command).bind(*args)
            except TypeError:
                raise EdgeSdkError(f"too many arguments for '{name}': type help") from None
            command(*args)
        except EdgeSdkError as err:
            self.flush_console()
            self.say(f"error: {err}")
        except KeyboardInterrupt:   # the core stops between two calls into the model, in a consistent state
            self.flush_console()
            self.say("interrupted")
            self.show()
        return True

    def loop(self, lines: TextIO) -> None:
        last = ""
        while True:
            self.out.write(PROMPT)
            self.out.flush()
            try:
                line = lines.readline()
            except KeyboardInterrupt:
                self.say("\n(q quits)")
                continue
            if not line:
                self.say()
                return
            line = line.strip() or last
            last = line
            if not self.execute(line):
                return


def _given(arg: str, usage: str) -> str:
    """A command's required argument, or an EdgeSdkError with its usage."""
    if not arg:
        raise EdgeSdkError(usage)
    return arg


def _number(text: str, zero: bool = False) -> int:
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        value = -1
    if value < (0 if zero else 1):
        raise EdgeSdkError(f"expected a {'' if zero else 'positive '}whole number, got '{text}'")
    return value


def _where(text: str) -> int | str:
    """An address (0x80000000, 2147483648) or a symbol name."""
    try:
        return int(text, 0)
    except ValueError:
        return text


def debug(elf: str | Path, memory: str = "default", breaks: list[str] = (), trace: str | Path | None = None,
          max_cycles: int | None = None, max_instructions: int | None = None, lines: TextIO | None = None,
          out: TextIO | None = None) -> SimResult | None:
    """Load `elf` on the RTL core, stop before its first instruction (or, with `breaks`, at the first of them
    it reaches) and take commands from `lines` (stdin). Returns the program's SimResult if it exited, else
    None."""
    out = out or sys.stdout
    with RTLCore(elf, memory=memory, trace=trace) as core:
        dbg = Debugger(core, out, max_cycles=max_cycles, max_instructions=max_instructions)
        dbg.say(f"edge-sdk RTL debugger: '{elf}' on the {memory} configuration; type help for the commands")
        for where in breaks:
            dbg.add_break(where)
        if breaks and core.pc not in core.breakpoints:
            dbg.cont()
        else:
            dbg.show()
        dbg.loop(lines or sys.stdin)
        dbg.flush_console()
        return core.run() if core.exited else None
