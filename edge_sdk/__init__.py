"""edge-sdk: take neural networks to edge devices and know their cycles, memory and cost before silicon."""
from edge_sdk.errors import EdgeSdkError

__all__ = ["EdgeSdkError", "compile"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # `edge_sdk.compile` (edge_sdk/compiler.py) imports onnx and TVM: only when it is used.
    if name == "compile":
        from edge_sdk.compiler import compile
        return compile
    raise AttributeError(f"module 'edge_sdk' has no attribute '{name}'")
