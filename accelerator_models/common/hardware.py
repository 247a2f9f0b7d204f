"""The NPU hardware description, read from YAML and validated, and the cost of one tile operation on it.

A description names: the clock; the word size of the data path; the matrix unit (a weight-stationary
systolic array of rows x cols MACs, as SCALE-Sim models it); the vector unit (lanes and cycles per
lane-vector for each elementwise operation); the on-chip buffer (banks x bytes, read/write bandwidth to the
units) that holds every tile; DRAM (bytes per cycle, latency); and the energy table (pJ per MAC, per vector
element-operation, per byte read or written on chip and in DRAM)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from accelerator_models.common.errors import ModelError

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
VEC_OPS = ("max", "add", "mul", "exp", "div")


@dataclass(frozen=True)
class MacUnit:
    rows: int
    cols: int
    dataflow: str


@dataclass(frozen=True)
class VecUnit:
    lanes: int
    cycles: dict
    startup_cycles: int


@dataclass(frozen=True)
class Buffer:
    name: str
    banks: int
    bank_bytes: int
    read_bytes_per_cycle: int
    write_bytes_per_cycle: int

    @property
    def capacity_bytes(self) -> int:
        return self.banks * self.bank_bytes


@dataclass(frozen=True)
class Dram:
    bytes_per_cycle: float
    latency_cycles: int


@dataclass(frozen=True)
class Energy:
    mac: float
    vec_op: float
    buffer_read_per_byte: float
    buffer_write_per_byte: float
    dram_read_per_byte: float
    dram_write_per_byte: float


@dataclass(frozen=True)
class Hardware:
    name: str
    clock_mhz: float
    word_bytes: int
    mac: MacUnit
    vec: VecUnit
    buffer: Buffer
    dram: Dram
    energy: Energy
    source: str = ""

    # --- the cost of one tile operation -------------------------------------------------------------
    def gemm_cycles(self, m: int, k: int, n: int) -> int:
        """(m x k) @ (k x n) on the weight-stationary array, with whichever operand held stationary is faster
        (C^T = B^T A^T: the mapping is the compiler's choice; the result is written transposed)."""
        return min(self.ws_cycles(m, k, n), self.ws_cycles(n, k, m))

    def ws_cycles(self, m: int, k: int, n: int) -> int:
        """(m x k) @ (k x n) with the k x n operand stationary: it is mapped in folds of rows x cols; per fold
        the weights shift in (rows cycles) and the m input rows stream through with the skew of the array
        (rows + cols - 2) — SCALE-Sim's 2R + C + T - 2 per fold. Bounded below by the buffer bandwidth needed to
        stream the operands and the result."""
        folds = math.ceil(k / self.mac.rows) * math.ceil(n / self.mac.cols)
        array = folds * (2 * self.mac.rows + self.mac.cols + m - 2)
        wb = self.word_bytes
        reads = (m * k * math.ceil(n / self.mac.cols) + k * n) * wb
        return max(array, math.ceil(reads / self.buffer.read_bytes_per_cycle),
                   math.ceil(m * n * wb / self.buffer.write_bytes_per_cycle))

    def vec_cycles(self, ops: dict, elements_in: int, elements_out: int) -> int:
        """Elementwise work `ops` = {operation: element count} on the vector unit, reading `elements_in` and
        writing `elements_out` words of the buffer."""
        compute = self.vec.startup_cycles + sum(math.ceil(count / self.vec.lanes) * self.vec.cycles[op]
                                                for op, count in ops.items() if count)
        wb = self.word_bytes
        return max(compute, math.ceil(elements_in * wb / self.buffer.read_bytes_per_cycle),
                   math.ceil(elements_out * wb / self.buffer.write_bytes_per_cycle))

    def dma_cycles(self, nbytes: int) -> int:
        """Cycles the DRAM channel is busy for one transfer (the latency comes on top, pipelined)."""
        return max(1, math.ceil(nbytes / self.dram.bytes_per_cycle))

    def to_json(self) -> dict:
        return {"name": self.name, "source": self.source, "clock_mhz": self.clock_mhz, "word_bytes": self.word_bytes,
                "mac_unit": vars(self.mac), "vec_unit": vars(self.vec),
                "buffer": {**vars(self.buffer), "capacity_bytes": self.buffer.capacity_bytes},
                "dram": vars(self.dram), "energy_pj": vars(self.energy)}


def _field(d: dict, key: str, where: str, kind=float, positive: bool = True, allow_zero: bool = False):
    if not isinstance(d, dict) or key not in d:
        raise ModelError(f"{where}: missing field '{key}'")
    value = d[key]
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ModelError(f"{where}: field '{key}' must be a number, got {value!r}")
    if kind is int and value != int(value):
        raise ModelError(f"{where}: field '{key}' must be an integer, got {value!r}")
    if kind in (int, float) and positive and (value < 0 or (value == 0 and not allow_zero)):
        raise ModelError(f"{where}: field '{key}' must be {'non-negative' if allow_zero else 'positive'}, "
                         f"got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ModelError(f"{where}: field '{key}' must be a string, got {value!r}")
    return kind(value)


def resolve(path_or_name: str | Path) -> Path:
    """A path, or the name of a shipped config (`edge`, `edge.yaml`)."""
    p = Path(path_or_name)
    if p.exists():
        return p
    for cand in (CONFIGS / p.name, CONFIGS / f"{p.name}.yaml"):
        if cand.exists():
            return cand
    shipped = ", ".join(sorted(c.name for c in CONFIGS.glob("*.yaml")))
    raise ModelError(f"hardware file '{path_or_name}' not found; give a path or one of the shipped configs: {shipped}")


def load(path_or_name: str | Path) -> Hardware:
    path = resolve(path_or_name)
    try:
        d = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ModelError(f"hardware file '{path}' is not valid YAML: {err}") from None
    where = f"hardware file '{path}'"
    if not isinstance(d, dict):
        raise ModelError(f"{where}: expected a mapping of fields at the top level")
    return from_dict(d, where, str(path))


def from_dict(d: dict, where: str = "hardware description", source: str = "") -> Hardware:
    mac_d = d.get("mac_unit")
    vec_d = d.get("vec_unit")
    buf_d = d.get("buffer")
    dram_d = d.get("dram")
    en_d = d.get("energy_pj")
    for key, value in (("mac_unit", mac_d), ("vec_unit", vec_d), ("buffer", buf_d), ("dram", dram_d),
                       ("energy_pj", en_d)):
        if not isinstance(value, dict):
            raise ModelError(f"{where}: missing section '{key}'")
    mac = MacUnit(_field(mac_d, "rows", f"{where} mac_unit", int), _field(mac_d, "cols", f"{where} mac_unit", int),
                  _field(mac_d, "dataflow", f"{where} mac_unit", str))
    if mac.dataflow != "weight_stationary":
        raise ModelError(f"{where} mac_unit: dataflow '{mac.dataflow}' is not modelled; use weight_stationary")
    cyc = vec_d.get("cycles")
    if not isinstance(cyc, dict):
        raise ModelError(f"{where} vec_unit: missing field 'cycles' (cycles per lane-vector for {', '.join(VEC_OPS)})")
    vec = VecUnit(_field(vec_d, "lanes", f"{where} vec_unit", int),
                  {op: _field(cyc, op, f"{where} vec_unit.cycles", int) for op in VEC_OPS},
                  _field(vec_d, "startup_cycles", f"{where} vec_unit", int, allow_zero=True))
    w = f"{where} buffer"
    buf = Buffer(_field(buf_d, "name", w, str), _field(buf_d, "banks", w, int), _field(buf_d, "bank_bytes", w, int),
                 _field(buf_d, "read_bytes_per_cycle", w, int), _field(buf_d, "write_bytes_per_cycle", w, int))
    dram = Dram(_field(dram_d, "bytes_per_cycle", f"{where} dram"),
                _field(dram_d, "latency_cycles", f"{where} dram", int, allow_zero=True))
    w = f"{where} energy_pj"
    energy = Energy(*(_field(en_d, k, w, allow_zero=True) for k in (
        "mac", "vec_op", "buffer_read_per_byte", "buffer_write_per_byte", "dram_read_per_byte",
        "dram_write_per_byte")))
    return Hardware(_field(d, "name", where, str), _field(d, "clock_mhz", where), _field(d, "word_bytes", where, int),
                    mac, vec, buf, dram, energy, source)
