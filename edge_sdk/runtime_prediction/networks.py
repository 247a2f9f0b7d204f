"""The log-runtime networks, all with one interface: forward(workload, platform, interferers) -> (B, heads).

- PitotNet: linear-scaling baseline C (platform term + workload term) plus <w_i, p_j> from two embedding
  towers (MLPs over side features + learned free features) plus the interference term
  sum_t S_t * LeakyReLU_0.1(M_t), S_t = <w_i, Vs_{j,t}>, M_t = sum_k <w_k, Vg_{j,t}> over the co-located
  workloads k (their own workload embeddings, as the paper's formula intends).
- MLPNet: a plain MLP over concatenated [workload features, platform features, summed interferer features].
- AttentionNet: one self-attention layer over tokens [workload, platform, interferers], read at the workload.
Every head shares the trunk; head 0 is trained for the mean, heads 1.. for quantiles.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Tower(nn.Module):
    """MLP over an item's side features concatenated with its learned free features."""

    def __init__(self, features: torch.Tensor, free: int, hidden: int, out: int):
        super().__init__()
        self.register_buffer("features", features)
        self.free = nn.Parameter(torch.randn(len(features), free) * 0.1) if free else None
        width = features.shape[1] + free
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, out))

    def forward(self) -> torch.Tensor:
        x = self.features if self.free is None else torch.cat([self.features, self.free], dim=1)
        return self.mlp(x)


class PitotNet(nn.Module):
    def __init__(self, wf: torch.Tensor, pf: torch.Tensor, baseline: torch.Tensor, heads: int, rank: int = 32,
                 interference_dims: int = 2, free: int = 4, hidden: int = 128, interference: bool = True):
        super().__init__()
        self.heads, self.rank, self.s = heads, rank, interference_dims if interference else 0
        self.register_buffer("baseline", baseline)  # (workloads, platforms) linear-scaling prediction
        self.workload_tower = Tower(wf, free, hidden, heads * rank)
        # The interference projections (Vs, Vg) are shared by the heads: they act on the mean head's workload
        # embeddings and the resulting term is added to every head.
        self.platform_tower = Tower(pf, free, hidden, heads * rank + 2 * rank * self.s)

    def forward(self, workload: torch.Tensor, platform: torch.Tensor, interferers: torch.Tensor) -> torch.Tensor:
        H, r, s = self.heads, self.rank, self.s
        W = self.workload_tower().view(-1, H, r)
        P = self.platform_tower()
        n_p = len(P)
        w = W[workload]                                                   # (B, H, r)
        p = P[:, :H * r].view(n_p, H, r)[platform]
        out = self.baseline[workload, platform].unsqueeze(1) + (w * p).sum(-1)
        present = interferers >= 0
        if s and bool(present.any()):
            vs = P[:, H * r:H * r + r * s].view(n_p, r, s)[platform]                      # (B, r, s)
            vg = P[:, H * r + r * s:].view(n_p, r, s)[platform]
            others = (W[interferers.clamp(min=0), 0] * present[..., None].to(W.dtype)).sum(1)  # (B, r)
            susceptibility = torch.einsum("br,brs->bs", w[:, 0], vs)
            magnitude = torch.einsum("br,brs->bs", others, vg)
            out = out + (susceptibility * F.leaky_relu(magnitude, 0.1)).sum(-1, keepdim=True)
        return out


class MLPNet(nn.Module):
    def __init__(self, wf: torch.Tensor, pf: torch.Tensor, heads: int, hidden: int = 256):
        super().__init__()
        self.register_buffer("wf", wf)
        self.register_buffer("pf", pf)
        self.mlp = nn.Sequential(nn.Linear(2 * wf.shape[1] + pf.shape[1], hidden), nn.GELU(),
                                 nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, heads))

    def forward(self, workload, platform, interferers):
        mask = (interferers >= 0).unsqueeze(-1).to(self.wf.dtype)
        others = (self.wf[interferers.clamp(min=0)] * mask).sum(1)
        return self.mlp(torch.cat([self.wf[workload], self.pf[platform], others], dim=1))


class AttentionNet(nn.Module):
    def __init__(self, wf: torch.Tensor, pf: torch.Tensor, heads: int, dim: int = 64, attn_heads: int = 4):
        super().__init__()
        self.register_buffer("wf", wf)
        self.register_buffer("pf", pf)
        self.embed_w = nn.Linear(wf.shape[1], dim)
        self.embed_p = nn.Linear(pf.shape[1], dim)
        self.role = nn.Parameter(torch.randn(3, dim) * 0.1)  # target workload, platform, co-located workload
        self.attn = nn.MultiheadAttention(dim, attn_heads, batch_first=True)
        self.ff = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.out = nn.Linear(dim, heads)

    def forward(self, workload, platform, interferers):
        tokens = [self.embed_w(self.wf[workload]) + self.role[0], self.embed_p(self.pf[platform]) + self.role[1]]
        tokens += [self.embed_w(self.wf[interferers[:, k].clamp(min=0)]) + self.role[2]
                   for k in range(interferers.shape[1])]
        x = torch.stack(tokens, dim=1)
        pad = torch.cat([torch.zeros(len(workload), 2, dtype=torch.bool, device=x.device), interferers < 0], dim=1)
        y, _ = self.attn(x, x, x, key_padding_mask=pad)
        h = x[:, 0] + y[:, 0]
        return self.out(h + self.ff(h))
