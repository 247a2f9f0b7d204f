"""What the lowering produces: int8 tensors, layers (one kernel call each, with their constant data) and the
program (layers in execution order, the model's input and output, the memory plan).

Storage: a 4-D tensor (N = 1, logical NCHW as in ONNX) is stored HWC, channels fastest, as the kernels read
it; every other tensor is stored in its logical row-major order."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from edge_sdk.lowering.quant import QParams

if TYPE_CHECKING:
    from edge_sdk.lowering.memory import Plan


@dataclass(eq=False)
class Tensor:
    name: str
    shape: tuple[int, ...]        # logical (ONNX) shape
    q: QParams
    base: Tensor | None = None    # a view: the same bytes as `base` (a reshape that moves no data)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape)

    @property
    def buffer(self) -> Tensor:
        return self if self.base is None else self.base.buffer

    @property
    def hwc(self) -> bool:
        return len(self.shape) == 4

    @property
    def hwc_moves_data(self) -> bool:
        """True when the HWC storage order differs from the logical order (more than one channel and pixel)."""
        return self.hwc and self.shape[1] > 1 and self.shape[2] * self.shape[3] > 1

    def to_storage(self, logical: np.ndarray) -> np.ndarray:
        """An array of the logical shape in storage order (flat)."""
        return (logical.transpose(0, 2, 3, 1) if self.hwc else logical).reshape(-1)

    def from_storage(self, flat: np.ndarray) -> np.ndarray:
        """Bytes in storage order as an array of the logical shape."""
        if self.hwc:
            n, c, h, w = self.shape
            return flat.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return flat.reshape(self.shape)


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
    pattern: str | None = None    # "N:M" of a sparse layer

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
