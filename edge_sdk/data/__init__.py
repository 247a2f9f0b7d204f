"""The data the SDK ships: images/ (MNIST, CIFAR-10 and Fashion-MNIST subsets), ecg/ (UCR ECG beats) and pitot/
(WebAssembly runtime measurements); each folder's README.md says where it comes from and its licence.
`root()` is this folder, or the directory named by the EDGE_SDK_DATA environment variable (the same layout)."""
from __future__ import annotations

import os
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent
ENV = "EDGE_SDK_DATA"


def root(override: str | Path | None = None) -> Path:
    """The data directory: `override` (e.g. a --data option), else $EDGE_SDK_DATA, else the shipped one."""
    return Path(override or os.environ.get(ENV) or SHIPPED)
