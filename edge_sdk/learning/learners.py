"""Host-side learners, scikit-learn estimators (`fit`, `partial_fit`, `predict`, `score`; `get_params` and
`sklearn.base.clone` work), PyTorch on the CPU.

- `BioFO`: greedy layer-by-layer training; layer l computes h_l = ReLU(W_l h_{l-1} + b_l) and is trained
  through its own FIXED random head y_l = B_l h_l (Gaussian, or the sparse ternary variant) with a local
  cross-entropy loss; the input of layer l is detached, so no gradient crosses layers. Adam, as the paper.
- `Backprop`: the same architecture trained end to end (the baseline); `DRTP`, `PEPITA` and
  `ForwardForward`: the other forward-only or backprop-free baselines. Each class's defaults are its paper's or
  reference implementation's hyperparameters; the CLI and the benchmark take them from here.
All record the edge figures: peak training memory, a tally of the storages alive at a training step
(parameters and fixed matrices, gradients, optimiser state, the batch and the activations kept: autograd's saved
tensors, seen through saved-tensor hooks), each storage counted once; and MACs per training sample. Bio-FO
streams: the frozen layers run on each batch, no activations of the whole training set are cached.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn
from torch.nn import functional as F

from edge_sdk.errors import EdgeSdkError, positive_int, positive_number
from edge_sdk.learning import inputs


def _check(X, y=None, n_features: int | None = None, n_classes: int | None = None):
    """(X, y) as tensors; float32 X is shared, not copied."""
    X = inputs.features(X, dtype=np.float32)
    if n_features is not None and X.shape[1] != n_features:
        raise EdgeSdkError(f"X has {X.shape[1]} features, the model was fitted with {n_features}")
    Xt = torch.from_numpy(X)
    if y is None:
        return Xt, None
    yt = torch.from_numpy(inputs.labels(y, len(X)))
    if n_classes is not None:
        _check_classes(yt, n_classes)
    return Xt, yt


def _check_classes(y: torch.Tensor, n_classes: int) -> None:
    if y.max() >= n_classes:
        raise EdgeSdkError(f"labels must lie in 0..{n_classes - 1}, got {int(y.min())}..{int(y.max())}")


class _Saved:
    """The tensors autograd keeps for the backward pass of the step run inside it."""

    def __init__(self):
        self.tensors = []

    def pack(self, t: torch.Tensor):
        self.tensors.append(t)
        return t

    def __enter__(self):
        self._ctx = torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def _bytes(tensors) -> int:
    """Bytes of the tensors' storages, each storage counted once (a parameter that autograd saves, views of one
    matrix, a batch that is also saved: all share a storage)."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


