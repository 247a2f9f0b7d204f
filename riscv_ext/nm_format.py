"""The packed N:M sparse int8 weight format, shared by the kernels, the sparse extension and the compiler.

A weight matrix has `rows` output channels and a reduction axis of length `k` (conv weights in
(Cout, Kh, Kw, Cin) order flattened to Kh*Kw*Cin with Cin fastest, i.e. the im2col row; linear weights along
in_features). The axis is cut into groups of M consecutive weights; in every group at most N are non-zero.
Supported patterns: 1:4, 1:8, 1:16 (the paper's) and 2:8, 2:16, 4:16.

Storage, per row (every row starts on a 32-bit boundary):

    values   nnz = (k / M) * N int8 values, group by group, inside a group by ascending position. A group
             with fewer than N non-zeros is filled with zero values at its lowest unused positions, so every
             group holds exactly N entries and the inner loop has no data-dependent branch. The row is padded
             with zero bytes to `value_stride` = nnz rounded up to 4 bytes (one SIMD word = 4 entries).
    offsets  one log2(M)-bit field per entry: its position inside its group (0..M-1). Fields are packed
             LSB-first into 32-bit little-endian words, F fields a word and never split across words:
             F = 16 for M = 4, 8 for M = 8 and M = 16 (the most that fit, rounded down to whole SIMD words
             of 4 entries: for M = 8 a word carries 24 bits of offsets, 8 bits stay zero, so that one word
             always feeds whole dot products); `offset_stride` = ceil(nnz / F) words a row, unused fields zero.

Why this layout: entry e of a row reads the activation at group(e) * M + offset(e). Inside one offsets word,
field j belongs to group (j // N) of that word, so the word's first activation (its "base") advances by
(F // N) * M per word and every field's displacement from the base is static: (j // N) * M + field. That is
exactly what the decimating load of the sparse extension (`riscv_ext.spec`, dlb.m*) computes in one
instruction, and what the software kernels unroll. Four consecutive entries are one SIMD word of values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SUPPORTED = ("1:4", "1:8", "1:16", "2:8", "2:16", "4:16")


class NMFormatError(ValueError):
    """An invalid pattern, shape or weight tensor; the message names the problem and the fix."""


@dataclass(frozen=True)
class Pattern:
    n: int
    m: int

    @property
    def name(self) -> str:
        return f"{self.n}:{self.m}"

    @property
    def bits(self) -> int:
        """Width of one offset field: log2(M)."""
        return self.m.bit_length() - 1

    @property
    def fields_per_word(self) -> int:
        return 32 // self.bits // 4 * 4

    @property
    def groups_per_word(self) -> int:
        return self.fields_per_word // self.n

    @property
    def density(self) -> float:
        return self.n / self.m


def parse_pattern(text: str) -> Pattern:
    """'1:8' -> Pattern(1, 8); an unknown pattern is an NMFormatError naming the supported ones."""
    if text not in SUPPORTED:
        raise NMFormatError(f"unknown N:M pattern '{text}'; supported patterns: {', '.join(SUPPORTED)}")
    n, m = map(int, text.split(":"))
    return Pattern(n, m)


@dataclass(frozen=True)
class PackedNM:
    pattern: Pattern
    rows: int
    k: int
    values: np.ndarray    # int8 [rows, value_stride]
    offsets: np.ndarray   # uint32 [rows, offset_stride]

    @property
    def nnz(self) -> int:
        """Entries per row (stored, including zero fill)."""
        return self.k // self.pattern.m * self.pattern.n

    @property
    def value_stride(self) -> int:
        return self.values.shape[1]

    @property
    def offset_stride(self) -> int:
        return self.offsets.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes of the packed weights (values + offsets)."""
        return self.values.nbytes + self.offsets.nbytes


def _as_rows(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights)
    if w.ndim != 2:
        raise NMFormatError(f"expected a 2-D weight matrix (rows, reduction), got shape {w.shape}; reshape conv "
                            "weights to (Cout, Kh*Kw*Cin) with conv_rows()")
    if not np.issubdtype(w.dtype, np.integer) or w.min(initial=0) < -128 or w.max(initial=0) > 127:
        raise NMFormatError("weights must be int8 values (-128..127)")
    return w.astype(np.int8)


def conv_rows(weight_oihw: np.ndarray) -> np.ndarray:
    """ONNX/PyTorch conv weights (Cout, Cin, Kh, Kw) -> (Cout, Kh*Kw*Cin), Cin fastest (the im2col row)."""
    w = np.asarray(weight_oihw)
    if w.ndim != 4:
        raise NMFormatError(f"expected conv weights (Cout, Cin, Kh, Kw), got shape {w.shape}")
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1))


