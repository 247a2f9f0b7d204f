"""The NPU hardware description, read from YAML and validated, and the cost of one tile operation on it.

A description names: the clock; the word size of the data path; the matrix unit (a weight-stationary
systolic array of rows x cols MACs, as SCALE-Sim models it); the vector unit (lanes and cycles per
lane-vector for each elementwise operation); the on-chip buffer (banks x bytes, read/write bandwidth to the
units) that holds every tile; DRAM (bytes per cycle, latency); and the energy table (pJ per MAC, per vector
element-operation, per byte read or written on chip and in DRAM).

Optional second buffer level: `local_buffer: {bytes, bytes_per_cycle}` under `mac_unit` and `vec_unit`, the
unit's own small buffer (the paper's inner tier, L0) between the on-chip buffer and the unit. An operation's
tiles move between the two at `bytes_per_cycle` each way (the slower of that and the on-chip buffer's port
bounds the operation), and what the unit holds at once must fit `bytes`:
- the matrix unit, per fold: the stationary block loading for the next fold and the m streamed rows and m
  output rows of this one, (r c + m (r + c)) words with r x c <= rows x cols — a mapping whose fold does not
  fit is not used, and a GEMM with no fitting mapping is infeasible (`Infeasible`);
- the vector unit: the rows a row-wise operation (a softmax: a max, then exponentials against it) works on,
  which the schedule declares (`Program.vec(resident=...)`); elementwise work streams through.
The engine does not track local occupancy: a unit holds only the operation in flight.

Optional sections (MEADOW's tiled PE array; a description with `pe_groups` may omit `mac_unit`):
- `pe_groups`: named groups of processing elements, each an engine unit of its own: `pes` PEs of `lanes` MACs
  each, of kind `parallel` (a PE forms an L-wide dot product per cycle: one output element every
  ceil(k / L) cycles) or `broadcast` (a PE broadcasts one input element to L MACs holding L weights: L outputs
  of one row advance one step of the inner dimension per cycle), plus `op_overhead_cycles` per operation
  (operand broadcast over the network-on-chip and the adder tree / accumulator pipeline).
- `softmax_unit`: a pipelined row softmax (MAX -> EXP by look-up table -> DIV), `lanes` elements per cycle per
  stage; stage s of row r overlaps stage s-1 of row r+1.
- `unpack_unit`: the weight-unpacking / index look-up unit of packed weights: `ids_per_cycle` chunk IDs decoded
  (mode bits read, IDs extracted at the packet's width, unique chunks looked up) per cycle, its look-up table
  holding at most `lut_bytes` of unique chunks."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from accelerator_models.common.errors import Infeasible, ModelError

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
VEC_OPS = ("max", "add", "mul", "exp", "div")


@dataclass(frozen=True)
class LocalBuffer:
    bytes: int
    bytes_per_cycle: int


@dataclass(frozen=True)
class MacUnit:
    rows: int
    cols: int
    dataflow: str
    local: LocalBuffer | None = None


@dataclass(frozen=True)
class VecUnit:
    lanes: int
    cycles: dict
    startup_cycles: int
    local: LocalBuffer | None = None


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
class PeGroup:
    name: str
    kind: str                # 'parallel' (dot-product PEs) or 'broadcast' (one input times L weights)
    pes: int
    lanes: int
    op_overhead_cycles: int

    @property
    def macs(self) -> int:
        return self.pes * self.lanes

    def cycles(self, m: int, k: int, n: int, split: str = "any") -> int:
        """Compute cycles of (m x k) @ (k x n) spread over the group's PEs. `split` names the dimension spread
        over the PEs: 'm' (rows: token-parallel), 'n' (output columns), 'k' (the inner dimension, partial
        sums reduced across PEs) or 'any' (output elements, or for broadcast PEs L-wide row segments,
        distributed over the PEs as evenly as possible: a GEMM's output tiles)."""
        P, L = self.pes, self.lanes
        if self.kind == "parallel":          # one output element per ceil(k / L) cycles per PE
            per = {"m": math.ceil(m / P) * n * math.ceil(k / L),
                   "n": math.ceil(n / P) * m * math.ceil(k / L),
                   "k": math.ceil(k / (P * L)) * m * n + math.ceil(math.log2(P)) * math.ceil(m * n / P),
                   "any": math.ceil(m * n / P) * math.ceil(k / L)}
        else:                                # L outputs of one row per k step per PE
            seg = math.ceil(n / L)
            per = {"m": math.ceil(m / P) * seg * k,
                   "n": math.ceil(seg / P) * m * k,
                   "k": math.ceil(k / P) * m * seg + math.ceil(math.log2(P)) * math.ceil(m * seg / P),
                   "any": math.ceil(m * seg / P) * k}
        if split not in per:
            raise ModelError(f"internal: unknown split '{split}'")
        return per[split] + self.op_overhead_cycles


@dataclass(frozen=True)
class SoftmaxUnit:
    lanes: int
    stages: int
    startup_cycles: int


@dataclass(frozen=True)
class UnpackUnit:
    ids_per_cycle: int
    lut_bytes: int
    startup_cycles: int


@dataclass(frozen=True)
class Hardware:
    name: str
    clock_mhz: float
    word_bytes: int
    mac: MacUnit | None
    vec: VecUnit
    buffer: Buffer
    dram: Dram
    energy: Energy
    source: str = ""
    pe_groups: tuple = ()
    softmax: SoftmaxUnit | None = None
    unpack: UnpackUnit | None = None

    @property
    def units(self) -> tuple:
        """The engine's units on this hardware: the two DMA queues, the matrix unit or the PE groups, the vector
        unit, and the softmax and unpack units when present."""
        return (("load", "store") + (("mac",) if self.mac else ()) + tuple(g.name for g in self.pe_groups)
                + ("vec",) + (("softmax",) if self.softmax else ()) + (("unpack",) if self.unpack else ()))

    def group(self, name: str) -> PeGroup:
        for g in self.pe_groups:
            if g.name == name:
                return g
        raise ModelError(f"hardware '{self.name}' has no PE group '{name}' (groups: "
                         f"{', '.join(g.name for g in self.pe_groups) or 'none'})")

    def with_dram_bandwidth(self, gbps: float) -> "Hardware":
        """The same hardware with DRAM at `gbps` gigabits per second (bytes per cycle at its clock)."""
        if not (gbps > 0 and math.isfinite(gbps)):
            raise ModelError(f"DRAM bandwidth must be a positive finite number, got {gbps} Gbps")
        return replace(self, dram=Dram(gbps * 1e9 / 8 / (self.clock_mhz * 1e6), self.dram.latency_cycles))

    def with_buffer_bytes(self, nbytes: int) -> "Hardware":
        banks = max(1, nbytes // self.buffer.bank_bytes)
        return replace(self, buffer=replace(self.buffer, banks=banks, bank_bytes=nbytes // banks))

    def with_pe_scale(self, factor: float) -> "Hardware":
        """Every PE group with `factor` times its PEs (at least one each): the PE-count sweep."""
        return replace(self, pe_groups=tuple(replace(g, pes=max(1, round(g.pes * factor))) for g in self.pe_groups))

    def softmax_cycles(self, rows: int, cols: int) -> int:
        """Rows of `cols` scores through the pipelined softmax: each stage takes ceil(cols / lanes) cycles per
        row; a row enters a stage when the row before has left it."""
        if self.softmax is None:
            raise ModelError(f"hardware '{self.name}' has no softmax_unit")
        per_row = math.ceil(cols / self.softmax.lanes)
        return self.softmax.startup_cycles + (rows + self.softmax.stages - 1) * per_row

    def unpack_cycles(self, ids: int) -> int:
        if self.unpack is None:
            raise ModelError(f"hardware '{self.name}' has no unpack_unit: packed weights need one")
        return self.unpack.startup_cycles + math.ceil(ids / self.unpack.ids_per_cycle)

    # --- the cost of one tile operation -------------------------------------------------------------
    def gemm_cycles(self, m: int, k: int, n: int) -> int:
        """(m x k) @ (k x n) on the weight-stationary array, with whichever operand held stationary is faster
        (C^T = B^T A^T: the mapping is the compiler's choice; the result is written transposed) among those
        whose fold fits the MAC unit's local buffer; `Infeasible` when neither does."""
        fits = [self.ws_cycles(a, k, b) for a, b in ((m, n), (n, m)) if self.fold_fits(a, k, b)]
        if not fits:
            raise Infeasible(f"a {m} x {k} x {n} GEMM does not fit the MAC unit's {self.mac.local.bytes:,}-byte local "
                             f"buffer in either mapping (at most {self.max_streamed_rows(k, min(m, n))} streamed rows "
                             "per fold): use smaller tiles")
        return min(fits)

    def fold_fits(self, m: int, k: int, n: int) -> bool:
        """Whether a fold of (m x k) @ (k x n), k x n stationary, fits the MAC unit's local buffer (if it has one):
        the next fold's stationary block, the m streamed rows and the m output rows."""
        return m <= self.max_streamed_rows(k, n)

    def max_streamed_rows(self, k: int, n: int) -> float:
        """The most rows a fold with a k x n stationary operand may stream through the MAC unit's local buffer
        (infinite without one)."""
        local = self.mac.local
        if local is None:
            return math.inf
        r, c = min(k, self.mac.rows), min(n, self.mac.cols)
        return (local.bytes // self.word_bytes - r * c) // (r + c)

    def ws_cycles(self, m: int, k: int, n: int) -> int:
        """(m x k) @ (k x n) with the k x n operand stationary: it is mapped in folds of rows x cols; per fold
        the weights shift in (rows cycles) and the m input rows stream through with the skew of the array
        (rows + cols - 2) — SCALE-Sim's 2R + C + T - 2 per fold. Bounded below by the bandwidth needed to
        stream the operands and the result (the on-chip buffer's port, or the MAC unit's local buffer's if
        slower)."""
        folds = math.ceil(k / self.mac.rows) * math.ceil(n / self.mac.cols)
        array = folds * (2 * self.mac.rows + self.mac.cols + m - 2)
        wb = self.word_bytes
        reads = (m * k * math.ceil(n / self.mac.cols) + k * n) * wb
        rd, wr = self._port(self.mac.local)
        return max(array, math.ceil(reads / rd), math.ceil(m * n * wb / wr))

    def _port(self, local: LocalBuffer | None) -> tuple:
        """Read and write bytes per cycle between the on-chip buffer and a unit (through its local buffer)."""
        rd, wr = self.buffer.read_bytes_per_cycle, self.buffer.write_bytes_per_cycle
        if local is not None:
            rd, wr = min(rd, local.bytes_per_cycle), min(wr, local.bytes_per_cycle)
        return rd, wr

    def vec_fits(self, elements: int) -> bool:
        """Whether `elements` words held at once fit the vector unit's local buffer (if it has one)."""
        return self.vec.local is None or elements * self.word_bytes <= self.vec.local.bytes

    def vec_cycles(self, ops: dict, elements_in: int, elements_out: int) -> int:
        """Elementwise work `ops` = {operation: element count} on the vector unit, reading `elements_in` and
        writing `elements_out` words of the buffer."""
        compute = self.vec.startup_cycles + sum(math.ceil(count / self.vec.lanes) * self.vec.cycles[op]
                                                for op, count in ops.items() if count)
        wb = self.word_bytes
        rd, wr = self._port(self.vec.local)
        return max(compute, math.ceil(elements_in * wb / rd), math.ceil(elements_out * wb / wr))

    def dma_cycles(self, nbytes: int) -> int:
        """Cycles the DRAM channel is busy for one transfer (the latency comes on top, pipelined)."""
        return max(1, math.ceil(nbytes / self.dram.bytes_per_cycle))

    def to_json(self) -> dict:
        d = {"name": self.name, "source": self.source, "clock_mhz": self.clock_mhz, "word_bytes": self.word_bytes,
             "mac_unit": _unit_json(self.mac) if self.mac else None, "vec_unit": _unit_json(self.vec),
             "buffer": {**vars(self.buffer), "capacity_bytes": self.buffer.capacity_bytes},
             "dram": vars(self.dram), "energy_pj": vars(self.energy)}
        if self.pe_groups:
            d["pe_groups"] = [vars(g) for g in self.pe_groups]
        if self.softmax:
            d["softmax_unit"] = vars(self.softmax)
        if self.unpack:
            d["unpack_unit"] = vars(self.unpack)
        return d


def _unit_json(unit) -> dict:
    d = {k: v for k, v in vars(unit).items() if k != "local"}
    if unit.local is not None:
        d["local_buffer"] = vars(unit.local)
    return d


def _local(unit_d: dict, where: str) -> LocalBuffer | None:
    if unit_d.get("local_buffer") is None:
        return None
    lb, w = unit_d["local_buffer"], f"{where}.local_buffer"
    return LocalBuffer(_field(lb, "bytes", w, int), _field(lb, "bytes_per_cycle", w, int))


def _field(d: dict, key: str, where: str, kind=float, positive: bool = True, allow_zero: bool = False):
    if not isinstance(d, dict) or key not in d:
        raise ModelError(f"{where}: missing field '{key}'")
    value = d[key]
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ModelError(f"{where}: field '{key}' must be a number, got {value!r}")
    if kind in (int, float) and not math.isfinite(value):
        raise ModelError(f"{where}: field '{key}' must be a finite number, got {value!r}")
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
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ModelError(f"hardware file '{path}' is not a text (UTF-8) file: give a YAML description") from None
    except OSError as err:
        raise ModelError(f"cannot read hardware file '{path}': {err.strerror}") from None
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
    groups = _pe_groups(d.get("pe_groups"), where)
    for key, value in (("mac_unit", mac_d), ("vec_unit", vec_d), ("buffer", buf_d), ("dram", dram_d),
                       ("energy_pj", en_d)):
        if key == "mac_unit" and value is None and groups:
            continue
        if not isinstance(value, dict):
            raise ModelError(f"{where}: missing section '{key}'")
    mac = None
    if mac_d is not None:
        mac = MacUnit(_field(mac_d, "rows", f"{where} mac_unit", int), _field(mac_d, "cols", f"{where} mac_unit", int),
                      _field(mac_d, "dataflow", f"{where} mac_unit", str), _local(mac_d, f"{where} mac_unit"))
        if mac.dataflow != "weight_stationary":
            raise ModelError(f"{where} mac_unit: dataflow '{mac.dataflow}' is not modelled; use weight_stationary")
    if mac is not None and mac.local is not None and mac.local.bytes < (mac.rows * mac.cols + mac.rows + mac.cols) * \
            _field(d, "word_bytes", where, int):
        raise ModelError(f"{where} mac_unit.local_buffer: {mac.local.bytes:,} bytes cannot hold one fold (the "
                         f"{mac.rows} x {mac.cols} stationary block and one streamed and one output row)")
    cyc = vec_d.get("cycles")
    if not isinstance(cyc, dict):
        raise ModelError(f"{where} vec_unit: missing field 'cycles' (cycles per lane-vector for {', '.join(VEC_OPS)})")
    vec = VecUnit(_field(vec_d, "lanes", f"{where} vec_unit", int),
                  {op: _field(cyc, op, f"{where} vec_unit.cycles", int) for op in VEC_OPS},
                  _field(vec_d, "startup_cycles", f"{where} vec_unit", int, allow_zero=True),
                  _local(vec_d, f"{where} vec_unit"))
    w = f"{where} buffer"
    buf = Buffer(_field(buf_d, "name", w, str), _field(buf_d, "banks", w, int), _field(buf_d, "bank_bytes", w, int),
                 _field(buf_d, "read_bytes_per_cycle", w, int), _field(buf_d, "write_bytes_per_cycle", w, int))
    dram = Dram(_field(dram_d, "bytes_per_cycle", f"{where} dram"),
                _field(dram_d, "latency_cycles", f"{where} dram", int, allow_zero=True))
    w = f"{where} energy_pj"
    energy = Energy(*(_field(en_d, k, w, allow_zero=True) for k in (
        "mac", "vec_op", "buffer_read_per_byte", "buffer_write_per_byte", "dram_read_per_byte",
        "dram_write_per_byte")))
    softmax = unpack = None
    if d.get("softmax_unit") is not None:
        sm, w = d["softmax_unit"], f"{where} softmax_unit"
        softmax = SoftmaxUnit(_field(sm, "lanes", w, int), _field(sm, "stages", w, int),
                              _field(sm, "startup_cycles", w, int, allow_zero=True))
    if d.get("unpack_unit") is not None:
        up, w = d["unpack_unit"], f"{where} unpack_unit"
        unpack = UnpackUnit(_field(up, "ids_per_cycle", w, int), _field(up, "lut_bytes", w, int),
                            _field(up, "startup_cycles", w, int, allow_zero=True))
    for unit, name in ((mac, "mac_unit"), (vec, "vec_unit")):
        if unit is not None and unit.local is not None and unit.local.bytes > buf.capacity_bytes:
            raise ModelError(f"{where} {name}.local_buffer: {unit.local.bytes:,} bytes is more than the "
                             f"{buf.capacity_bytes:,}-byte {buf.name} it is filled from; a local buffer is the smaller level")
    return Hardware(_field(d, "name", where, str), _field(d, "clock_mhz", where), _field(d, "word_bytes", where, int),
                    mac, vec, buf, dram, energy, source, groups, softmax, unpack)


_RESERVED = ("load", "store", "mac", "vec", "softmax", "unpack", "sync")


def _pe_groups(items, where: str) -> tuple:
    if items is None:
        return ()
    if not isinstance(items, list) or not items:
        raise ModelError(f"{where}: 'pe_groups' must be a non-empty list of groups (name, kind, pes, lanes, "
                         "op_overhead_cycles)")
    out = []
    for i, g in enumerate(items):
        w = f"{where} pe_groups[{i}]"
        name = _field(g, "name", w, str)
        kind = _field(g, "kind", w, str)
        if kind not in ("parallel", "broadcast"):
            raise ModelError(f"{w}: kind '{kind}' is not modelled; use parallel or broadcast")
        if name in _RESERVED or name in [o.name for o in out]:
            raise ModelError(f"{w}: the name '{name}' is taken (reserved: {', '.join(_RESERVED)}, or used twice)")
        out.append(PeGroup(name, kind, _field(g, "pes", w, int), _field(g, "lanes", w, int),
                           _field(g, "op_overhead_cycles", w, int, allow_zero=True)))
    return tuple(out)
