"""MEADOW on the edge-NPU model: the GEMM and token-parallel head-sequential (TPHS) dataflows of an int8
transformer layer, prefill and decode, and lossless weight packing."""
