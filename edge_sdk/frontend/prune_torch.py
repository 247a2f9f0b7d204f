"""N:M pruning of a PyTorch model with SR-STE fine-tuning (`edge_sdk.prune_torch`): Zhou et al. 2021, "Learning
N:M fine-grained structured sparse neural networks from scratch".

Every Conv2d (groups = 1) and Linear weight W becomes the parametrized W~ = W * M, where the mask M keeps the N
largest |W| of every group of M weights, grouped as the packed format reads them (`frontend/prune.py`:
conv weights along Kh*Kw*Cin with Cin fastest, linear weights along in_features) and recomputed from the dense
W at every forward pass. The backward pass is the sparse-refined straight-through estimator: the gradient
with respect to W~ goes to every dense weight, and the pruned ones also decay towards zero,

    g(W) = g(W~) + lambda_w * (1 - M) * W,

so weights that keep being pruned fade and the mask settles. After fine-tuning the masks are applied for good
(the parametrization removed, W replaced by W * M): the model, and the ONNX model exported from it, is exactly
N:M. With epochs = 0 this is magnitude pruning alone."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from edge_sdk.errors import EdgeSdkError, positive_int, positive_number
from edge_sdk.frontend.prune import LayerPruning, conv_groups_reason, parse_pattern, prune_weight
from riscv_ext import nm_format

LAMBDA_W = 2e-4   # the paper's sparse-refined decay


class _SparseRefinedSTE(torch.autograd.Function):
    """W -> W * M forward; backward g(W~) + lambda_w * (1 - M) * W."""

    @staticmethod
    def forward(ctx, weight, mask, lambda_w):
        ctx.save_for_backward(weight, mask)
        ctx.lambda_w = lambda_w
        return weight * mask

    @staticmethod
    def backward(ctx, grad):
        weight, mask = ctx.saved_tensors
        return grad + ctx.lambda_w * (~mask) * weight, None, None


class NMSparse(nn.Module):
    """The parametrization of a weight: its N:M-pruned view, the mask recomputed from the dense weight."""

    def __init__(self, pattern: nm_format.Pattern, layout: str, lambda_w: float):
        super().__init__()
        self.pattern, self.layout, self.lambda_w = pattern, layout, lambda_w

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        kept = prune_weight(weight.detach().cpu().numpy(), self.pattern, self.layout) != 0
        return _SparseRefinedSTE.apply(weight, torch.from_numpy(kept).to(weight.device), self.lambda_w)


@dataclass
class TorchPruning:
    """What prune_torch did: per layer (pruned or dense, and why); the mean training loss of each fine-tuning
    epoch; the loss on the fine-tuning data of the magnitude-pruned model before it and of the final exact N:M
    model (None without data)."""
    layers: list[LayerPruning]
    epoch_losses: list[float]
    loss_before: float | None
    loss_after: float | None


def _tensors(inputs, labels) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = torch.as_tensor(np.asarray(inputs), dtype=torch.float32), torch.as_tensor(np.asarray(labels))
    if len(x) == 0 or len(x) != len(y):
        raise EdgeSdkError(f"training data: {len(x)} inputs and {len(y)} labels; give as many of each (at least one)")
    return x, y


def mean_loss(model: nn.Module, inputs, labels, loss_fn: Callable = nn.functional.cross_entropy,
              batch_size: int = 256) -> float:
    """The model's mean loss over (inputs, labels), in eval mode and without gradients."""
    x, y = _tensors(inputs, labels)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        total = sum(float(loss_fn(model(x[i:i + batch_size]), y[i:i + batch_size])) * len(y[i:i + batch_size])
                    for i in range(0, len(x), batch_size))
    model.train(was_training)
    return total / len(x)


def train(model: nn.Module, inputs, labels, epochs: int, lr: float, batch_size: int = 64,
          loss_fn: Callable = nn.functional.cross_entropy, seed: int = 0) -> list[float]:
    """Minibatch SGD (momentum 0.9, the learning rate annealed from lr to 0 on a cosine over all steps, the
    batches shuffled with `seed`); the mean training loss of each epoch."""
    x, y = _tensors(inputs, labels)
    epochs, batch_size, lr = positive_int("epochs", epochs), positive_int("batch_size", batch_size), \
        positive_number("lr", lr)
    steps_per_epoch = math.ceil(len(x) / batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.train()
    losses = []
    for _ in range(epochs):
        total = 0.0
        for batch in torch.randperm(len(x), generator=generator).split(batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
    model.train(was_training)
    return losses


def _layout(module: nn.Module) -> tuple[str | None, str]:
    """(layout of the module's weight, or None and why it stays dense)."""
    if isinstance(module, nn.Conv2d):
        w = module.weight
        return ("oihw", "") if module.groups == 1 else (None, conv_groups_reason(module.groups, w.shape[1], w.shape[0]))
    return "out_in", ""


def prune_torch(model: nn.Module, pattern: str, data: tuple | None = None, epochs: int = 1, lr: float = 0.01,
                batch_size: int = 64, lambda_w: float = LAMBDA_W, loss_fn: Callable = nn.functional.cross_entropy,
                seed: int = 0) -> TorchPruning:
    """Prune `model`'s Conv2d and Linear weights to the N:M `pattern` ("1:8", ...) in place: SR-STE fine-tuning
    for `epochs` on data = (inputs, labels) with `train` (SGD, lr, batch_size, loss_fn), then the masks applied
    permanently. epochs = 0 (or no data) prunes by magnitude only. Depthwise / grouped convolutions and layers
    whose reduction is not a multiple of M stay dense. An EdgeSdkError when no layer can be pruned."""
    p = parse_pattern(pattern)
    if isinstance(lambda_w, bool) or not isinstance(lambda_w, (int, float)) or not lambda_w >= 0:
        raise EdgeSdkError(f"lambda_w must be a number >= 0, got {lambda_w!r}")
    if data is not None and len(data) != 2:
        raise EdgeSdkError("data must be a pair (inputs, labels)")
    decided = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            layout, reason = _layout(module)
            if layout is not None:
                try:
                    prune_weight(module.weight.detach().cpu().numpy(), p, layout)
                except nm_format.NMFormatError as err:
                    layout, reason = None, str(err)
            decided.append((name, module, layout, reason))
    pruned = [(module, layout) for _, module, layout, _ in decided if layout]
    if not pruned:
        why = "; ".join(f"{name}: {reason}" for name, _, _, reason in decided) or "it has no Conv2d or Linear layer"
        raise EdgeSdkError(f"the model has no layer that can be pruned to {p.name} ({why})")
    for module, layout in pruned:
        parametrize.register_parametrization(module, "weight", NMSparse(p, layout, float(lambda_w)))
    try:
        before = mean_loss(model, *data, loss_fn) if data is not None else None
        losses = train(model, *data, epochs, lr, batch_size, loss_fn, seed) if data is not None and epochs else []
    finally:
        for module, _ in pruned:
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    after = mean_loss(model, *data, loss_fn) if data is not None else None
    layers = [LayerPruning(name, type(module).__name__, tuple(module.weight.shape), p.name if layout else None,
                           reason, int(torch.count_nonzero(module.weight)), module.weight.numel())
              for name, module, layout, reason in decided]
    return TorchPruning(layers, losses, before, after)
