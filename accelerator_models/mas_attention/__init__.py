"""Attention on the edge NPU: layer-wise, FLAT, FlashAttention-2-style and MAS-Attention schedules, each with
its tiling found by the same search on the same engine, every schedule executed numerically."""
