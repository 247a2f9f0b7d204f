"""edge-sdk: take neural networks to edge devices and know their cycles, memory and cost before silicon."""
from edge_sdk.errors import EdgeSdkError

__all__ = ["EdgeSdkError"]
__version__ = "0.1.0"
