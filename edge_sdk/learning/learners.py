"""Host-side learners with the scikit-learn shape (`fit`, `partial_fit`, `predict`, `score`), PyTorch on the CPU.

- `BioFO`: greedy layer-by-layer training; layer l computes h_l = ReLU(W_l h_{l-1} + b_l) and is trained
  through its own FIXED random head y_l = B_l h_l (Gaussian, or the sparse ternary variant) with a local
  cross-entropy loss; the input of layer l is detached, so no gradient crosses layers. Adam, as the paper.
- `Backprop`: the same architecture trained end to end (the baseline); `DRTP`, `PEPITA` and
  `ForwardForward`: the other forward-only or backprop-free baselines, each with its paper's settings.
All record the edge figures: peak training memory (parameters + optimiser state + the activations autograd
keeps, measured with saved-tensor hooks during a training step) and MACs per training sample.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from edge_sdk.errors import EdgeSdkError


def _check(X, y=None, n_features: int | None = None, classes: int | None = None):
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise EdgeSdkError(f"X must be 2-D (samples, features), got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise EdgeSdkError(f"X has {X.shape[1]} features, the model was fitted with {n_features}")
    if y is None:
        return torch.from_numpy(X), None
    y = np.asarray(y)
    if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
        raise EdgeSdkError(f"y must hold one integer label per row of X: expected shape ({len(X)},), got {y.shape}")
    if classes is not None and (y.min() < 0 or y.max() >= classes):
        raise EdgeSdkError(f"labels must lie in 0..{classes - 1}, got {y.min()}..{y.max()}")
    return torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))


class _Saved:
    """Bytes of the tensors autograd keeps for the backward pass (counted once per storage)."""

    def __init__(self):
        self.bytes, self.seen = 0, set()

    def pack(self, t: torch.Tensor):
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key not in self.seen:
            self.seen.add(key)
            self.bytes += t.untyped_storage().nbytes()
        return t

    def __enter__(self):
        self._ctx = torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


class _Learner:
    def __init__(self, layers=(256, 256), epochs: int = 10, lr: float = 1e-3, batch_size: int = 100,
                 seed: int = 0, progress=None):
        self.layers, self.epochs, self.lr, self.batch_size = list(layers), epochs, lr, batch_size
        self.seed, self.progress = seed, progress

    def _setup(self, n_features: int, classes: int) -> None:
        torch.manual_seed(self.seed)
        self.n_features_, self.classes_ = n_features, classes
        widths = [n_features, *self.layers]
        self.hidden_ = nn.ModuleList(nn.Linear(i, o) for i, o in zip(widths[:-1], widths[1:]))
        self.peak_train_memory_bytes_ = 0
        self.history_ = []

    def _record_memory(self, params, optimizer, saved: int) -> None:
        state = [v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
        self.peak_train_memory_bytes_ = max(self.peak_train_memory_bytes_, _bytes(params) + _bytes(state) + saved)

    def _start_fit(self, X, y, classes: int | None):
        """Validate (X, y), build the model, and return tensors and the sample-order generator."""
        Xt, yt = _check(X, y)
        self._setup(Xt.shape[1], classes or int(yt.max()) + 1)
        _check(X, y, classes=self.classes_)
        return Xt, yt, np.random.default_rng(self.seed)

    def _batches(self, X, y, rng):
        perm = torch.from_numpy(rng.permutation(len(X)))
        for i in range(0, len(X), self.batch_size):
            idx = perm[i:i + self.batch_size]
            yield X[idx], y[idx]

    def score(self, X, y) -> float:
        """Accuracy."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def _fitted(self):
        if not hasattr(self, "hidden_"):
            raise EdgeSdkError(f"this {type(self).__name__} is not fitted yet: call fit() first")


