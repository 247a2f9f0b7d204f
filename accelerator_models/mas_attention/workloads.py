"""The attention layers the schedules are compared on: (batch x heads) independent heads, each
O = softmax(Q K^T / sqrt(d)) V with Q (seq_q x d), K and V (seq_kv x d)."""
from __future__ import annotations

from dataclasses import dataclass

from accelerator_models.common.errors import ModelError


@dataclass(frozen=True)
class Attention:
    name: str
    heads: int          # batch x attention heads: independent, identical in shape
    seq_q: int
    seq_kv: int
    head_dim: int
    about: str

    def to_json(self) -> dict:
        return dict(vars(self))

    def with_heads(self, heads: int) -> "Attention":
        return Attention(self.name, heads, self.seq_q, self.seq_kv, self.head_dim, self.about)


def _table() -> dict:
    w = [Attention("bert-base", 12, 512, 512, 64, "BERT-base encoder layer, sequence 512, batch 1"),
         Attention("bert-large", 16, 512, 512, 64, "BERT-large encoder layer, sequence 512, batch 1"),
         Attention("vit-b16", 12, 197, 197, 64, "ViT-B/16 at 224x224 (196 patches + class token), batch 1"),
         Attention("minilm-l6", 12, 128, 128, 32, "all-MiniLM-L6-v2 layer (hidden 384), 128 tokens; real weights "
                   "with --real-data")]
    for n in (512, 1024, 2048, 4096):
        w.append(Attention(f"llama-{n}", 32, n, n, 128, f"Llama-2-7B-style decoder layer, prefill of {n} tokens"))
    # Stable Diffusion v1.5 UNet (512x512 images, 64x64 latent): self-attention at each resolution, 8 heads.
    for tokens, width in ((4096, 320), (1024, 640), (256, 1280)):
        w.append(Attention(f"sd-unet-self-{tokens}", 8, tokens, tokens, width // 8,
                           f"Stable Diffusion v1.5 UNet self-attention, {tokens} latent tokens, width {width}"))
    w.append(Attention("sd-unet-cross-4096", 8, 4096, 77, 40,
                       "Stable Diffusion v1.5 UNet cross-attention, 4096 latent tokens x 77 text tokens"))
    return {a.name: a for a in w}


WORKLOADS = _table()


def get(name: str) -> Attention:
    if name not in WORKLOADS:
        raise ModelError(f"unknown workload '{name}'; built-in workloads: {', '.join(WORKLOADS)} "
                         "(edge-sdk npu attention --list-workloads)")
    return WORKLOADS[name]


def parse_custom(text: str) -> Attention:
    """'HEADSxSEQ_QxSEQ_KVxDIM', e.g. '2x64x64x16'."""
    try:
        h, q, k, d = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ModelError(f"a custom workload is HEADSxSEQ_QxSEQ_KVxDIM (e.g. 2x64x64x16), got '{text}'") from None
    if min(h, q, k, d) < 1:
        raise ModelError(f"every dimension of a workload must be positive, got '{text}'")
    return Attention(f"custom-{text}", h, q, k, d, "custom attention shape")
