"""Build each RTL unit with Verilator through cocotb's Python runner and run its cocotb tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_sdk.sim.rtl import RTL, verilator_env

HERE = Path(__file__).resolve().parent
PACKAGES = [RTL / "edge_core_pkg.sv", RTL / "edge_insn_pkg.sv"]
UNITS = {
    "edge_alu": ["alu_random"],
    "edge_dotp": ["dotp_random"],
    "edge_decimate": ["decimate_random"],
    "edge_loop_unit": ["loop_unit_random"],
    "edge_decoder": ["decoder_custom_random", "decoder_base_and_illegal"],
    "edge_muldiv": ["muldiv_random"],
    "edge_csr": ["csr_registers_and_counters"],
}


# (toplevel, parameters): tests of a unit built with non-default parameters.
VARIANTS = {("edge_decoder", (("EnableXdec", 0),)): ["decoder_without_xdec"]}


@pytest.mark.parametrize("toplevel, parameters", [(t, ()) for t in sorted(UNITS)] + list(VARIANTS),
                         ids=lambda v: "-".join(f"{k}{p}" for k, p in v) if isinstance(v, tuple) else v)
def test_unit(toplevel, parameters, tmp_path_factory, monkeypatch):
    for key, value in verilator_env().items():
        monkeypatch.setenv(key, value)
    from cocotb_tools.runner import get_runner

    build_dir = tmp_path_factory.mktemp(toplevel)
    runner = get_runner("verilator")
    deps = [RTL / "edge_xedge_decoder.sv"] if toplevel == "edge_decoder" else []
    runner.build(sources=[*PACKAGES, *deps, RTL / f"{toplevel}.sv"], hdl_toplevel=toplevel, build_dir=build_dir,
                 build_args=["-Wno-fatal"], parameters=dict(parameters), always=True)
    root = str(HERE.parents[1])
    cases = VARIANTS[(toplevel, parameters)] if parameters else UNITS[toplevel]
    runner.test(hdl_toplevel=toplevel, test_module="units_tb", testcase=cases, build_dir=build_dir,
                test_dir=HERE, results_xml=str(build_dir / "results.xml"),
                extra_env={"PYTHONPATH": os.pathsep.join([root, str(HERE)])})
