"""Layer kernels on the simulated MCU: build one layer (conv or fully connected) with one kernel variant into
a program, run it on Spike or the RTL, and check its output bit for bit against a numpy reference.

Layers: conv2d, depthwise conv2d (dense only, as in the paper) and fully connected; the glue layers of a
compiled network (firmware/include/nn_glue_i8.h: elementwise add, max and average pooling, requantize, pad,
transpose), dense only.
Variants: "ref" (plain C), "dense" (the xedge SIMD kernels; for a glue layer its public function, the one the
compiler calls), "sw" (N:M sparse on xedge: decimating im2col), "ext" (N:M sparse with the xdec decimating
load, built with --isa xdec). The data (input, weights, quantization) is random and seeded; weights are
magnitude-pruned to the pattern, so every variant computes the same layer. The program times only the kernel
call (mcycle on the RTL, minstret on Spike) and prints an FNV-1a checksum of the int8 output, which is
compared with the reference's.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_sdk import sim
from edge_sdk.errors import EdgeSdkError
from edge_sdk.toolchain import FIRMWARE, compile_elf
from riscv_ext import nm_format

KERNEL_SOURCES = [FIRMWARE / "kernels" / "nn_dense_i8.c", FIRMWARE / "kernels" / "nn_sparse_i8.c",
                  FIRMWARE / "kernels" / "matmul_i8.c", FIRMWARE / "kernels" / "nn_glue_i8.c"]
VARIANTS = ("ref", "dense", "sw", "ext")
ISA = {"ref": "xedge", "dense": "xedge", "sw": "xedge", "ext": "xdec"}
GLUE_OPS = ("add", "maxpool", "avgpool", "requantize", "pad", "transpose")


@dataclass(frozen=True)
class Layer:
    name: str
    op: str           # "conv", "dw" (depthwise: cin == cout, one filter per channel), "fc" or one of GLUE_OPS
    h: int = 1
    w: int = 1
    cin: int = 1      # glue layers: the channels of an h x w x cin input (transpose: rows h * w, cols cin)
    cout: int = 1
    k: int = 1        # kernel (pooling window) height (and width, unless kw is given)
    stride: int = 1
    pad: int = 0
    kw_: int = 0      # kernel width when not square
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)   # "pad": top, left, bottom, right

    @property
    def kw(self) -> int:
        return self.kw_ or self.k

    @property
    def ho(self) -> int:
        return (self.h + 2 * self.pad - self.k) // self.stride + 1

    @property
    def wo(self) -> int:
        return (self.w + 2 * self.pad - self.kw) // self.stride + 1

    @property
    def glue(self) -> bool:
        return self.op in GLUE_OPS

    @property
    def reduction(self) -> int:
        return self.k * self.kw * (1 if self.op in ("dw", "maxpool", "avgpool") else self.cin)

    @property
    def macs(self) -> int:
        return 0 if self.glue else self.ho * self.wo * self.cout * self.reduction

    @property
    def elements(self) -> int:
        """The int8 outputs the layer writes."""
        if self.op == "fc":
            return self.cout
        if self.op == "pad":
            top, left, bottom, right = self.pads
            return (self.h + top + bottom) * (self.w + left + right) * self.cin
        if self.op in ("add", "requantize", "transpose"):
            return self.h * self.w * self.cin
        return self.ho * self.wo * self.cout


def conv(name, h, cin, cout, k, stride=1, pad=None, w=None, kw=0) -> Layer:
    return Layer(name, "conv", h, w or h, cin, cout, k, stride, k // 2 if pad is None else pad, kw)


def dw(name, h, channels, k, stride=1, w=None, kw=0) -> Layer:
    """Depthwise k x kw (kw defaults to k), "same" padding k // 2."""
    return Layer(name, "dw", h, w or h, channels, channels, k, stride, k // 2, kw)


def fc(name, cin, cout) -> Layer:
    return Layer(name, "fc", cin=cin, cout=cout)


def glue(name, op, h, channels, w=None, k=1, stride=1, pad=0, kw=0, pads=(0, 0, 0, 0)) -> Layer:
    """A glue layer over an h x w x channels input; pooling windows k x kw with symmetric padding `pad`."""
    return Layer(name, op, h, w or h, channels, channels, k, stride, pad, kw, tuple(pads))


# Layer shapes from real networks: ResNet-18 at 64x64, a small ViT (192 wide, 64 tokens), MLPerf Tiny
# ResNet-8 (CIFAR-10), DS-CNN (keyword spotting, 49x10 MFCC) and the FC autoencoder, an MNIST MLP, LeNet-5;
# the glue layers between them (residual adds, pools, TF "same" padding that the compiler makes a pad layer,
# LeNet-5's flatten of its HWC map).
LAYERS = {layer.name: layer for layer in (
    conv("resnet18-layer1-conv", 16, 64, 64, 3),
    conv("resnet18-layer2-conv-s2", 16, 64, 128, 3, stride=2),
    conv("resnet18-layer2-conv", 8, 128, 128, 3),
    conv("resnet18-layer3-conv", 4, 256, 256, 3),
    conv("resnet18-layer4-conv", 2, 512, 512, 3),
    fc("resnet18-fc", 512, 1000),
    conv("vit-qkv", 64, 192, 576, 1, w=1),
    conv("vit-mlp-fc1", 64, 192, 768, 1, w=1),
    conv("vit-mlp-fc2", 64, 768, 192, 1, w=1),
    conv("resnet8-stack1-conv", 32, 16, 16, 3),
    conv("resnet8-stack2-conv", 16, 32, 32, 3),
    conv("resnet8-stack3-conv", 8, 64, 64, 3),
    conv("dscnn-conv1", 49, 1, 64, 10, stride=2, pad=0, w=10, kw=4),  # 10x4 filters (unpadded here)
    conv("dscnn-pointwise", 25, 64, 64, 1, w=5),
    dw("dscnn-depthwise", 25, 64, 3, w=5),
    dw("mobilenetv1-0.25-dw-s2", 48, 16, 3, stride=2),
    fc("dscnn-fc", 64, 12),
    fc("ad-autoencoder-fc1", 640, 128),   # MLPerf Tiny anomaly detection (the FC autoencoder)
    fc("ad-autoencoder-fc2", 128, 128),
    fc("mlp-fc1", 784, 256),              # an MNIST MLP
    fc("lenet5-fc1", 400, 120),
    glue("resnet18-maxpool", "maxpool", 32, 64, k=3, stride=2, pad=1),
    glue("resnet18-layer1-add", "add", 16, 64),
    glue("resnet18-layer1-requantize", "requantize", 16, 64),
    glue("resnet18-avgpool", "avgpool", 2, 512, k=2),   # global: the 2x2x512 map of layer 4
    glue("resnet8-stack1-add", "add", 32, 16),
    glue("resnet8-stack2-add", "add", 16, 32),
    glue("resnet8-stack3-add", "add", 8, 64),
    glue("resnet8-avgpool", "avgpool", 8, 64, k=8),
    glue("dscnn-conv1-pad", "pad", 49, 1, w=10, pads=(4, 1, 5, 1)),   # 10x4 stride 2 "same"
    glue("dscnn-avgpool", "avgpool", 25, 64, w=5, k=25, kw=5),
    glue("mobilenetv1-0.25-pad-s2", "pad", 48, 16, pads=(0, 0, 1, 1)),  # 3x3 stride 2 "same"
    glue("lenet5-flatten", "transpose", 5, 16),                         # HWC 5x5x16 -> CHW
)}


@dataclass
class LayerData:
    layer: Layer
    pattern: str | None
    x: np.ndarray          # int8 input (HWC or vector)
    weights: np.ndarray    # int8 [cout, reduction], pruned to the pattern
    bias: np.ndarray       # int32
    mult: np.ndarray       # int32
    shift: np.ndarray      # int32
    in_zp: int
    out_zp: int
    act_min: int
    act_max: int
    b: np.ndarray | None = None   # add: the second input
    b_zp: int = 0


def im2col(x: np.ndarray, layer: Layer, in_zp: int) -> np.ndarray:
    """[ho*wo, k*k*cin] receptive fields in (kh, kw, cin) order; padding reads the zero point."""
    xp = np.pad(x.astype(np.int64), ((layer.pad, layer.pad), (layer.pad, layer.pad), (0, 0)),
                constant_values=in_zp)
    cols = [xp[ky:ky + layer.stride * layer.ho:layer.stride, kx:kx + layer.stride * layer.wo:layer.stride, :]
            for ky in range(layer.k) for kx in range(layer.kw)]
    return np.concatenate(cols, axis=2).reshape(layer.ho * layer.wo, -1)


def accumulators(d: LayerData) -> np.ndarray:
    if d.layer.op == "dw":  # each channel its own single-channel conv
        per = [im2col(d.x[:, :, c:c + 1], d.layer, d.in_zp) @ d.weights[c].astype(np.int64)
               for c in range(d.layer.cout)]
        return np.stack(per, axis=1)
    a = d.x.astype(np.int64).reshape(1, -1) if d.layer.op == "fc" else im2col(d.x, d.layer, d.in_zp)
    return a @ d.weights.astype(np.int64).T


def _requantized(acc: np.ndarray, mult, shift, d: LayerData) -> np.ndarray:
    """The kernels' requantization (nn_i8.h) of acc (bias included), in int64."""
    v = acc * np.asarray(mult, np.int64)
    y = ((v + (np.int64(1) << (np.asarray(shift, np.int64) - 1))) >> shift) + d.out_zp
    return np.clip(y, d.act_min, d.act_max).astype(np.int8)


def requantize(acc: np.ndarray, d: LayerData) -> np.ndarray:
    return _requantized(acc + d.bias, d.mult, d.shift, d)


def glue_reference(d: LayerData) -> np.ndarray:
    """The glue layers' arithmetic (nn_glue_i8.h) in numpy, HWC."""
    layer, x = d.layer, d.x.astype(np.int64)
    if layer.op == "transpose":
        return d.x.reshape(layer.h * layer.w, layer.cin).T
    if layer.op == "pad":
        top, left, bottom, right = layer.pads
        return np.pad(d.x, ((top, bottom), (left, right), (0, 0)), constant_values=d.in_zp)
    if layer.op == "add":
        return _requantized((x - d.in_zp) * d.mult[0] + (d.b.astype(np.int64) - d.b_zp) * d.mult[1], 1,
                            d.shift[0], d)
    if layer.op == "requantize":
        return _requantized(x - d.in_zp, d.mult[0], d.shift[0], d)
    pixels, taps = layer.ho * layer.wo, layer.k * layer.kw
    if layer.op == "maxpool":    # padding is skipped: pad below every int8
        window = im2col(d.x, layer, -129).reshape(pixels, taps, layer.cin)
        return _requantized(window.max(axis=1) - d.in_zp, d.mult[0], d.shift[0], d)
    window = im2col(d.x, layer, d.in_zp).reshape(pixels, taps, layer.cin)        # avgpool
    inside = im2col(np.ones((layer.h, layer.w, 1), np.int8), layer, 0).sum(axis=1)
    k = inside - 1 if len(d.mult) > 1 else np.zeros(pixels, np.int64)
    return _requantized((window - d.in_zp).sum(axis=1), d.mult[k][:, None], d.shift[k][:, None], d)


def reference(d: LayerData) -> np.ndarray:
    return (glue_reference(d) if d.layer.glue else requantize(accumulators(d), d)).reshape(-1)


def _fixed_point(scale: np.ndarray, max_shift: int) -> tuple[np.ndarray, np.ndarray]:
    """(mult, shift) per entry of scale: mult * 2^-shift = scale, mult below 2^31, 1 <= shift <= max_shift."""
    shift = np.clip(np.floor(np.log2((2 ** 31 - 1) / scale)), 1, max_shift).astype(np.int64)
    return np.clip(np.round(scale * 2.0 ** shift), 1, 2 ** 31 - 1).astype(np.int64), shift


def make_layer(layer: Layer, pattern: str | None, seed: int = 0, relu: bool = True,
               max_shift: int = 62) -> LayerData:
    """Random, seeded data for one layer; weights magnitude-pruned to `pattern` (None: dense). Per channel the
    requantization scale spreads the outputs over about +-40 (as over many inputs), as a multiplier below 2^31
    and a shift of at most `max_shift` (below 33 the kernels take their 64-bit path)."""
    if layer.glue:
        if pattern is not None:
            raise EdgeSdkError(f"glue layer '{layer.name}' has no weights to prune to {pattern}")
        return make_glue(layer, seed, relu, max_shift)
    rng = np.random.default_rng(seed)
    shape = (layer.cin,) if layer.op == "fc" else (layer.h, layer.w, layer.cin)
    x = rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8)
    w = rng.integers(-128, 128, size=(layer.cout, layer.reduction), dtype=np.int64)
    if pattern is not None:
        w = nm_format.prune(w, pattern)
    in_zp, out_zp = int(rng.integers(-8, 8)), int(rng.integers(-8, 8))
    d = LayerData(layer, pattern, x, w.astype(np.int8), np.zeros(layer.cout, np.int64),
                  np.ones(layer.cout, np.int64), np.ones(layer.cout, np.int64), in_zp, out_zp,
                  out_zp if relu else -128, 127)
    acc = accumulators(d)
    d.bias = rng.integers(-2000, 2000, size=layer.cout).astype(np.int64)
    # Spread of each channel's accumulator: over the layer's pixels, or, for a single output pixel (fc), over
    # inputs drawn like x (its std times the channel's weight norm): one sample has no spread to measure.
    spread = acc.std(axis=0) if acc.shape[0] > 1 else x.std() * np.sqrt((w.astype(np.float64) ** 2).sum(axis=1))
    scale = 40.0 / np.maximum(spread, 1.0)
    d.mult, d.shift = _fixed_point(scale, max_shift)
    return d


