"""What the lowering produces: int8 tensors (and int32 ones: a model output that is an exact integer sum), layers (one kernel call each, with their constant data) and the
program (layers in execution order, the model's input and output, the memory plan).

Storage: a tensor is dense in some order of its logical axes (`Tensor.order`, outermost first): by default a
4-D tensor (N = 1, logical NCHW as in ONNX) is stored HWC, channels fastest, as the conv kernels read it, and
every other tensor row-major; a transpose, or a reshape that keeps the bytes in place, gives a tensor another
order without moving data (a view: the bytes of `base`, from `offset` on)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from edge_sdk.lowering.quant import QParams

if TYPE_CHECKING:
    from edge_sdk.lowering.memory import Plan


HWC = (0, 2, 3, 1)                # the storage order of an NCHW image stored HWC


def row_major(rank: int) -> tuple[int, ...]:
    return tuple(range(rank))


@dataclass(eq=False)
class Tensor:
    name: str
    shape: tuple[int, ...]        # logical (ONNX) shape
    q: QParams
    base: Tensor | None = None    # a view: bytes of `base` (a transpose or reshape that moves no data, a slice)
    perm: tuple[int, ...] | None = None   # the storage order of the logical axes; None: HWC for 4-D, else row-major
    offset: int = 0               # a view's first byte within its base
    dtype: str = "int8"           # the stored elements: "int8", or "int32" (an int32 output, integer.py)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    @property
    def buffer(self) -> Tensor:
        return self if self.base is None else self.base.buffer

    @property
    def storage_offset(self) -> int:
        """The first byte of the tensor within its buffer."""
        return self.offset + (0 if self.base is None else self.base.storage_offset)

    @property
    def order(self) -> tuple[int, ...]:
        if self.perm is not None:
            return self.perm
        return HWC if len(self.shape) == 4 else row_major(len(self.shape))

    @property
    def strides(self) -> tuple[int, ...]:
        """The distance in elements (bytes of an int8 tensor) between neighbours along each logical axis."""
        strides, step = [0] * len(self.shape), 1
        for axis in reversed(self.order):
            strides[axis], step = step, step * self.shape[axis]
        return tuple(strides)

    def to_storage(self, logical: np.ndarray) -> np.ndarray:
        """An array of the logical shape in storage order (flat)."""
        return logical.transpose(self.order).reshape(-1)

    def from_storage(self, flat: np.ndarray) -> np.ndarray:
        """Bytes in storage order as an array of the logical shape."""
        return flat.reshape([self.shape[a] for a in self.order]).transpose(np.argsort(self.order))


# Arguments of a kernel call, rendered by the C generator.
@dataclass(frozen=True)
class In:
    index: int                    # the layer's input tensor


@dataclass(frozen=True)
class Out:
    pass


@dataclass(frozen=True)
class Scratch:
    pass


@dataclass(frozen=True)
class Data:
    role: str                     # a constant array of the layer (Layer.data)


@dataclass(frozen=True)
class Struct:
    ctype: str                    # a static const struct passed by address, e.g. conv_shape_t
    fields: tuple                 # ints and Data


@dataclass(eq=False)
class Layer:
    name: str                     # unique: "<op>_<index>"
    op: str                       # what it computes: conv2d, depthwise_conv2d, dense, add, max_pool2d, ...
    kind: str                     # "dense" / "sparse-sw" / "sparse-ext" (a weight layer's kernel) or "glue"
    function: str                 # the C kernel it calls
    args: tuple                   # In, Out, Scratch, Data, Struct or int, in the kernel's order
    inputs: list[Tensor]
    output: Tensor
    about: str = ""               # one line for people: shapes and parameters
    data: dict[str, np.ndarray] = field(default_factory=dict)   # constant arrays (int8 / int32)
    macs: int = 0                 # dense-equivalent MACs
    scratch_bytes: int = 0
    pattern: str | None = None    # "N:M" the weights follow (run sparse, or dense where that is predicted faster)

    @property
    def weight_bytes(self) -> int:
        return sum(a.nbytes for a in self.data.values())


@dataclass
class Program:
    input: Tensor
    output: Tensor
    layers: list[Layer]
    isa: str
    memory: str
    plan: Plan
    # Where the constant arrays (weights.c) go: "ram" (DMEM), "flash" (IMEM, the `.flash` section) or "auto"
    # (RAM while everything fits the data memory, what does not fit in flash); memory.check_fits places them.
    weights: str = "auto"
    flash: frozenset[tuple[str, str]] = frozenset()   # (layer name, data role) of every array placed in flash

    def in_flash(self, layer: Layer, role: str) -> bool:
        return (layer.name, role) in self.flash