def validate(weights: np.ndarray, pattern: Pattern | str) -> None:
    """Raise NMFormatError naming the first group that breaks the pattern (or a reduction size that is not a
    multiple of M)."""
    p = parse_pattern(pattern) if isinstance(pattern, str) else pattern
    w = _as_rows(weights)
    rows, k = w.shape
    if k % p.m:
        raise NMFormatError(f"reduction size {k} is not a multiple of M = {p.m} (pattern {p.name}); keep the layer "
                            "dense or choose a pattern whose M divides it")
    counts = np.count_nonzero(w.reshape(rows, k // p.m, p.m), axis=2)
    bad = np.argwhere(counts > p.n)
    if len(bad):
        r, g = bad[0]
        raise NMFormatError(f"row {r}, group {g} (weights {g * p.m}..{g * p.m + p.m - 1}) has {counts[r, g]} "
                            f"non-zeros; pattern {p.name} allows at most {p.n} per group of {p.m}")


def pack(weights: np.ndarray, pattern: Pattern | str) -> PackedNM:
    """Pack an int8 weight matrix that satisfies the pattern (validated first)."""
    p = parse_pattern(pattern) if isinstance(pattern, str) else pattern
    w = _as_rows(weights)
    validate(w, p)
    rows, k = w.shape
    groups = w.reshape(rows, k // p.m, p.m)
    # Positions of each group's entries: its non-zeros first choice, then the lowest zero positions; sorted.
    order = np.argsort(groups == 0, axis=2, kind="stable")[:, :, :p.n]
    positions = np.sort(order, axis=2)
    vals = np.take_along_axis(groups, positions, axis=2).reshape(rows, -1)
    nnz = vals.shape[1]
    values = np.zeros((rows, -(-nnz // 4) * 4), dtype=np.int8)
    values[:, :nnz] = vals
    fpw = p.fields_per_word
    fields = np.zeros((rows, -(-nnz // fpw) * fpw), dtype=np.uint64)
    fields[:, :nnz] = positions.reshape(rows, -1)
    shifts = (np.arange(fpw, dtype=np.uint64) * p.bits)
    words = (fields.reshape(rows, -1, fpw) << shifts).sum(axis=2).astype(np.uint32)
    return PackedNM(p, rows, k, values, words)


def offsets_of(packed: PackedNM) -> np.ndarray:
    """The position (0..M-1) of every entry inside its group: [rows, nnz]."""
    p = packed.pattern
    shifts = np.arange(p.fields_per_word, dtype=np.uint32) * p.bits
    fields = (packed.offsets[:, :, None] >> shifts) & (p.m - 1)
    return fields.reshape(packed.rows, -1)[:, :packed.nnz].astype(np.int64)


def columns_of(packed: PackedNM) -> np.ndarray:
    """The reduction index each entry multiplies: group * M + offset, [rows, nnz]."""
    p = packed.pattern
    group = np.arange(packed.nnz) // p.n
    return group * p.m + offsets_of(packed)


def unpack(packed: PackedNM) -> np.ndarray:
    """The dense int8 matrix [rows, k] the packed form stands for."""
    dense = np.zeros((packed.rows, packed.k), dtype=np.int8)
    np.put_along_axis(dense, columns_of(packed), packed.values[:, :packed.nnz], axis=1)
    return dense


def prune(weights: np.ndarray, pattern: Pattern | str) -> np.ndarray:
    """Magnitude N:M pruning: keep the N largest |w| in every group of M (ties: lowest index)."""
    p = parse_pattern(pattern) if isinstance(pattern, str) else pattern
    w = np.asarray(weights)
    rows, k = w.shape
    if k % p.m:
        raise NMFormatError(f"reduction size {k} is not a multiple of M = {p.m} (pattern {p.name})")
    groups = w.reshape(rows, k // p.m, p.m)
    keep = np.argsort(-np.abs(groups.astype(np.float64)), axis=2, kind="stable")[:, :, :p.n]
    mask = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(mask, keep, True, axis=2)
    return np.where(mask, groups, 0).reshape(rows, k).astype(w.dtype)


def storage_bytes(rows: int, k: int, pattern: Pattern | str) -> int:
    """Bytes `pack` produces for a rows x k matrix, without packing it."""
    p = parse_pattern(pattern) if isinstance(pattern, str) else pattern
    nnz = k // p.m * p.n
    return rows * (4 * math.ceil(nnz / 4) + 4 * math.ceil(nnz / p.fields_per_word))
