"""hw/rtl is clean under `verilator --lint-only -Wall`, and every RTL file is one module named after it."""
from __future__ import annotations

import re

from edge_sdk.sim.rtl import RTL, RTL_SOURCES, lint


def test_lint_clean():
    lint()


def test_one_module_per_file_named_after_it():
    assert sorted(RTL_SOURCES) == sorted(p.name for p in RTL.glob("*.sv"))
    for path in RTL.glob("*.sv"):
        units = re.findall(r"^\s*(?:module|package)\s+(\w+)", path.read_text(), re.M)
        assert units == [path.stem], path.name
