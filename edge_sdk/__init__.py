"""edge-sdk: take neural networks to edge devices and know their cycles, memory and cost before silicon."""
from edge_sdk.errors import EdgeSdkError

__all__ = ["EdgeSdkError", "compile", "prune", "prune_torch"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The entry points import onnx, TVM or PyTorch: only when they are used.
    if name == "compile":        # edge_sdk/compiler.py: ONNX -> int8 firmware (onnx, TVM)
        from edge_sdk.compiler import compile
        return compile
    if name == "prune":          # edge_sdk/frontend/prune.py: N:M magnitude pruning of an ONNX model (onnx)
        from edge_sdk.frontend.prune import prune
        return prune
    if name == "prune_torch":    # edge_sdk/frontend/prune_torch.py: SR-STE N:M fine-tuning (PyTorch)
        from edge_sdk.frontend.prune_torch import prune_torch
        return prune_torch
    raise AttributeError(f"module 'edge_sdk' has no attribute '{name}'")