def make_glue(layer: Layer, seed: int = 0, relu: bool = True, max_shift: int = 62) -> LayerData:
    """Random, seeded data for a glue layer: an int8 input (add: two), zero points in [-8, 8), scale ratios
    drawn log-uniformly from [1/16, 2] (so the requantization takes both the mulh and the 64-bit path) as
    multipliers and shifts like make_layer's; average pooling with padding divides by each window's in-image
    taps (one multiplier per count), without by the window size."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(layer.h, layer.w, layer.cin), dtype=np.int64).astype(np.int8)
    in_zp, out_zp = int(rng.integers(-8, 8)), int(rng.integers(-8, 8))
    ratio = lambda n: 2.0 ** rng.uniform(-4, 1, n)  # noqa: E731
    b, b_zp, mult, shift = None, 0, np.zeros(0, np.int64), np.zeros(0, np.int64)
    if layer.op == "add":
        b, b_zp = rng.integers(-128, 128, size=x.shape, dtype=np.int64).astype(np.int8), int(rng.integers(-8, 8))
        scales = ratio(2)
        _, shift = _fixed_point(scales.max(keepdims=True), max_shift)     # one shift for both inputs
        mult = np.clip(np.round(scales * 2.0 ** shift[0]), 1, 2 ** 31 - 1).astype(np.int64)
    elif layer.op in ("maxpool", "requantize"):
        mult, shift = _fixed_point(ratio(1), max_shift)
    elif layer.op == "avgpool":
        counts = np.arange(1, layer.k * layer.kw + 1) if layer.pad else np.array([layer.k * layer.kw])
        mult, shift = _fixed_point(ratio(1) / counts, max_shift)
    return LayerData(layer, None, x, np.zeros((0, 0), np.int8), np.zeros(0, np.int64), mult, shift, in_zp,
                     out_zp, out_zp if relu else -128, 127, b, b_zp)


def _fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def _blob(arrays: dict[str, np.ndarray], skew: dict[str, int]) -> tuple[bytes, dict[str, int]]:
    """The arrays in one blob, each `skew[name]` bytes past a word boundary (default 0)."""
    out, where = bytearray(), {}
    for name, a in arrays.items():
        out += bytes(-len(out) % 4 + skew.get(name, 0))
        where[name] = len(out)
        out += np.ascontiguousarray(a).tobytes()
    return bytes(out), where


def _layer_call(d: LayerData, variant: str) -> tuple[dict[str, np.ndarray], str, str]:
    """A compute layer's arrays, the C declarations that use them, the kernel call."""
    layer = d.layer
    if variant in ("sw", "ext") and d.pattern is None:
        raise EdgeSdkError(f"variant '{variant}' needs an N:M pattern")
    if variant in ("sw", "ext") and layer.op == "dw":
        raise EdgeSdkError("depthwise layers stay dense (as in the paper): use variant 'ref' or 'dense'")
    arrays = {"x": d.x, "bias": d.bias.astype(np.int32), "mult": d.mult.astype(np.int32),
              "shift": d.shift.astype(np.int32)}
    sparse = variant in ("sw", "ext")
    if sparse:
        packed = nm_format.pack(d.weights, d.pattern)
        arrays["values"], arrays["offsets"] = packed.values, packed.offsets
    else:
        stride = -(-layer.reduction // 4) * 4
        wp = np.zeros((layer.cout, stride), np.int8)
        wp[:, :layer.reduction] = d.weights
        arrays["w"] = wp
    shape = (f"static const conv_shape_t shape = {{{layer.h}, {layer.w}, {layer.cin}, {layer.cout}, {layer.k}, "
             f"{layer.kw}, {layer.stride}, {layer.pad}}};")
    if sparse:
        nm = (f"static const nm_weights_t nm = {{(const int8_t *)(blob + VALUES_AT), (const uint32_t *)(blob + "
              f"OFFSETS_AT), {layer.cout}, {layer.reduction}, {packed.pattern.n}, {packed.pattern.m}, "
              f"{packed.value_stride}, {packed.offset_stride}}};")
    else:
        nm = f"#define W ((const int8_t *)(blob + W_AT))\n#define ROW_STRIDE {arrays['w'].shape[1]}"
    scratch_bytes = 8 * (-(-layer.reduction // 4) * 4) + 32 * layer.cout + 64
    decl = f"""{shape}
{nm}
static uint32_t scratch[{scratch_bytes // 4}];
static const quant_t q = {{(const int32_t *)(blob + BIAS_AT), (const int32_t *)(blob + MULT_AT),
                          (const int32_t *)(blob + SHIFT_AT), {d.in_zp}, {d.out_zp}, {d.act_min}, {d.act_max}}};"""
    fn = {("conv", "ref"): "conv2d_i8_ref(X, W, ROW_STRIDE, OUT, &shape, &q)",
          ("conv", "dense"): "conv2d_i8_xedge(X, W, ROW_STRIDE, OUT, &shape, &q, scratch)",
          ("conv", "sw"): "conv2d_nm_i8_sw(X, &nm, OUT, &shape, &q, scratch)",
          ("conv", "ext"): "conv2d_nm_i8_xdec(X, &nm, OUT, &shape, &q, scratch)",
          ("dw", "ref"): "depthwise_i8_ref(X, W, ROW_STRIDE, OUT, &shape, &q)",
          ("dw", "dense"): "depthwise_i8_xedge(X, W, ROW_STRIDE, OUT, &shape, &q)",
          ("fc", "ref"): f"fc_i8_ref(X, W, ROW_STRIDE, OUT, {layer.cin}, {layer.cout}, &q)",
          ("fc", "dense"): f"fc_i8_xedge(X, W, ROW_STRIDE, OUT, {layer.cin}, {layer.cout}, &q)",
          ("fc", "sw"): "fc_nm_i8_sw(X, &nm, OUT, &q, scratch)",
          ("fc", "ext"): "fc_nm_i8_xdec(X, &nm, OUT, &q)"}[(layer.op, variant)]
    return arrays, decl, fn


def _glue_call(d: LayerData, variant: str) -> tuple[dict[str, np.ndarray], str, str]:
    """A glue layer's arrays, declarations and call: the public function ("dense") or its _ref."""
    layer = d.layer
    if variant not in ("ref", "dense"):
        raise EdgeSdkError(f"glue layer '{layer.name}' has the variants 'ref' and 'dense', not '{variant}'")
    suffix = "_ref" if variant == "ref" else ""
    arrays = {"x": d.x, "mult": d.mult.astype(np.int32), "shift": d.shift.astype(np.int32)}
    n, act = layer.elements, f"{d.out_zp}, {d.act_min}, {d.act_max}"
    rescale = (f"static const channel_quant_t q = {{{-d.in_zp}, {d.mult[0] if len(d.mult) else 0}, "
               f"{d.shift[0] if len(d.shift) else 0}, {act}}};")
    pool = (f"static const pool_shape_t shape = {{{layer.h}, {layer.w}, {layer.cin}, {layer.k}, {layer.kw}, "
            f"{layer.stride}, {layer.stride}, {layer.pad}, {layer.pad}, {layer.ho}, {layer.wo}}};")
    if layer.op == "add":
        arrays["b"] = d.b
        decl = (f"static const add_quant_t q = {{{d.in_zp}, {d.b_zp}, {d.mult[0]}, {d.mult[1]}, {d.shift[0]}, "
                f"{act}}};")
        fn = f"add_i8{suffix}(X, (const int8_t *)(blob + B_AT), OUT, {n}, &q)"
    elif layer.op == "requantize":
        decl, fn = rescale, f"requantize_i8{suffix}(X, OUT, {n}, &q)"
    elif layer.op == "maxpool":
        decl, fn = f"{pool}\n{rescale}", f"maxpool2d_i8{suffix}(X, OUT, &shape, &q)"
    elif layer.op == "avgpool":
        decl = (f"{pool}\nstatic const avgpool_quant_t q = {{(const int32_t *)(blob + MULT_AT), (const int32_t *)"
                f"(blob + SHIFT_AT), {d.in_zp}, {act}, {int(len(d.mult) > 1)}}};")
        fn = f"avgpool2d_i8{suffix}(X, OUT, &shape, &q)"
    elif layer.op == "pad":
        decl = ""
        fn = f"pad_i8{suffix}(X, OUT, {layer.h}, {layer.w}, {layer.cin}, {', '.join(map(str, layer.pads))}, {d.in_zp})"
    else:
        decl, fn = "", f"transpose_i8{suffix}(X, OUT, {layer.h * layer.w}, {layer.cin})"
    return arrays, decl, fn


def program(d: LayerData, variant: str, skew: tuple[int, int, int] = (0, 0, 0)) -> tuple[str, bytes]:
    """C source of the layer program and the binary data it includes; the input, the second input (add) and
    the output start skew[0], skew[1], skew[2] bytes past a word boundary."""
    arrays, decl, fn = (_glue_call if d.layer.glue else _layer_call)(d, variant)
    blob, where = _blob(arrays, {"x": skew[0], "b": skew[1]})
    at = "\n".join(f"#define {name.upper()}_AT {off}" for name, off in where.items())
    out_len = d.layer.elements
    src = f"""/* generated by edge_sdk/kernel_bench.py: layer {d.layer.name}, {d.pattern or 'dense'}, variant {variant} */
#include <stdint.h>
#include <stdio.h>
#include "nn_glue_i8.h"
#include "nn_i8.h"
#include "perf.h"
extern const uint8_t blob[];
{at}
#define X ((const int8_t *)(blob + X_AT))
{decl}
static int8_t out_buf[{out_len + 4}] __attribute__((aligned(4)));
#define OUT (out_buf + {skew[2]})
int main(void) {{
  uint64_t c0 = perf_cycles(), i0 = perf_instret();
  {fn};
  uint64_t cycles = perf_cycles() - c0, insns = perf_instret() - i0;
  uint32_t h = 0x811c9dc5u;
  for (int i = 0; i < {out_len}; ++i) h = (h ^ (uint8_t)OUT[i]) * 0x01000193u;
  printf("layer cycles %lu instructions %lu checksum %08lx\\n", (unsigned long)cycles, (unsigned long)insns,
         (unsigned long)h);
  return 0;
}}
"""
    return src, blob


def run_layer(d: LayerData, variant: str, simulator: str = "rtl", workdir: str | Path | None = None,
              skew: tuple[int, int, int] = (0, 0, 0)) -> dict:
    """Build and run one layer variant (buffers skewed as `program` says); the result row (cycles, instructions,
    MACs (0 for a glue layer), output elements, exact)."""
    if variant not in VARIANTS:
        raise EdgeSdkError(f"unknown kernel variant '{variant}'; choose one of: {', '.join(VARIANTS)}")
    with tempfile.TemporaryDirectory(prefix="edge-sdk-layer-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        src, blob = program(d, variant, skew)
        (work / "layer.c").write_text(src)
        (work / "blob.bin").write_bytes(blob)
        (work / "blob.S").write_text(f'  .section .rodata\n  .align 4\n  .globl blob\nblob:\n  .incbin "{work / "blob.bin"}"\n')
        elf = compile_elf([work / "layer.c", work / "blob.S", *KERNEL_SOURCES], work / "layer.elf", isa=ISA[variant])
        r = sim.run(elf, simulator)
    if r.exit_code != 0 or r.trap is not None:
        raise EdgeSdkError(f"layer {d.layer.name} ({variant}) failed on {simulator}: exit {r.exit_code}, "
                           f"trap {r.trap}\n{r.console}")
    fields = r.console.split()
    cycles, insns, checksum = int(fields[2]), int(fields[4]), int(fields[6], 16)
    return {"layer": d.layer.name, "op": d.layer.op, "pattern": d.pattern or "dense", "variant": variant,
            "sim": simulator, "cycles": cycles if simulator == "rtl" else None, "instructions": insns,
            "macs": d.layer.macs, "elements": d.layer.elements, "exact": checksum == _fnv1a(reference(d).tobytes())}


def sweep(layers: list[str] | None = None, patterns: list[str] | None = None, simulator: str = "rtl",
          progress: bool = True) -> list[dict]:
    """Dense, sparse-sw and sparse-ext rows for every (layer, pattern) whose M divides the layer's reduction; a
    glue layer: its plain-C reference ("ref") and its public function ("dense")."""
    names = list(LAYERS) if layers is None else layers
    unknown = [n for n in names if n not in LAYERS]
    if unknown or not names:
        raise EdgeSdkError(f"unknown layer '{unknown[0] if unknown else ''}'; `edge-sdk bench kernels --list` names them")
    pats = list(nm_format.SUPPORTED) if patterns is None else patterns
    for p in pats:
        try:
            nm_format.parse_pattern(p)
        except nm_format.NMFormatError as err:
            raise EdgeSdkError(str(err)) from None
    jobs = [(LAYERS[n], None, v) for n in names for v in (("ref", "dense") if LAYERS[n].glue else ("dense",))]
    jobs += [(LAYERS[n], p, v) for n in names for p in pats
             if LAYERS[n].op in ("conv", "fc") and LAYERS[n].reduction % int(p.split(":")[1]) == 0
             for v in ("sw", "ext")]
    from tqdm import tqdm
    rows = []
    data = {}
    for layer, pattern, variant in tqdm(jobs, desc=f"kernels on {simulator}", disable=not progress):
        key = (layer.name, pattern)
        if key not in data:
            data = {key: make_layer(layer, pattern)}
        rows.append(run_layer(data[key], variant, simulator))
    return rows