class BioFO(_Learner):
    def __init__(self, layers=(256, 256), epochs: int = 10, lr: float = 1e-3, batch_size: int = 100,
                 head: str = "gaussian", seed: int = 0, progress=None):
        super().__init__(layers, epochs, lr, batch_size, seed, progress)
        if head not in ("gaussian", "ternary"):
            raise EdgeSdkError(f"head must be 'gaussian' or 'ternary', got '{head}'")
        self.head = head

    def _setup(self, n_features, classes):
        super()._setup(n_features, classes)
        self._setup_heads(classes)

    def _setup_heads(self, classes):
        g = torch.Generator().manual_seed(self.seed + 1)
        heads = []
        for width in self._widths():
            if self.head == "gaussian":
                B = torch.randn(classes, width, generator=g) / width ** 0.5
            else:  # 1/6 +1, 1/6 -1, the rest 0 (one matrix shared by every layer of equal width)
                u = torch.rand(classes, width, generator=g)
                B = ((u < 1 / 6).float() - (u > 5 / 6).float()) * (3 / width) ** 0.5
            heads.append(B)
        self.heads_ = heads  # fixed: plain tensors, never given to an optimiser
        self.trained_layers_ = 0

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
        Xt, yt = _check(X, y, self.n_features_, self.classes_)
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
        layer, B = self.hidden_[l], self.heads_[l]
        opt = torch.optim.Adam(layer.parameters(), lr=self.lr)
        with torch.no_grad():
            inputs = self._features(X, l)  # frozen earlier layers: computed once, no graph
        for epoch in range(epochs):
            for xb, yb in self._batches(inputs, y, rng):
                with _Saved() as saved:
                    loss = F.cross_entropy(self._head_input(l, self._layer(l, xb)) @ B.T, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                # Every layer's parameters and heads stay in memory; only this layer has optimiser state.
                self._record_memory(list(self.hidden_.parameters()) + self.heads_ + [xb], opt, saved.bytes)
            if self.progress:
                self.progress(layer=l, epoch=epoch)
        self.trained_layers_ = l

    def predict_layer(self, X, layer: int) -> np.ndarray:
        """Predictions of the head of `layer` (accuracy per layer, as the paper reports)."""
        self._fitted()
        Xt, _ = _check(X, n_features=self.n_features_)
        with torch.no_grad():
            h = self._head_input(layer, self._layer(layer, self._features(Xt, layer)))
            return (h @ self.heads_[layer].T).argmax(1).numpy()

    def predict(self, X) -> np.ndarray:
        self._fitted()
        return self.predict_layer(X, self.trained_layers_)

    def train_macs_per_sample(self) -> int:
        widths = [self.n_features_, *self.layers]
        return sum(2 * i * o + 2 * self.classes_ * o for i, o in zip(widths[:-1], widths[1:]))


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

    def _conv_init(self, image_shape, connectivity: str) -> None:
        if connectivity not in ("conv", "local"):
            raise EdgeSdkError(f"connectivity must be 'conv' or 'local', got '{connectivity}'")
        self.image_shape, self.connectivity = tuple(image_shape), connectivity

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

    def _conv_macs(self) -> int:
        return sum(9 * c * out * h * w for out, (c, h, w) in zip(self.layers, self.shapes_))



class BioFOConv(_ConvBlocks, BioFO):
    """Bio-FO with convolutional layers: each block trained greedily through its own fixed random head on its
    flattened, pooled output; inputs detached, as the dense variant."""

    def __init__(self, layers=(32, 64), epochs: int = 10, lr: float = 1e-3, batch_size: int = 100,
                 head: str = "gaussian", image_shape=(28, 28, 1), connectivity: str = "local", seed: int = 0,
                 progress=None):
        super().__init__(layers, epochs, lr, batch_size, head, seed, progress)
        self._conv_init(image_shape, connectivity)

    def _setup(self, n_features, classes):
        _Learner._setup(self, n_features, classes)
        self._conv_setup(n_features)
        self._setup_heads(classes)

    def train_macs_per_sample(self) -> int:
        return 3 * self._conv_macs() + sum(2 * self.classes_ * w for w in self._widths())


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
                self._record_memory(params + [xb], opt, saved.bytes)
            if self.progress:
                self.progress(layer=None, epoch=epoch)
        return self

    def _loss(self, xb, yb):
        return F.cross_entropy(self._forward(xb), yb)

    def predict(self, X) -> np.ndarray:
        self._fitted()
        Xt, _ = _check(X, n_features=self.n_features_)
        with torch.no_grad():
            return self._forward(Xt).argmax(1).numpy()

    def train_macs_per_sample(self) -> int:
        widths = [self.n_features_, *self.layers, self.classes_]
        return sum(3 * i * o for i, o in zip(widths[:-1], widths[1:]))


class BackpropConv(_ConvBlocks, Backprop):
    """Backpropagation through the same convolutional blocks and a linear output layer."""

    def __init__(self, layers=(32, 64), epochs: int = 10, lr: float = 1e-3, batch_size: int = 100,
                 image_shape=(28, 28, 1), connectivity: str = "local", seed: int = 0, progress=None):
        super().__init__(layers, epochs, lr, batch_size, seed, progress)
        self._conv_init(image_shape, connectivity)

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
        return 3 * (self._conv_macs() + math.prod(self.out_shape_) * self.classes_)


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
        target = F.one_hot(yb, self.classes_).float()
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
                    e = F.softmax(self.out_(hs[-1]), 1) - F.one_hot(yb, self.classes_).float()
                    hm = self._states(xb - e @ self.F_.T)
                    n = len(xb)
                    for k, layer in enumerate(self.hidden_):
                        diff = hs[k + 1] - hm[k + 1]
                        layer.weight.grad = diff.T @ hm[k] / n
                        layer.bias.grad = diff.mean(0)
                    self.out_.weight.grad = e.T @ hm[-1] / n
                    opt.step()
                    # Both passes' activations are alive at the update: that is PEPITA's memory.
                    self._record_memory(params, opt, _bytes(hs + hm))
                if self.progress:
                    self.progress(layer=None, epoch=epoch)
        return self

    def predict(self, X) -> np.ndarray:
        self._fitted()
        Xt, _ = _check(X, n_features=self.n_features_)
        with torch.no_grad():
            return self.out_(self._states(Xt)[-1]).argmax(1).numpy()

    def train_macs_per_sample(self) -> int:
        widths = [self.n_features_, *self.layers, self.classes_]
        return sum(3 * i * o for i, o in zip(widths[:-1], widths[1:])) + self.n_features_ * self.classes_


class ForwardForward(_Learner):
    """Forward-Forward (Hinton 2022): the label is appended to the input as a one-hot; each layer, trained in
    turn on the length-normalised output of the previous one, pushes the goodness (mean squared activation)
    above a threshold for the true label and below it for a wrong one. Prediction: the label with the largest
    goodness summed over layers. Adam lr 0.03, threshold 2, as the reference implementation."""

    def __init__(self, layers=(256, 256), epochs: int = 10, lr: float = 0.03, batch_size: int = 100,
                 threshold: float = 2.0, seed: int = 0, progress=None):
        super().__init__(layers, epochs, lr, batch_size, seed, progress)
        self.threshold = threshold

    def _setup(self, n_features, classes):
        super()._setup(n_features + classes, classes)
        self.n_features_ = n_features

    def _embed(self, X, labels):
        # The label carries as much length as an average input, so it survives the length normalisation.
        return torch.cat([X, self.label_scale_ * F.one_hot(labels, self.classes_).float()], 1)

    @staticmethod
    def _norm(h):
        return h / (h.norm(dim=1, keepdim=True) + 1e-6)

    def fit(self, X, y, classes: int | None = None):
        Xt, yt, rng = self._start_fit(X, y, classes)
        gen = torch.Generator().manual_seed(self.seed)
        self.label_scale_ = float(Xt.norm(dim=1).mean())
        pos_in = self._embed(Xt, yt)
        wrong = (yt + torch.randint(1, self.classes_, yt.shape, generator=gen)) % self.classes_
        neg_in = self._embed(Xt, wrong)
        for l, layer in enumerate(self.hidden_):
            opt = torch.optim.Adam(layer.parameters(), lr=self.lr)
            for epoch in range(self.epochs):
                perm = torch.from_numpy(rng.permutation(len(Xt)))
                for i in range(0, len(Xt), self.batch_size):
                    idx = perm[i:i + self.batch_size]
                    with _Saved() as saved:
                        g_pos = F.relu(layer(self._norm(pos_in[idx]))).pow(2).mean(1)
                        g_neg = F.relu(layer(self._norm(neg_in[idx]))).pow(2).mean(1)
                        loss = F.softplus(torch.cat([self.threshold - g_pos, g_neg - self.threshold])).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    self._record_memory(list(self.hidden_.parameters()) + [pos_in[idx], neg_in[idx]], opt,
                                        saved.bytes)
                if self.progress:
                    self.progress(layer=None, epoch=epoch)
            with torch.no_grad():
                pos_in, neg_in = F.relu(layer(self._norm(pos_in))), F.relu(layer(self._norm(neg_in)))
        return self

    def predict(self, X) -> np.ndarray:
        self._fitted()
        Xt, _ = _check(X, n_features=self.n_features_)
        goodness = torch.zeros(len(Xt), self.classes_)
        with torch.no_grad():
            for c in range(self.classes_):
                h = self._embed(Xt, torch.full((len(Xt),), c, dtype=torch.long))
                for layer in self.hidden_:
                    h = F.relu(layer(self._norm(h)))
                    goodness[:, c] += h.pow(2).mean(1)
        return goodness.argmax(1).numpy()

    def train_macs_per_sample(self) -> int:
        widths = [self.n_features_ + self.classes_, *self.layers]
        return sum(2 * 3 * i * o for i, o in zip(widths[:-1], widths[1:]))  # positive and negative pass


LEARNERS = {"bio-fo": BioFO, "bp": Backprop, "drtp": DRTP, "pepita": PEPITA, "ff": ForwardForward}
CONV_LEARNERS = {"bio-fo-conv": BioFOConv, "bp-conv": BackpropConv}
