"""MEADOW's lossless weight packing, as a real bit stream.

A quantized matrix M (rows x cols int8; a weight matrix as stored, out x in, so `cols` is the inner-product
dimension) is cut along its rows into chunks of C consecutive weights (the last chunk of a row zero-padded).
Every distinct chunk is kept once in the *unique matrix* (U x C int8) and each chunk is replaced by its ID.
The ID stream is cut into *packets* of `packet` IDs along each row (a packet never crosses a row, so a tile of
whole packets can be fetched on its own). Three encodings:

- naive: every ID at the width of the largest, ceil(log2 U) bits; the unique matrix in np.unique order;
- packet-specific precision: each packet at the smallest width of a per-matrix table of 2^mode_bits widths
  that holds its largest ID, announced by `mode_bits` mode bits (the table, which always contains the full
  width, is chosen per matrix to minimise the total; a stream carries its packets' mode bits first, then the
  packets);
- + frequency-aware re-indexing: the unique chunks sorted by decreasing frequency before the IDs are given,
  so the frequent chunks get the small IDs and most packets fit a narrow width.

The transfer of a packed matrix is header + unique matrix + ID stream (mode bits included), in bytes; the
ratio is the raw int8 size over that. `pack` builds the stream, `unpack` rebuilds the matrix from the bytes
alone (with the header's fields). On chip, the unpack unit reads mode bits, extracts IDs at the packet's width
and looks each ID up in the unique matrix held in its table (`Hardware.unpack_cycles`)."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from accelerator_models.common.errors import ModelError

ENCODINGS = ("naive", "packet", "reindexed")
HEADER_BYTES = 18          # rows, cols (4 + 4), chunk (1), unique count (4), packet (2), mode bits (1), naive width (1),
                           # encoding (1); plus one byte per width in the mode table


def _bits_needed(ids: np.ndarray) -> np.ndarray:
    """Bits to write each ID (at least 1)."""
    out = np.ones(ids.shape, np.int64)
    pos = ids > 0
    out[pos] = np.floor(np.log2(ids[pos])).astype(np.int64) + 1
    return out


def _packets(n: int, packet: int) -> list:
    return [(s, min(s + packet, n)) for s in range(0, n, packet)]


def packet_needs(ids: np.ndarray, packet: int) -> tuple[np.ndarray, np.ndarray]:
    """For ids (rows x n): the width each packet needs and its ID count, both (rows x packets)."""
    rows, n = ids.shape
    npk = math.ceil(n / packet) if n else 0
    pad = npk * packet - n
    need = _bits_needed(ids)
    if pad:
        need = np.concatenate([need, np.zeros((rows, pad), np.int64)], 1)
    need = need.reshape(rows, npk, packet).max(2)
    count = np.full(npk, packet, np.int64)
    if pad:
        count[-1] = packet - pad
    return need, np.broadcast_to(count, (rows, npk))


def choose_table(need: np.ndarray, count: np.ndarray, full: int, mode_bits: int) -> tuple:
    """The table of 2^mode_bits widths (always containing `full`) that minimises the stream's bits."""
    hist = np.bincount(need.ravel(), weights=count.ravel(), minlength=full + 1)
    size = 2 ** mode_bits
    cands = [w for w in range(1, full) if hist[: w + 1].sum() > 0]
    best, best_bits = (full,), None
    for k in range(0, min(size - 1, len(cands)) + 1):
        for combo in itertools.combinations(cands, k):
            table = tuple(sorted(combo)) + (full,)
            # each width class goes to the smallest table width >= it
            bits, lo = 0, 0
            for t in table:
                bits += hist[lo: t + 1].sum() * t
                lo = t + 1
            if best_bits is None or bits < best_bits:
                best, best_bits = table, bits
    return best