class _Learner(ClassifierMixin, BaseEstimator):
    def __init__(self, layers=(256, 256), epochs: int = 10, lr: float = 1e-3, batch_size: int = 100,
                 seed: int = 0, progress=None):
        self.layers, self.epochs, self.lr, self.batch_size = layers, epochs, lr, batch_size
        self.seed, self.progress = seed, progress

    def _validate(self) -> None:
        """The hyperparameters, checked when training starts (scikit-learn's convention: set_params and clone
        bypass the constructor)."""
        layers = list(self.layers) if isinstance(self.layers, (list, tuple)) else None
        if not layers or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in layers):
            raise EdgeSdkError(f"layers must be a non-empty list of positive widths, got {self.layers!r}")
        positive_int("epochs", self.epochs)
        positive_number("lr", self.lr)
        if self.batch_size is not None or not self._full_batch_allowed:
            positive_int("batch_size", self.batch_size)

    _full_batch_allowed = False  # batch_size=None: the whole training set in one batch

    def _setup(self, n_features: int, n_classes: int) -> None:
        self._validate()
        torch.manual_seed(self.seed)
        self.n_features_in_, self.n_classes_ = n_features, n_classes
        self.classes_ = np.arange(n_classes)
        widths = [n_features, *self.layers]
        self.hidden_ = nn.ModuleList(nn.Linear(i, o) for i, o in zip(widths[:-1], widths[1:]))
        self.peak_train_memory_bytes_ = 0
        self.history_ = []

    def _record_memory(self, resident, optimizer) -> None:
        """After a training step: the bytes of every storage alive for it, each once: `resident` (parameters,
        fixed matrices, the batch and the activations kept, e.g. autograd's saved tensors) plus the
        optimiser's gradients and state."""
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        state = [v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
        self.peak_train_memory_bytes_ = max(self.peak_train_memory_bytes_, _bytes([*resident, *grads, *state]))

    def _start_fit(self, X, y, classes: int | None):
        """Validate (X, y), build the model, and return tensors and the sample-order generator."""
        Xt, yt = _check(X, y)
        self._setup(Xt.shape[1], classes or int(yt.max()) + 1)
        _check_classes(yt, self.n_classes_)
        return Xt, yt, np.random.default_rng(self.seed)

    def _batch_indices(self, n: int, rng):
        perm = torch.from_numpy(rng.permutation(n))
        size = self.batch_size or n
        for i in range(0, n, size):
            yield perm[i:i + size]

    def _batches(self, X, y, rng):
        for idx in self._batch_indices(len(X), rng):
            yield X[idx], y[idx]

    def _fitted(self):
        if not hasattr(self, "hidden_"):
            raise EdgeSdkError(f"this {type(self).__name__} is not fitted yet: call fit() first")


class BioFO(_Learner):
    def __init__(self, layers=(256, 256), epochs: int = 10, lr: float = 1e-3, batch_size: int = 100,
                 head: str = "gaussian", seed: int = 0, progress=None):
        super().__init__(layers, epochs, lr, batch_size, seed, progress)
        self.head = head

    def _validate(self) -> None:
        super()._validate()
        if self.head not in ("gaussian", "ternary"):
            raise EdgeSdkError(f"head must be 'gaussian' or 'ternary', got '{self.head}'")

    def _setup(self, n_features, classes):
        super()._setup(n_features, classes)
        self._setup_heads(classes)

    def _setup_heads(self, classes):
        """Fixed heads (plain tensors, never given to an optimiser), applied as logits = scale * h @ B.T.
        Gaussian: one matrix per layer, std 1/sqrt(width). Ternary: ONE matrix shared by every layer (1/6 +1,
        1/6 -1, the rest 0, as wide as the widest layer); a narrower layer uses its first columns (a view of the
        same storage) and every layer scales by sqrt(3 / width)."""
        g = torch.Generator().manual_seed(self.seed + 1)
        widths = self._widths()
        if self.head == "gaussian":
            self.heads_ = [torch.randn(classes, w, generator=g) for w in widths]
            self.head_scales_ = [w ** -0.5 for w in widths]
        else:
            u = torch.rand(classes, max(widths), generator=g)
            shared = (u < 1 / 6).float() - (u > 5 / 6).float()
            self.heads_ = [shared[:, :w] for w in widths]
            self.head_scales_ = [(3 / w) ** 0.5 for w in widths]
        self.trained_layers_ = 0

    def _logits(self, l: int, h: torch.Tensor) -> torch.Tensor:
        """What layer l's fixed head makes of the layer's output h."""
        return self.head_scales_[l] * (self._head_input(l, h) @ self.heads_[l].T)

    def _layer(self, l: int, h: torch.Tensor) -> torch.Tensor:
        """Output of hidden layer l (flattened), from the output of layer l - 1."""
        return F.relu(self.hidden_[l](h))

    def _features(self, X, upto: int) -> torch.Tensor:
        h = X
        for l in range(upto):
            h = self._layer(l, h)
        return h

    def fit(self, X, y, classes: int | None = None):
        Xt, yt, rng = self._start_fit(X, y, classes)
        for l in range(len(self.layers)):
            self._train_layer(l, Xt, yt, self.epochs, rng)
        return self

    def partial_fit(self, X, y, classes: int | None = None):
        """One pass over (X, y) for the layer being trained (streaming data on the device): layers are trained
        in order; call `next_layer()` to freeze the current one and start the next."""
        if not hasattr(self, "hidden_"):
            Xt, _ = _check(X)
            if classes is None:
                raise EdgeSdkError("the first partial_fit call needs classes=")
            self._setup(Xt.shape[1], classes)
        Xt, yt = _check(X, y, self.n_features_in_, self.n_classes_)
        self._train_layer(self.trained_layers_, Xt, yt, 1, np.random.default_rng(self.seed))
        return self

    def next_layer(self) -> None:
        self._fitted()
        if self.trained_layers_ >= len(self.layers) - 1:
            raise EdgeSdkError("every layer is already trained")
        self.trained_layers_ += 1

    def _widths(self) -> list:
        """Features each layer's head sees."""
        return list(self.layers)

    def _head_input(self, l: int, h: torch.Tensor) -> torch.Tensor:
        return h

    def _train_layer(self, l: int, X, y, epochs: int, rng) -> None:
        layer = self.hidden_[l]
        opt = torch.optim.Adam(layer.parameters(), lr=self.lr)
        for epoch in range(epochs):
            for xb, yb in self._batches(X, y, rng):
                # Streaming, as on a device: the frozen earlier layers run on each batch (no graph), no
                # activations of the whole training set are kept.
                with torch.no_grad():
                    hb = self._features(xb, l)
                with _Saved() as saved:
                    loss = F.cross_entropy(self._logits(l, self._layer(l, hb)), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                # Every layer's parameters and heads stay in memory; only this layer has optimiser state.
                self._record_memory([*self.hidden_.parameters(), *self.heads_, xb, hb, *saved.tensors], opt)
            if self.progress:
                self.progress(layer=l, epoch=epoch)
        layer.zero_grad(set_to_none=True)  # a frozen layer keeps no gradients
        self.trained_layers_ = l

    def predict_layer(self, X, layer: int) -> np.ndarray:
        """Predictions of the head of `layer` (accuracy per layer, as the paper reports)."""
        self._fitted()
        Xt, _ = _check(X, n_features=self.n_features_in_)
        with torch.no_grad():
            return self._logits(layer, self._layer(layer, self._features(Xt, layer))).argmax(1).numpy()

    def predict(self, X) -> np.ndarray:
        self._fitted()
        return self.predict_layer(X, self.trained_layers_)

    def _layer_macs(self) -> list:
        """MACs of one forward pass of each layer for one sample."""
        widths = [self.n_features_in_, *self.layers]
        return [i * o for i, o in zip(widths[:-1], widths[1:])]

    def train_macs_per_sample(self) -> int:
        """Per sample and epoch of every layer: the layer's forward pass and weight gradient (its input is
        detached: no input gradient), its head's forward and backward pass, and the frozen layers before it run
        again (streaming)."""
        macs = self._layer_macs()
        return sum(2 * m + 2 * self.n_classes_ * w + sum(macs[:l])
                   for l, (m, w) in enumerate(zip(macs, self._widths())))


class LocallyConnected2d(nn.Module):
    """A 3x3, padding-1 layer whose filters are not shared between positions (the paper's locally connected
    layers): out[o, p] = sum_{i,k} W[p, o, i*9+k] x[i, p+k] + b[o, p]."""

    def __init__(self, c_in: int, c_out: int, h: int, w: int):
        super().__init__()
        self.h, self.w, self.c_out = h, w, c_out
        bound = 1 / math.sqrt(9 * c_in)
        self.weight = nn.Parameter(torch.empty(h * w, c_out, 9 * c_in).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(c_out, h * w))

    def forward(self, x):
        cols = F.unfold(x, 3, padding=1)                                   # (n, 9 c_in, positions)
        out = torch.einsum("nkp,pok->nop", cols, self.weight) + self.bias
        return out.reshape(len(x), self.c_out, self.h, self.w)


class _ConvBlocks:
    """The convolutional variants' layers (the paper's VGG-style blocks): 3x3 convolution (`connectivity`
    'conv') or 3x3 locally connected layer ('local'), ReLU, 2x2 max-pool; `layers` are the channel counts,
    `image_shape` (height, width, channels) the layout of a flattened row."""

    def _validate(self) -> None:
        super()._validate()
        if self.connectivity not in ("conv", "local"):
            raise EdgeSdkError(f"connectivity must be 'conv' or 'local', got '{self.connectivity}'")
        shape = tuple(self.image_shape) if isinstance(self.image_shape, (list, tuple)) else ()
        if len(shape) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in shape):
            raise EdgeSdkError(f"image_shape must be (height, width, channels), got {self.image_shape!r}")

    def _conv_setup(self, n_features: int):
        h, w, c = self.image_shape
        if h * w * c != n_features:
            raise EdgeSdkError(f"image_shape {tuple(self.image_shape)} has {h * w * c} values, X has {n_features} features")
        self.hidden_ = nn.ModuleList()
        self.shapes_ = []
        for out in self.layers:
            if min(h, w) < 2:
                raise EdgeSdkError(f"too many conv layers for a {self.image_shape[0]}x{self.image_shape[1]} image")
            self.hidden_.append(nn.Conv2d(c, out, 3, padding=1) if self.connectivity == "conv"
                                else LocallyConnected2d(c, out, h, w))
            self.shapes_.append((c, h, w))
            c, h, w = out, h // 2, w // 2
        self.out_shape_ = (c, h, w)

    def _layer(self, l: int, h: torch.Tensor) -> torch.Tensor:
        """Output of block l (flattened), from the output of block l - 1 (or the flattened image)."""
        if l == 0:
            hh, ww, cc = self.image_shape
            h = h.reshape(len(h), hh, ww, cc).permute(0, 3, 1, 2)
        else:
            h = h.reshape(len(h), *self.shapes_[l])
        return F.max_pool2d(F.relu(self.hidden_[l](h)), 2).flatten(1)

    def _head_input(self, l: int, h: torch.Tensor) -> torch.Tensor:
        """What block l's fixed head sees: a locally connected block's whole output; a convolution's output
        average-pooled to at most 4 x 4 positions (shared filters cannot fit a random head over every position)."""
        if self.connectivity == "local":
            return h
        _, hh, ww = self.shapes_[l]
        return F.adaptive_avg_pool2d(h.reshape(len(h), self.layers[l], hh // 2, ww // 2), self._pooled(l)).flatten(1)

    def _pooled(self, l: int) -> tuple:
        _, hh, ww = self.shapes_[l]
        return min(4, hh // 2), min(4, ww // 2)

    def _widths(self) -> list:
        """Features each block's head sees."""
        if self.connectivity == "local":
            return [out * (s[1] // 2) * (s[2] // 2) for out, s in zip(self.layers, self.shapes_)]
        return [out * math.prod(self._pooled(l)) for l, out in enumerate(self.layers)]

    def _layer_macs(self) -> list:
        return [9 * c * out * h * w for out, (c, h, w) in zip(self.layers, self.shapes_)]

    def _conv_macs(self) -> int:
        return sum(self._layer_macs())


class BioFOConv(_ConvBlocks, BioFO):
    """Bio-FO with convolutional layers: each block trained greedily through its own fixed random head on its
    flattened, pooled output; inputs detached, as the dense variant."""

    def __init__(self, layers=(32, 64), epochs: int = 10, lr: float = 1e-3, batch_size: int = 100,
                 head: str = "gaussian", image_shape=(28, 28, 1), connectivity: str = "local", seed: int = 0,
                 progress=None):
        super().__init__(layers, epochs, lr, batch_size, head, seed, progress)
        self.image_shape, self.connectivity = image_shape, connectivity

    def _setup(self, n_features, classes):
        _Learner._setup(self, n_features, classes)
        self._conv_setup(n_features)
        self._setup_heads(classes)


class Backprop(_Learner):
    def _setup(self, n_features, classes):
        super()._setup(n_features, classes)
        self.out_ = nn.Linear(self.layers[-1], classes)

    def _forward(self, X):
        h = X
        for layer in self.hidden_:
            h = F.relu(layer(h))
        return self.out_(h)

    def fit(self, X, y, classes: int | None = None):
        Xt, yt, rng = self._start_fit(X, y, classes)
        params = list(self.hidden_.parameters()) + list(self.out_.parameters())
        opt = torch.optim.Adam(params, lr=self.lr)
        for epoch in range(self.epochs):
            for xb, yb in self._batches(Xt, yt, rng):
                with _Saved() as saved:
                    loss = self._loss(xb, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                self._record_memory([*params, xb, *saved.tensors], opt)
            if self.progress:
                self.progress(layer=None, epoch=epoch)
        return self

    def _loss(self, xb, yb):
        return F.cross_entropy(self._forward(xb), yb)

    def predict(self, X) -> np.ndarray:
        self._fitted()
        Xt, _ = _check(X, n_features=self.n_features_in_)
        with torch.no_grad():
            return self._forward(Xt).argmax(1).numpy()

    def train_macs_per_sample(self) -> int:
        widths = [self.n_features_in_, *self.layers, self.n_classes_]
        return sum(3 * i * o for i, o in zip(widths[:-1], widths[1:]))


class BackpropConv(_ConvBlocks, Backprop):
    """Backpropagation through the same convolutional blocks and a linear output layer."""

    def __init__(self, layers=(32, 64), epochs: int = 10, lr: float = 1e-3, batch_size: int = 100,
                 image_shape=(28, 28, 1), connectivity: str = "local", seed: int = 0, progress=None):
        super().__init__(layers, epochs, lr, batch_size, seed, progress)
        self.image_shape, self.connectivity = image_shape, connectivity

    def _setup(self, n_features, classes):
        _Learner._setup(self, n_features, classes)
        self._conv_setup(n_features)
        self.out_ = nn.Linear(math.prod(self.out_shape_), classes)

    def _forward(self, X):
        h = X
        for l in range(len(self.hidden_)):
            h = self._layer(l, h)
        return self.out_(h)

    def train_macs_per_sample(self) -> int:
        return 3 * (self._conv_macs() + math.prod(self.out_shape_) * self.n_classes_)


class DRTP(Backprop):
    """Direct Random Target Projection (Frenkel et al. 2021): each hidden layer k is updated with the one-hot
    target projected by a fixed random matrix, delta_k = (B_k^T y*) * f'(a_k), its input detached; only the
    output layer sees the true error. Hidden units are tanh, as in the paper."""

    def _setup(self, n_features, classes):
        super()._setup(n_features, classes)
        g = torch.Generator().manual_seed(self.seed + 2)
        self.projections_ = [torch.randn(classes, w, generator=g) / w ** 0.5 for w in self.layers]

    def _forward(self, X):
        h = X
        for layer in self.hidden_:
            h = torch.tanh(layer(h))
        return self.out_(h)

    def _loss(self, xb, yb):
        target = F.one_hot(yb, self.n_classes_).float()
        h, loss = xb, 0.0
        for layer, B in zip(self.hidden_, self.projections_):
            h = torch.tanh(layer(h.detach()))
            # d(loss)/d(a_k) = -(y* B_k) * tanh'(a_k): the DRTP update, written as a surrogate loss.
            loss = loss - (h * (target @ B)).sum(1).mean()
        return loss + F.cross_entropy(self.out_(h.detach()), yb)


class PEPITA(_Learner):
    """PEPITA (Dellaferrera & Kreiman 2022): two forward passes, the second on the input modulated by the
    output error through a fixed random matrix F; hidden updates (h - h_mod) h_mod_prev^T, output update
    e h_mod_prev^T; SGD with momentum 0.9 (the paper's lr 0.01, F scale 0.05)."""

    def __init__(self, layers=(256, 256), epochs: int = 10, lr: float = 0.01, batch_size: int = 64,
                 seed: int = 0, progress=None):
        super().__init__(layers, epochs, lr, batch_size, seed, progress)

    def _setup(self, n_features, classes):
        super()._setup(n_features, classes)
        self.out_ = nn.Linear(self.layers[-1], classes, bias=False)
        g = torch.Generator().manual_seed(self.seed + 3)
        self.F_ = 0.05 * (2 * torch.rand(n_features, classes, generator=g) - 1) * (6 / n_features) ** 0.5

    def _states(self, X):
        hs = [X]
        for layer in self.hidden_:
            hs.append(F.relu(layer(hs[-1])))
        return hs

    def fit(self, X, y, classes: int | None = None):
        Xt, yt, rng = self._start_fit(X, y, classes)
        params = list(self.hidden_.parameters()) + list(self.out_.parameters())
        opt = torch.optim.SGD(params, lr=self.lr, momentum=0.9)
        with torch.no_grad():
            for epoch in range(self.epochs):
                for xb, yb in self._batches(Xt, yt, rng):
                    hs = self._states(xb)
                    e = F.softmax(self.out_(hs[-1]), 1) - F.one_hot(yb, self.n_classes_).float()
                    hm = self._states(xb - e @ self.F_.T)
                    n = len(xb)
                    for k, layer in enumerate(self.hidden_):
                        diff = hs[k + 1] - hm[k + 1]
                        layer.weight.grad = diff.T @ hm[k] / n
                        layer.bias.grad = diff.mean(0)
                    self.out_.weight.grad = e.T @ hm[-1] / n
                    opt.step()
                    # Both passes' activations are alive at the update: that is PEPITA's memory.
                    self._record_memory([*params, self.F_, *hs, *hm], opt)
                if self.progress:
                    self.progress(layer=None, epoch=epoch)
        return self

    def predict(self, X) -> np.ndarray:
        self._fitted()
        Xt, _ = _check(X, n_features=self.n_features_in_)
        with torch.no_grad():
            return self.out_(self._states(Xt)[-1]).argmax(1).numpy()

    def train_macs_per_sample(self) -> int:
        widths = [self.n_features_in_, *self.layers, self.n_classes_]
        return sum(3 * i * o for i, o in zip(widths[:-1], widths[1:])) + self.n_features_in_ * self.n_classes_


class ForwardForward(_Learner):
    """Forward-Forward (Hinton 2022): the label is appended to the input as a one-hot; each layer, trained in
    turn on the length-normalised output of the previous one, pushes the goodness (mean squared activation)
    above a threshold for the true label and below it for a wrong one. Prediction: the label with the largest
    goodness summed over layers. Trained as the reference implementation (mpezeshki/pytorch_forward_forward):
    Adam lr 0.03, threshold 2, the whole training set as one batch (batch_size=None) and 1000 steps per layer
    (`epochs`, each a full-batch step)."""

    _full_batch_allowed = True

    def __init__(self, layers=(256, 256), epochs: int = 1000, lr: float = 0.03, batch_size: int | None = None,
                 threshold: float = 2.0, seed: int = 0, progress=None):
        super().__init__(layers, epochs, lr, batch_size, seed, progress)
        self.threshold = threshold

    def _validate(self) -> None:
        super()._validate()
        positive_number("threshold", self.threshold)

    def _setup(self, n_features, classes):
        super()._setup(n_features + classes, classes)
        self.n_features_in_ = n_features

    def _embed(self, X, labels):
        # The label carries as much length as an average input, so it survives the length normalisation.
        return torch.cat([X, self.label_scale_ * F.one_hot(labels, self.n_classes_).float()], 1)

    @staticmethod
    def _norm(h):
        return h / (h.norm(dim=1, keepdim=True) + 1e-6)

    def fit(self, X, y, classes: int | None = None):
        Xt, yt, rng = self._start_fit(X, y, classes)
        gen = torch.Generator().manual_seed(self.seed)
        self.label_scale_ = float(Xt.norm(dim=1).mean())
        pos_in = self._embed(Xt, yt)
        wrong = (yt + torch.randint(1, self.n_classes_, yt.shape, generator=gen)) % self.n_classes_
        neg_in = self._embed(Xt, wrong)
        for l, layer in enumerate(self.hidden_):
            opt = torch.optim.Adam(layer.parameters(), lr=self.lr)
            for epoch in range(self.epochs):
                for idx in self._batch_indices(len(Xt), rng):
                    with _Saved() as saved:
                        g_pos = F.relu(layer(self._norm(pos_in[idx]))).pow(2).mean(1)
                        g_neg = F.relu(layer(self._norm(neg_in[idx]))).pow(2).mean(1)
                        loss = F.softplus(torch.cat([self.threshold - g_pos, g_neg - self.threshold])).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    # The positive and negative inputs of the layer (the previous layer's outputs for the whole
                    # training set, as the reference keeps them) stay alive with the batch.
                    self._record_memory([*self.hidden_.parameters(), pos_in, neg_in, *saved.tensors], opt)
                if self.progress:
                    self.progress(layer=l, epoch=epoch)
            layer.zero_grad(set_to_none=True)  # a trained layer keeps no gradients
            with torch.no_grad():
                pos_in, neg_in = F.relu(layer(self._norm(pos_in))), F.relu(layer(self._norm(neg_in)))
        return self

    def predict_layer(self, X, layer: int) -> np.ndarray:
        """The label with the largest goodness summed over layers 0..layer."""
        self._fitted()
        Xt, _ = _check(X, n_features=self.n_features_in_)
        goodness = torch.zeros(len(Xt), self.n_classes_)
        with torch.no_grad():
            for c in range(self.n_classes_):
                h = self._embed(Xt, torch.full((len(Xt),), c, dtype=torch.long))
                for hidden in self.hidden_[:layer + 1]:
                    h = F.relu(hidden(self._norm(h)))
                    goodness[:, c] += h.pow(2).mean(1)
        return goodness.argmax(1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.predict_layer(X, len(self.layers) - 1)

    def train_macs_per_sample(self) -> int:
        widths = [self.n_features_in_ + self.n_classes_, *self.layers]
        return sum(2 * 3 * i * o for i, o in zip(widths[:-1], widths[1:]))  # positive and negative pass


LEARNERS = {"bio-fo": BioFO, "bp": Backprop, "drtp": DRTP, "pepita": PEPITA, "ff": ForwardForward}
CONV_LEARNERS = {"bio-fo-conv": BioFOConv, "bp-conv": BackpropConv}
