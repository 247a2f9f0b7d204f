"""Layer kernels on the simulated MCU: build one layer (conv or fully connected) with one kernel variant into
a program, run it on Spike or the RTL, and check its output bit for bit against a numpy reference.

Layers: conv2d, depthwise conv2d (dense only, as in the paper) and fully connected.
Variants: "ref" (plain C), "dense" (the xedge SIMD kernels), "sw" (N:M sparse on xedge: decimating im2col),
"ext" (N:M sparse with the xdec decimating load, built with --isa xdec). The data (input, weights, quantization)
is random and seeded; weights are magnitude-pruned to the pattern, so every variant computes the same layer.
The program times only the kernel call (mcycle on the RTL, minstret on Spike) and prints an FNV-1a checksum of
the int8 output, which is compared with the reference's.
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
                  FIRMWARE / "kernels" / "matmul_i8.c"]
VARIANTS = ("ref", "dense", "sw", "ext")
ISA = {"ref": "xedge", "dense": "xedge", "sw": "xedge", "ext": "xdec"}


@dataclass(frozen=True)
class Layer:
    name: str
    op: str           # "conv", "dw" (depthwise: cin == cout, one filter per channel) or "fc"
    h: int = 1
    w: int = 1
    cin: int = 1
    cout: int = 1
    k: int = 1        # kernel height (and width, unless kw is given)
    stride: int = 1
    pad: int = 0
    kw_: int = 0      # kernel width when not square

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
    def reduction(self) -> int:
        return self.k * self.kw * (1 if self.op == "dw" else self.cin)

    @property
    def macs(self) -> int:
        return self.ho * self.wo * self.cout * self.reduction


def conv(name, h, cin, cout, k, stride=1, pad=None, w=None, kw=0) -> Layer:
    return Layer(name, "conv", h, w or h, cin, cout, k, stride, k // 2 if pad is None else pad, kw)


def dw(name, h, channels, k, stride=1, w=None) -> Layer:
    return Layer(name, "dw", h, w or h, channels, channels, k, stride, k // 2)


def fc(name, cin, cout) -> Layer:
    return Layer(name, "fc", cin=cin, cout=cout)


# Layer shapes from real networks: ResNet-18 at 64x64, a small ViT (192 wide, 64 tokens), MLPerf Tiny
# ResNet-8 (CIFAR-10) and DS-CNN (keyword spotting, 49x10 MFCC).
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


def requantize(acc: np.ndarray, d: LayerData) -> np.ndarray:
    """The kernels' requantization (nn_i8.h), in int64."""
    v = (acc + d.bias) * d.mult.astype(np.int64)
    y = ((v + (np.int64(1) << (d.shift - 1))) >> d.shift) + d.out_zp
    return np.clip(y, d.act_min, d.act_max).astype(np.int8)


def reference(d: LayerData) -> np.ndarray:
    return requantize(accumulators(d), d).reshape(-1)


def make_layer(layer: Layer, pattern: str | None, seed: int = 0, relu: bool = True,
               max_shift: int = 62) -> LayerData:
    """Random, seeded data for one layer; weights magnitude-pruned to `pattern` (None: dense). Per channel the
    requantization scale spreads the outputs over about +-40, as a multiplier below 2^31 and a shift of at
    most `max_shift` (below 33 the kernels take their 64-bit path)."""
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
    scale = 40.0 / np.maximum(acc.std(axis=0), 1.0)
    d.shift = np.clip(np.floor(np.log2((2 ** 31 - 1) / scale)), 1, max_shift).astype(np.int64)
    d.mult = np.clip(np.round(scale * 2.0 ** d.shift), 1, 2 ** 31 - 1).astype(np.int64)
    return d


def _fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def _blob(arrays: dict[str, np.ndarray]) -> tuple[bytes, dict[str, int]]:
    out, where = bytearray(), {}
    for name, a in arrays.items():
        out += bytes(-len(out) % 4)
        where[name] = len(out)
        out += np.ascontiguousarray(a).tobytes()
    return bytes(out), where