@dataclass
class Packed:
    """A packed matrix: what lives in DRAM (header fields, unique matrix, stream) plus, for the cost model and
    tiled streams, the chunk IDs."""
    rows: int
    cols: int
    chunk: int
    packet: int
    mode_bits: int
    encoding: str
    unique: np.ndarray          # (U x chunk) int8
    ids: np.ndarray             # (rows x ceil(cols / chunk)) int64
    table: tuple                # widths (packet/reindexed) or (naive width,)
    _stream: bytes | None = None
    _tiles: dict | None = None

    @property
    def stream(self) -> bytes:
        """The whole matrix's ID stream (built on first use)."""
        if self._stream is None:
            self._stream = encode(self.ids, self.packet, self.mode_bits, self.encoding, self.table)
        return self._stream

    @property
    def n_unique(self) -> int:
        return self.unique.shape[0]

    @property
    def full_width(self) -> int:
        return max(1, math.ceil(math.log2(self.n_unique))) if self.n_unique > 1 else 1

    @property
    def header_bytes(self) -> int:
        return HEADER_BYTES + len(self.table)

    @property
    def unique_bytes(self) -> int:
        return self.unique.size

    @property
    def stream_bytes(self) -> int:
        return math.ceil(stream_bits(self.ids, self.packet, self.mode_bits, self.encoding, self.table) / 8)

    @property
    def total_bytes(self) -> int:
        return self.header_bytes + self.unique_bytes + self.stream_bytes

    @property
    def raw_bytes(self) -> int:
        return self.rows * self.cols

    @property
    def ratio(self) -> float:
        return self.raw_bytes / self.total_bytes

    def breakdown(self) -> dict:
        need, count = packet_needs(self.ids, self.packet)
        n_packets = int(need.size)
        mode = n_packets * self.mode_bits if self.encoding != "naive" else 0
        return {"encoding": self.encoding, "chunk": self.chunk, "packet": self.packet, "unique_chunks": self.n_unique,
                "chunks": int(self.ids.size), "id_width_bits": self.full_width, "table": list(self.table),
                "raw_bytes": self.raw_bytes, "header_bytes": self.header_bytes, "unique_bytes": self.unique_bytes,
                "id_bytes": self.stream_bytes - math.ceil(mode / 8) if mode else self.stream_bytes,
                "mode_bits": mode, "stream_bytes": self.stream_bytes, "total_bytes": self.total_bytes,
                "ratio": self.ratio}

    # --- tiles: the dataflows fetch a packed matrix tile by tile ------------------------------------------
    def tile_ids(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """IDs of rows r0:r1 and weight columns c0:c1 (c0 a multiple of the chunk size)."""
        if c0 % self.chunk:
            raise ModelError(f"internal: tile column {c0} is not a multiple of the chunk size {self.chunk}")
        return self.ids[r0:r1, c0 // self.chunk: math.ceil(c1 / self.chunk)]

    def tile_bytes(self, r0: int, r1: int, c0: int, c1: int) -> int:
        """Bytes of the tile's own stream (its rows' packets, with the matrix's table); memoised."""
        if self._tiles is None:
            self._tiles = {}
        key = (r0, r1, c0, c1)
        if key not in self._tiles:
            self._tiles[key] = math.ceil(stream_bits(self.tile_ids(r0, r1, c0, c1), self.packet, self.mode_bits,
                                                     self.encoding, self.table) / 8)
        return self._tiles[key]

    def tile_stream(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        return np.frombuffer(encode(self.tile_ids(r0, r1, c0, c1), self.packet, self.mode_bits, self.encoding,
                                    self.table), np.uint8)

    def unpack_tile(self, stream: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The int8 tile (r1 - r0) x (c1 - c0) from its stream bytes and the unique matrix."""
        n = math.ceil(c1 / self.chunk) - c0 // self.chunk
        ids = decode(np.asarray(stream).astype(np.uint8).tobytes(), r1 - r0, n, self.packet, self.mode_bits,
                     self.encoding, self.table)
        w = self.unique[ids].reshape(r1 - r0, n * self.chunk)
        return w[:, : c1 - c0]


def stream_bits(ids: np.ndarray, packet: int, mode_bits: int, encoding: str, table: tuple) -> int:
    if encoding == "naive":
        return int(ids.size) * table[0]
    need, count = packet_needs(ids, packet)
    widths = np.asarray(table)[np.searchsorted(table, need)]
    return int((widths * count).sum()) + int(need.size) * mode_bits


def _write(values: np.ndarray, widths: np.ndarray, offsets: np.ndarray, total: int) -> bytes:
    bits = np.zeros(total, np.uint8)
    for w in np.unique(widths):
        sel = np.flatnonzero(widths == w)
        shifts = np.arange(w - 1, -1, -1)
        for s0 in range(0, len(sel), 1 << 20):
            part = sel[s0:s0 + (1 << 20)]
            bits[offsets[part][:, None] + np.arange(w)] = (values[part][:, None] >> shifts) & 1
    return np.packbits(bits).tobytes()


def _read(bits: np.ndarray, offsets: np.ndarray, widths: np.ndarray) -> np.ndarray:
    out = np.zeros(offsets.shape, np.int64)
    for w in np.unique(widths):
        sel = widths == w
        off = offsets[sel]
        v = np.zeros(off.shape, np.int64)
        for b in range(int(w)):
            v = (v << 1) | bits[off + b]
        out[sel] = v
    return out


def encode(ids: np.ndarray, packet: int, mode_bits: int, encoding: str, table: tuple) -> bytes:
    """The ID stream, MSB first. Naive: every ID at the fixed width. Packet precision: the mode bits of every
    packet (row by row, packet by packet) first, then every packet's IDs at its width in the same order — the
    unpack unit reads a tile's modes and then its packets; the bits are those of mode-bits-in-front-of-each-
    packet, only gathered, so the decoder knows every packet's offset at once."""
    rows, n = ids.shape
    if encoding == "naive":
        w = table[0]
        flat = ids.ravel()
        return _write(flat, np.full(flat.shape, w), np.arange(flat.size) * w, flat.size * w)
    need, count = packet_needs(ids, packet)
    mode = np.searchsorted(table, need)                       # (rows x packets)
    width = np.asarray(table)[mode]
    head = mode.size * mode_bits
    pk_bits = width * count
    pk_start = head + np.concatenate([[0], np.cumsum(pk_bits.ravel())[:-1]]).reshape(pk_bits.shape)
    total = head + int(pk_bits.sum())
    col = np.arange(n)
    p_of = col // packet                                      # packet of each ID column
    id_off = pk_start[:, p_of] + width[:, p_of] * (col - p_of * packet)[None, :]
    values = np.concatenate([mode.ravel(), ids.ravel()])
    widths = np.concatenate([np.full(mode.size, mode_bits), width[:, p_of].ravel()])
    offsets = np.concatenate([np.arange(mode.size) * mode_bits, id_off.ravel()])
    return _write(values, widths, offsets, total)


def decode(stream: bytes, rows: int, n: int, packet: int, mode_bits: int, encoding: str, table: tuple) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(stream, np.uint8)).astype(np.int64)
    if encoding == "naive":
        w = table[0]
        if bits.size < rows * n * w:
            raise ModelError(f"corrupt packed stream: {bits.size} bits for {rows * n} IDs of {w} bits")
        return _read(bits, np.arange(rows * n) * w, np.full(rows * n, w)).reshape(rows, n)
    npk = math.ceil(n / packet)
    count = np.array([e - s for s, e in _packets(n, packet)], np.int64)
    head = rows * npk * mode_bits
    if bits.size < head:
        raise ModelError(f"corrupt packed stream: {bits.size} bits, fewer than its {head} mode bits")
    mode = _read(bits, np.arange(rows * npk) * mode_bits, np.full(rows * npk, mode_bits)).reshape(rows, npk)
    if mode.max(initial=0) >= len(table):
        raise ModelError(f"corrupt packed stream: mode {int(mode.max())} but a table of {len(table)} widths")
    width = np.asarray(table)[mode]
    pk_bits = width * count[None, :]
    pk_start = head + np.concatenate([[0], np.cumsum(pk_bits.ravel())[:-1]]).reshape(pk_bits.shape)
    if bits.size < head + pk_bits.sum():
        raise ModelError(f"corrupt packed stream: {bits.size} bits, its packets need {head + int(pk_bits.sum())}")
    col = np.arange(n)
    p_of = col // packet
    offsets = pk_start[:, p_of] + width[:, p_of] * (col - p_of * packet)[None, :]
    return _read(bits, offsets.ravel(), width[:, p_of].ravel()).reshape(rows, n)


def pack(m: np.ndarray, chunk: int = 2, packet: int = 16, mode_bits: int = 2, encoding: str = "reindexed") -> Packed:
    """Pack an int8 matrix (rows x cols; chunks run along the columns)."""
    if encoding not in ENCODINGS:
        raise ModelError(f"unknown encoding '{encoding}'; choose from: {', '.join(ENCODINGS)}")
    for name, v in (("chunk", chunk), ("packet", packet)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ModelError(f"the {name} size must be a positive integer, got {v!r}")
    if encoding != "naive" and not 1 <= mode_bits <= 4:
        raise ModelError(f"mode bits must be 1-4, got {mode_bits}")
    m = np.asarray(m)
    if m.ndim != 2 or m.dtype != np.int8:
        raise ModelError(f"pack takes a 2-D int8 matrix, got {m.dtype} {m.shape}")
    rows, cols = m.shape
    n = math.ceil(cols / chunk)
    padded = np.zeros((rows, n * chunk), np.int8)
    padded[:, :cols] = m
    chunks = padded.reshape(rows * n, chunk)
    if chunk <= 2:                                 # one integer key per chunk, in lexicographic (signed) order:
        keys = np.zeros(rows * n, np.int64)        # counted directly
        for i in range(chunk):
            keys = (keys << 8) | (chunks[:, i].astype(np.int64) + 128)
        hist = np.bincount(keys, minlength=256 ** chunk)
        present = np.flatnonzero(hist)
        lut = np.zeros(256 ** chunk, np.int64)
        lut[present] = np.arange(len(present))
        inverse, counts = lut[keys], hist[present]
        digits = (present[:, None] >> (8 * np.arange(chunk - 1, -1, -1))[None, :]) & 255
        unique = (digits - 128).astype(np.int8)
    elif chunk <= 8:
        keys = np.zeros(rows * n, np.uint64)
        for i in range(chunk):
            keys = (keys << np.uint64(8)) | (chunks[:, i].astype(np.int64) + 128).astype(np.uint64)
        ukeys, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        unique = chunks[first]
    else:
        unique, inverse, counts = np.unique(chunks, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    if encoding == "reindexed":                    # most frequent chunk -> ID 0 (ties: np.unique order)
        order = np.lexsort((np.arange(len(counts)), -counts))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        unique, inverse = unique[order], rank[inverse]
    ids = inverse.reshape(rows, n).astype(np.int64)
    full = max(1, math.ceil(math.log2(len(unique)))) if len(unique) > 1 else 1
    if encoding == "naive":
        table = (full,)
    else:
        need, count = packet_needs(ids, packet)
        table = choose_table(need, count, full, mode_bits)
    return Packed(rows, cols, chunk, packet, mode_bits, encoding, unique, ids, table)


def unpack(p: Packed) -> np.ndarray:
    """Rebuild the matrix from the stream bytes, the unique matrix and the header fields."""
    n = math.ceil(p.cols / p.chunk)
    ids = decode(p.stream, p.rows, n, p.packet, p.mode_bits, p.encoding, p.table)
    if ids.size and ids.max() >= p.n_unique:
        raise ModelError(f"corrupt packed stream: ID {int(ids.max())} beyond the {p.n_unique} unique chunks")
    return p.unique[ids].reshape(p.rows, n * p.chunk)[:, : p.cols]


def report(m: np.ndarray, chunk: int, packet: int = 16, mode_bits: int = 2) -> dict:
    """The three encodings of one matrix: bytes and ratio of each (unique matrix and mode bits included)."""
    out = {}
    for enc in ENCODINGS:
        out[enc] = pack(m, chunk, packet, mode_bits, enc).breakdown()
    return {"chunk": chunk, "packet": packet, "mode_bits": mode_bits, "raw_bytes": int(m.size),
            **{f"ratio_{k}": v["ratio"] for k, v in out.items()}, "encodings": out}