def program(d: LayerData, variant: str) -> tuple[str, bytes]:
    """C source of the layer program and the binary data it includes."""
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
    blob, where = _blob(arrays)
    out_len = layer.cout * (1 if layer.op == "fc" else layer.ho * layer.wo)
    decl = "\n".join(f"#define {name.upper()}_AT {off}" for name, off in where.items())
    shape = (f"static const conv_shape_t shape = {{{layer.h}, {layer.w}, {layer.cin}, {layer.cout}, {layer.k}, "
             f"{layer.kw}, {layer.stride}, {layer.pad}}};")
    if sparse:
        nm = (f"static const nm_weights_t nm = {{(const int8_t *)(blob + VALUES_AT), (const uint32_t *)(blob + "
              f"OFFSETS_AT), {layer.cout}, {layer.reduction}, {packed.pattern.n}, {packed.pattern.m}, "
              f"{packed.value_stride}, {packed.offset_stride}}};")
    else:
        nm = f"#define W ((const int8_t *)(blob + W_AT))\n#define ROW_STRIDE {arrays['w'].shape[1]}"
    fn = {("conv", "ref"): "conv2d_i8_ref(X, W, ROW_STRIDE, out, &shape, &q)",
          ("conv", "dense"): "conv2d_i8_xedge(X, W, ROW_STRIDE, out, &shape, &q, scratch)",
          ("conv", "sw"): "conv2d_nm_i8_sw(X, &nm, out, &shape, &q, scratch)",
          ("conv", "ext"): "conv2d_nm_i8_xdec(X, &nm, out, &shape, &q, scratch)",
          ("dw", "ref"): "depthwise_i8_ref(X, W, ROW_STRIDE, out, &shape, &q)",
          ("dw", "dense"): "depthwise_i8_xedge(X, W, ROW_STRIDE, out, &shape, &q)",
          ("fc", "ref"): f"fc_i8_ref(X, W, ROW_STRIDE, out, {layer.cin}, {layer.cout}, &q)",
          ("fc", "dense"): f"fc_i8_xedge(X, W, ROW_STRIDE, out, {layer.cin}, {layer.cout}, &q)",
          ("fc", "sw"): "fc_nm_i8_sw(X, &nm, out, &q, scratch)",
          ("fc", "ext"): "fc_nm_i8_xdec(X, &nm, out, &q)"}[(layer.op, variant)]
    scratch_bytes = 8 * (-(-layer.reduction // 4) * 4) + 32 * layer.cout + 64
    src = f"""/* generated by edge_sdk/kernel_bench.py: layer {layer.name}, {d.pattern or 'dense'}, variant {variant} */
#include <stdint.h>
#include <stdio.h>
#include "nn_i8.h"
#include "perf.h"
extern const uint8_t blob[];
{decl}
#define X ((const int8_t *)(blob + X_AT))
{shape}
{nm}
static int8_t out[{out_len}];
static uint32_t scratch[{scratch_bytes // 4}];
int main(void) {{
  (void)shape;
  quant_t q = {{(const int32_t *)(blob + BIAS_AT), (const int32_t *)(blob + MULT_AT),
               (const int32_t *)(blob + SHIFT_AT), {d.in_zp}, {d.out_zp}, {d.act_min}, {d.act_max}}};
  (void)scratch;
  uint64_t c0 = perf_cycles(), i0 = perf_instret();
  {fn};
  uint64_t cycles = perf_cycles() - c0, insns = perf_instret() - i0;
  uint32_t h = 0x811c9dc5u;
  for (int i = 0; i < {out_len}; ++i) h = (h ^ (uint8_t)out[i]) * 0x01000193u;
  printf("layer cycles %lu instructions %lu checksum %08lx\\n", (unsigned long)cycles, (unsigned long)insns,
         (unsigned long)h);
  return 0;
}}
"""
    return src, blob


def run_layer(d: LayerData, variant: str, simulator: str = "rtl", workdir: str | Path | None = None) -> dict:
    """Build and run one layer variant; the result row (cycles, instructions, exact)."""
    if variant not in VARIANTS:
        raise EdgeSdkError(f"unknown kernel variant '{variant}'; choose one of: {', '.join(VARIANTS)}")
    with tempfile.TemporaryDirectory(prefix="edge-sdk-layer-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        src, blob = program(d, variant)
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
            "macs": d.layer.macs, "exact": checksum == _fnv1a(reference(d).tobytes())}


def sweep(layers: list[str] | None = None, patterns: list[str] | None = None, simulator: str = "rtl",
          progress: bool = True) -> list[dict]:
    """Dense, sparse-sw and sparse-ext rows for every (layer, pattern) whose M divides the layer's reduction."""
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
    jobs = [(LAYERS[n], None, "dense") for n in names]
    jobs += [(LAYERS[n], p, v) for n in names for p in pats
             if LAYERS[n].op != "dw" and LAYERS[n].reduction % int(p.split(":")[1]) == 0 for v in ("sw", "ext")]
    from tqdm import tqdm
    rows = []
    data = {}
    for layer, pattern, variant in tqdm(jobs, desc=f"kernels on {simulator}", disable=not progress):
        key = (layer.name, pattern)
        if key not in data:
            data = {key: make_layer(layer, pattern)}
        rows.append(run_layer(data[key], variant, simulator))
    return rows
