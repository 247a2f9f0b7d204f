"""Model-level benchmarks (issue 11): whole networks compiled with `edge_sdk.compile` and run on the RTL (cycles).

Networks, built here in PyTorch at their published shapes with seeded random weights (nothing is downloaded, so
there are no trained weights; cycles and memory hardly depend on them, the output check not at all; accuracy
under pruning is measured by benchmarks/pruning_accuracy.py): MLPerf Tiny ResNet-8 (CIFAR-10) and DS-CNN (keyword
spotting), TC-ResNet8 (keyword spotting with 1-D convs), an MLP 784-256-256-10 (MNIST), a tiny ViT and a ViT at
DeiT-Tiny width (CIFAR-10 patches) and ResNet-18 at 64x64 (1000 classes).
Each network is measured dense on --isa xedge (the baseline), and magnitude-pruned (`edge_sdk.prune`) to 1:8 and
1:16, compiled for --isa xedge (the software sparse kernels only where they were measured faster) and for --isa
xdec (the sparse ISA extension); and dense on --isa base (plain RV32IMC with the plain-C reference kernels: what
a user would otherwise run on the same core). Per row: total and per-kernel-kind cycles, speedup over dense
xedge, MAC/cycle (dense-equivalent MACs), code, weight and peak activation bytes, compile time (ONNX to ELF,
wall and CPU), whether the model fits the `mcu` memory map (compiled with memory="mcu": the compiler's error when
not), and the firmware's output against onnxruntime on the QDQ model the compiler wrote (and xdec's / plain C's
against xedge's: the same integers). Every row runs first on Spike; on the RTL when Spike counted at most
--rtl-max-instructions instructions, else its Spike instruction counts are the result ("measure": "spike
instructions"; speedups against it are instruction ratios). Calibration: 32 real training images where the SDK
ships them (CIFAR-10 subset, upscaled for ResNet-18; MNIST), seeded random inputs otherwise; each row runs the
network's number of test images (or seeded random inputs): 3, ResNet-18 1; its cycles are the first input's.
Writes benchmarks/results/models.json."""
from __future__ import annotations

import argparse
import copy
import re
import resource
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from common import write_result
from torch import nn

import edge_sdk
from edge_sdk.errors import EdgeSdkError
from edge_sdk.learning import datasets

PATTERNS = ("1:8", "1:16")
CALIBRATION = 32          # calibration inputs per network
# A row runs on the RTL when its Spike run counted at most this many instructions: at the ~1.15 cycles per
# instruction of the compiled models (plain C and xedge alike) and the RTL's ~8 M cycles/s on this machine,
# about 1.5 minutes. The plain-C ResNet-18 (2.0 G instructions) stays on Spike.
RTL_MAX_INSTRUCTIONS = 600_000_000
RTL, SPIKE = "rtl cycles", "spike instructions"     # a row's "measure"


# ----------------------------------------------------------------------------- the networks
class ResNet8(nn.Module):
    """MLPerf Tiny image classification (tiny/benchmark/training/image_classification/keras_model.py): conv 3x3
    16 + ReLU; three residual stacks of two 3x3 convs (16, 32, 64 channels; stacks 2 and 3 start with stride 2
    and a 1x1 stride-2 shortcut conv), each ending in an add + ReLU; 8x8 average pool; FC 10 (logits: the
    reference's final softmax is left out so the output check compares logits). Batch norm is folded away
    (conv biases)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.convs = nn.ModuleList()
        self.shortcuts = nn.ModuleList()
        cin = 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            self.convs.append(nn.ModuleList([nn.Conv2d(cin, cout, 3, stride, 1), nn.Conv2d(cout, cout, 3, 1, 1)]))
            self.shortcuts.append(nn.Identity() if stride == 1 else nn.Conv2d(cin, cout, 1, stride))
            cin = cout
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for (a, b), shortcut in zip(self.convs, self.shortcuts):
            x = torch.relu(shortcut(x) + b(torch.relu(a(x))))
        return self.fc(torch.flatten(nn.functional.avg_pool2d(x, 8), 1))


class DSCNN(nn.Module):
    """MLPerf Tiny keyword spotting (tiny/benchmark/training/keyword_spotting/keras_model.py, DS-CNN): 49x10 MFCC
    input, conv 10x4 stride 2 'same' 64 + ReLU, four depthwise-separable blocks (depthwise 3x3 + ReLU, pointwise
    64 + ReLU), 25x5 average pool, FC 12 (logits). The first conv's 'same' padding is asymmetric (4 top, 5 bottom,
    1 left, 1 right): PyTorch pads symmetrically, so `export` rewrites that Conv's pads in the ONNX graph."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, (10, 4), stride=2, padding=(5, 1))
        self.blocks = nn.ModuleList(nn.ModuleList([nn.Conv2d(64, 64, 3, padding=1, groups=64), nn.Conv2d(64, 64, 1)])
                                    for _ in range(4))
        self.fc = nn.Linear(64, 12)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        for dw, pw in self.blocks:
            x = torch.relu(pw(torch.relu(dw(x))))
        return self.fc(torch.flatten(nn.functional.avg_pool2d(x, (25, 5)), 1))


class TCResNet8(nn.Module):
    """TC-ResNet8 (Choi et al., "Temporal Convolution for Real-time Keyword Spotting on Mobile Devices", 2019): the
    40 MFCC coefficients of 101 frames as 40 channels of a sequence; Conv1d 3 to 16, three residual blocks (Conv1d 9
    stride 2 + ReLU, Conv1d 9, a stride-2 1x1 Conv1d shortcut, add, ReLU) of 24, 32, 48 channels, average pool over
    time, FC 12 (batch norm folded into the convs, as an exporter does for inference)."""

    def __init__(self, widths=(16, 24, 32, 48)):
        super().__init__()
        self.stem = nn.Conv1d(40, widths[0], 3, padding=1, bias=False)
        self.blocks = nn.ModuleList(
            nn.ModuleList([nn.Conv1d(a, b, 9, stride=2, padding=4), nn.Conv1d(b, b, 9, padding=4),
                           nn.Conv1d(a, b, 1, stride=2)]) for a, b in zip(widths, widths[1:]))
        self.fc = nn.Linear(widths[-1], 12)

    def forward(self, x):
        x = self.stem(x)
        for conv1, conv2, shortcut in self.blocks:
            x = torch.relu(conv2(torch.relu(conv1(x))) + shortcut(x))
        return self.fc(x.mean(-1))


class MLP(nn.Module):
    """784-256-256-10 with ReLU (MNIST)."""

    def __init__(self, sizes=(784, 256, 256, 10)):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = layer(x) if k == len(self.layers) - 1 else torch.relu(layer(x))
        return x


class Block(nn.Module):
    """A pre-norm ViT encoder block (as tests/test_transformer.py): LayerNorm, QKV, softmax(Q K^T / sqrt(d)) V per
    head, projection, residual; LayerNorm, MLP with erf GELU, residual."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(self.ln1(x)).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attention = torch.softmax(q @ k.transpose(-2, -1) * self.head_dim ** -0.5, dim=-1)
        x = x + self.proj((attention @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


class TinyViT(nn.Module):
    """A tiny ViT for 32x32x3 images: 4x4 patches (a 4x4 stride-4 conv) -> 64 tokens of 64, learned position
    embedding, 2 encoder blocks (4 heads of 16, MLP 128), final LayerNorm, mean over tokens (no class token: the
    compiler has no Concat of activations), FC 10."""

    def __init__(self, dim=64, depth=2, heads=4, hidden=128, patch=4, size=32, classes=10):
        super().__init__()
        self.patches = nn.Conv2d(3, dim, patch, stride=patch)
        self.position = nn.Parameter(0.02 * torch.randn(1, (size // patch) ** 2, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(depth))
        self.ln, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2) + self.position
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x).mean(1))


class ViTTinyWidth(TinyViT):
    """TinyViT at DeiT-Tiny's width (192, 3 heads of 64, MLP 768) with 4 encoder blocks on the same 32x32x3 input
    (4x4 patches -> 64 tokens of 192): a ViT whose matmuls with weights, not its glue, carry most of the work."""

    def __init__(self):
        super().__init__(dim=192, depth=4, heads=3, hidden=768)


class ResNet18(nn.Module):
    """ResNet-18 in torchvision's layout (resnet18: conv 7x7 stride 2 64 + ReLU, max pool 3x3 stride 2; four stages
    of two basic blocks (two 3x3 convs, add + ReLU), 64, 128, 256, 512 channels, stages 2-4 starting with stride 2
    and a 1x1 stride-2 shortcut conv; global average pool; FC 1000), on a 64x64x3 input: 32x32x64 after the stem,
    16x16x64 to 2x2x512 through the stages (edge_sdk/kernel_bench.py's resnet18 layers). Batch norm is folded away
    (conv biases)."""

    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.convs = nn.ModuleList()
        self.shortcuts = nn.ModuleList()
        cin = 64
        for cout in (64, 128, 256, 512):
            for stride in ((1, 1) if cout == 64 else (2, 1)):
                self.convs.append(nn.ModuleList([nn.Conv2d(cin, cout, 3, stride, 1), nn.Conv2d(cout, cout, 3, 1, 1)]))
                self.shortcuts.append(nn.Identity() if stride == 1 else nn.Conv2d(cin, cout, 1, stride))
                cin = cout
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.stem(x)), 3, 2, 1)
        for (a, b), shortcut in zip(self.convs, self.shortcuts):
            x = torch.relu(shortcut(x) + b(torch.relu(a(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _images(name: str, layout):
    """Calibration images from the training split and inputs from the test split of a shipped data set."""
    def data(n_cal: int, n_inputs: int, seed: int):
        x_train, _, x_test, _ = datasets.load(name)
        rng = np.random.default_rng(seed)
        pick = lambda x, n: layout(x[rng.choice(len(x), n, replace=False)]).astype(np.float32)  # noqa: E731
        return pick(x_train, n_cal), pick(x_test, n_inputs)[:, None]
    return data


def _random(shape):
    def data(n_cal: int, n_inputs: int, seed: int):
        rng = np.random.default_rng(seed)
        return rng.standard_normal((n_cal, *shape)).astype(np.float32), \
            rng.standard_normal((n_inputs, 1, *shape)).astype(np.float32)
    return data


_cifar = _images("cifar10", lambda x: x.reshape(-1, 32, 32, 3).transpose(0, 3, 1, 2))
# ImageNet-style 64x64 inputs for ResNet-18: CIFAR-10 images upscaled 2x (each pixel repeated)
_cifar64 = _images("cifar10", lambda x: x.reshape(-1, 32, 32, 3).transpose(0, 3, 1, 2).repeat(2, 2).repeat(2, 3))
_mnist = _images("mnist", lambda x: x)


@dataclass(frozen=True)
class Network:
    """A benchmarked network: how to build it, what to feed it, how the README row names it."""
    make: type[nn.Module]
    shape: tuple[int, ...]      # input shape without batch
    data: Callable              # data(n_calibration, n_inputs, seed) -> (calibration, inputs)
    source: str                 # where data comes from
    title: str                  # what the README row calls it
    inputs: int = 3             # inputs run per row (the cycles are the first's; the others are checked too)
    anchor: dict | None = None  # the model-level speedup anchor: {"pattern", "paper", "target"}


CIFAR = "CIFAR-10 images (the SDK's shipped subset)"
NETWORKS = {
    "resnet8": Network(ResNet8, (3, 32, 32), _cifar, CIFAR, "ResNet-8 (MLPerf Tiny, CIFAR-10 32x32x3)"),
    "ds-cnn": Network(DSCNN, (1, 49, 10), _random((1, 49, 10)), "seeded random N(0, 1) inputs (no speech data shipped)",
                      "DS-CNN (MLPerf Tiny keyword spotting, 49x10x1)"),
    "tc-resnet8": Network(TCResNet8, (40, 101), _random((40, 101)), "seeded random N(0, 1) inputs (no speech data "
                          "shipped)", "TC-ResNet8 (keyword spotting, 40 MFCC x 101 frames, 1-D convs)"),
    "mlp": Network(MLP, (784,), _mnist, "MNIST images (shipped)", "MLP 784-256-256-10 (MNIST)"),
    "vit": Network(TinyViT, (3, 32, 32), _cifar, CIFAR, "tiny ViT (32x32x3, 64 tokens of 64, 2 blocks, 4 heads)",
                   anchor={"pattern": "1:16", "paper": 1.81, "target": 2.0}),
    "vit-192": Network(ViTTinyWidth, (3, 32, 32), _cifar, CIFAR, "ViT at DeiT-Tiny width (32x32x3, 64 tokens of 192, "
                       "4 blocks, 3 heads, MLP 768)", anchor={"pattern": "1:16", "paper": 1.81, "target": 2.0}),
    # one input per row: the dense model is ~95 M cycles on the RTL
    "resnet18": Network(ResNet18, (3, 64, 64), _cifar64, "CIFAR-10 images (the SDK's shipped subset) upscaled 2x to "
                        "64x64", "ResNet-18 (torchvision layout, 64x64x3, 1000 classes)", inputs=1,
                        anchor={"pattern": "1:16", "paper": 3.21, "target": 3.5}),
}


def export(name: str, path: Path, seed: int) -> Path:
    """The network with seeded random weights as a float ONNX model (batch 1)."""
    net = NETWORKS[name]
    torch.manual_seed(seed)
    module = net.make().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.zeros(1, *net.shape), str(path), input_names=["x"], output_names=["y"],
                          opset_version=17, dynamo=False)
    if name == "ds-cnn":      # TF 'same' for 10x4 stride 2 on 49x10: pads top 4, left 1, bottom 5, right 1
        import onnx
        model = onnx.load(path)
        conv = next(n for n in model.graph.node if n.op_type == "Conv")
        pads = next(a for a in conv.attribute if a.name == "pads")
        pads.ints[:] = [4, 1, 5, 1]
        onnx.save(model, path)
    return path


# ----------------------------------------------------------------------------- measuring
def kind(layer: dict) -> str:
    """A layer's kernel kind: the report's (dense, sparse-sw, sparse-ext, glue), with the two dense-only kinds that
    no weight pruning reaches split out of `dense`: depthwise convolutions and matmuls of two activations."""
    if layer["function"].startswith("depthwise"):
        return "depthwise"
    if layer["function"] == "matmul_act_i8":
        return "matmul-act"
    return layer["kernel"]


def unit(row: dict) -> str:
    """What a row's numbers count: "cycles" (run on the RTL) or "instructions" (on Spike)."""
    return "cycles" if row["measure"] == RTL else "instructions"


def speedup(base: dict, row: dict) -> tuple[float, str]:
    """How much faster row runs than base, and by what: their cycles when both ran on the RTL, else instructions."""
    by = "cycles" if unit(base) == unit(row) == "cycles" else "instructions"
    return base[by] / row[by], by


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished children (GCC)."""
    return sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF,
                                                                         resource.RUSAGE_CHILDREN)))


def measure(model_path: Path, out: Path, calibration: np.ndarray, inputs: np.ndarray, isa: str, check_mcu: bool,
            rtl_max_instructions: int) -> dict:
    """Compile for isa (memory map default; wall and CPU time), run the first input on Spike, then every input on
    the RTL if Spike counted at most rtl_max_instructions instructions, else on Spike (the measure: the first
    input's cycles, or instructions); check each output against onnxruntime on the compiler's QDQ model; compile
    once more for the mcu map when asked."""
    start, cpu = time.perf_counter(), cpu_seconds()
    compiled = edge_sdk.compile(model_path, out, calibration=calibration, isa=isa)
    compile_s, compile_cpu_s = time.perf_counter() - start, cpu_seconds() - cpu
    compiled.run(inputs[0], sim="spike")
    sim = "rtl" if compiled.report["run"]["instructions"] <= rtl_max_instructions else "spike"
    measured = "cycles" if sim == "rtl" else "instructions"
    start = time.perf_counter()
    outputs, steps, off_fraction, argmax, counts = [], [], [], [], []
    for k, x in enumerate(inputs):
        y = compiled.run(x, sim=sim)
        if k == 0:
            report = copy.deepcopy(compiled.report)
        ref = compiled.reference(x)
        off = np.rint(np.abs(y.astype(np.float64) - ref) / compiled.output.q.scale)
        outputs.append(y.ravel().tolist())
        steps.append(int(off.max()))
        off_fraction.append(float(np.mean(off > 0)))
        argmax.append(bool(np.argmax(y) == np.argmax(ref)))
        counts.append(compiled.report["run"][measured])
    run_s = time.perf_counter() - start
    by_kind: dict[str, int] = {}
    for layer in report["layers"]:
        by_kind[kind(layer)] = by_kind.get(kind(layer), 0) + layer[measured]
    t = report["totals"]
    row = {"isa": isa, "measure": RTL if sim == "rtl" else SPIKE, "cycles": report["run"]["cycles"],
           "instructions": report["run"]["instructions"], f"{measured}_other_inputs": counts[1:],
           f"{measured}_by_kind": by_kind, "macs": t["macs"],
           "mac_per_cycle": t["macs"] / counts[0] if sim == "rtl" else None, "code_bytes": t["code_bytes"],
           "weight_bytes": t["weight_bytes"], "flash_bytes": t["code_bytes"] + t["weight_bytes"],
           "activation_bytes": t["activation_bytes"], "data_bytes": t["data_bytes"], "inputs_checked": len(inputs),
           "output_within_one_step": max(steps) <= 1, "max_step_difference": max(steps),
           "fraction_one_step_off": max(off_fraction), "argmax_matches": all(argmax), "outputs": outputs,
           "layers": [{k: layer[k] for k in ("name", "op", "kernel", "pattern", "function", "macs", "weight_bytes",
                                             "cycles", "instructions")} for layer in report["layers"]],
           "compile_seconds": round(compile_s, 1), "compile_cpu_seconds": round(compile_cpu_s, 1),
           "run_seconds": round(run_s, 1)}
    if check_mcu:
        try:
            edge_sdk.compile(model_path, out.with_name(out.name + "-mcu"), calibration=calibration, isa=isa,
                             memory="mcu")
            row["fits_mcu"], row["mcu_error"] = True, None
        except EdgeSdkError as err:
            row["fits_mcu"], row["mcu_error"] = False, str(err)
    return row


def network(name: str, work: Path, seed: int, n_inputs: int | None, check_mcu: bool,
            rtl_max_instructions: int) -> dict:
    net = NETWORKS[name]
    calibration, inputs = net.data(CALIBRATION, n_inputs or net.inputs, seed)
    dense = export(name, work / f"{name}.onnx", seed)
    variants = [("dense", dense, "xedge")]
    pruning = {}
    for pattern in PATTERNS:
        path = work / f"{name}-{pattern.replace(':', '-')}.onnx"
        layers = edge_sdk.prune(dense, path, pattern)
        pruning[pattern] = {"pruned": [layer.name for layer in layers if layer.pattern],
                            "dense": {layer.name: layer.reason for layer in layers if not layer.pattern}}
        variants += [(pattern, path, "xedge"), (pattern, path, "xdec")]
    variants.append(("dense", dense, "base"))    # plain C: the reference kernels on plain RV32IMC
    rows = []
    for variant, path, isa in variants:
        row = {"network": name, "variant": variant,
               **measure(path, work / f"out-{path.stem}-{isa}", calibration, inputs, isa, check_mcu,
                         rtl_max_instructions)}
        row["speedup"], row["speedup_by"] = speedup(rows[0] if rows else row, row)
        rows.append(row)
        measured = unit(row)
        kinds = ", ".join(f"{k} {v:,}" for k, v in row[f"{measured}_by_kind"].items())
        rate = f"{row['mac_per_cycle']:5.2f} MAC/cycle" if row["mac_per_cycle"] else "(Spike)"
        print(f"{name:8} {variant:6} --isa {isa:5} {row[measured]:>13,} {measured} ({row['speedup']:.2f}x) {rate} "
              f"[{kinds}]; code {row['code_bytes']:,} B, weights {row['weight_bytes']:,} B, activations "
              f"{row['activation_bytes']:,} B, fits mcu: {row.get('fits_mcu')}; within one step: "
              f"{row['output_within_one_step']} (max {row['max_step_difference']}); compile {row['compile_seconds']} "
              f"s ({row['compile_cpu_seconds']} s CPU), run {row['run_seconds']} s", flush=True)
    by = {(row["variant"], row["isa"]): row for row in rows}
    # the same model on the other ISAs: the xdec kernels and the plain-C reference kernels compute xedge's integers
    for variant, isa in [(pattern, "xdec") for pattern in PATTERNS] + [("dense", "base")]:
        by[variant, isa]["same_output_as_xedge"] = by[variant, isa]["outputs"] == by[variant, "xedge"]["outputs"]
    for row in rows:
        del row["outputs"]
    return {"network": name, "title": net.title, "about": " ".join(net.make.__doc__.split()),
            "input_shape": [1, *net.shape], "data": net.source, "calibration_inputs": CALIBRATION,
            "anchor": net.anchor, "pruning": pruning, "rows": rows}


def summarize(result: dict) -> dict:
    """Per network: the dense baseline, the speedups, memory, the plain-C comparison and the output check, as the
    README row shows them."""
    rows = result["rows"]
    dense = rows[0]
    by = {(row["variant"], row["isa"]): row for row in rows}
    pruned = [row for row in rows if row["variant"] in PATTERNS]
    best = max(pruned, key=lambda row: row["speedup"])
    base = by["dense", "base"]
    sparse_at_16 = {layer["name"] for layer in by["1:16", "xdec"]["layers"] if layer["kernel"].startswith("sparse")}
    per_variant = lambda key: {f"{row['variant']} {row['isa']}": row.get(key) for row in rows}  # noqa: E731
    measured = unit(dense)
    xedge_over_c, c_by = speedup(base, dense)
    return {"macs": dense["macs"], "dense_measure": dense["measure"], "dense_cycles": dense["cycles"],
            "dense_instructions": dense["instructions"], "dense_mac_per_cycle": dense["mac_per_cycle"],
            "dense_compile_seconds": dense["compile_seconds"],
            "dense_compile_cpu_seconds": dense["compile_cpu_seconds"],
            "speedup": {p: {isa: by[p, isa]["speedup"] for isa in ("xedge", "xdec")} for p in PATTERNS},
            "speedup_by": "/".join(sorted({row["speedup_by"] for row in pruned})),
            "code_bytes": per_variant("code_bytes"), "weight_bytes": per_variant("weight_bytes"),
            "activation_bytes": per_variant("activation_bytes"),
            "fits_mcu": per_variant("fits_mcu"),
            "mcu_needs": {f"{row['variant']} {row['isa']}": re.search(r"needs ([\d,]+) bytes", row["mcu_error"])[1]
                          for row in rows if row.get("mcu_error") and "needs" in row["mcu_error"]},
            # what a user would otherwise run: the same dense model on plain RV32IMC with the plain-C kernels
            "plain_c": {"measure": base["measure"], "cycles": base["cycles"], "instructions": base["instructions"],
                        "speedup_by": c_by, "xedge_dense_speedup": xedge_over_c,
                        "best_sparse": f"{best['variant']} {best['isa']}",
                        "best_sparse_speedup": speedup(base, best)[0],
                        "xedge_dense_instruction_ratio": base["instructions"] / dense["instructions"],
                        "same_output_as_xedge": base["same_output_as_xedge"]},
            f"dense_{measured}_by_kind": dense[f"{measured}_by_kind"],
            # the share of the dense model's cycles spent in layers that pruning leaves dense (the first conv when its
            # reduction is no multiple of 16, depthwise, glue, matmuls of two activations): Amdahl's bound
            "dense_share_left_dense_at_1:16": sum(layer[measured] for layer in dense["layers"] if layer["name"] not in
                                                 sparse_at_16) / dense[measured],
            "all_within_one_step": all(row["output_within_one_step"] for row in rows),
            "max_step_difference": max(row["max_step_difference"] for row in rows),
            "runs_checked": sum(row["inputs_checked"] for row in rows),
            "xdec_same_output_as_xedge": all(by[p, "xdec"]["same_output_as_xedge"] for p in PATTERNS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="*", default=list(NETWORKS), choices=list(NETWORKS),
                        help="networks to measure (default: all)")
    parser.add_argument("--inputs", type=int, default=None,
                        help="inputs run per row, every network (default: the network's own, "
                             + ", ".join(f"{name} {net.inputs}" for name, net in NETWORKS.items())
                             + "; the cycles are the first input's, every output is checked)")
    parser.add_argument("--rtl-max-instructions", type=int, default=RTL_MAX_INSTRUCTIONS,
                        help="run a row on the RTL only when its Spike run counted at most this many instructions; "
                             "else its result is Spike's instruction counts (default %(default)s: ~1.5 minutes of RTL)")
    parser.add_argument("--seed", type=int, default=0, help="weights (torch.manual_seed) and input choice")
    parser.add_argument("--no-mcu", action="store_true", help="skip the compile for the mcu memory map")
    parser.add_argument("--no-write", action="store_true", help="print only (no results/models.json)")
    args = parser.parse_args()
    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="models-bench-") as tmp:
        for name in args.networks:
            t0 = time.perf_counter()
            results.append(network(name, Path(tmp), args.seed, args.inputs, not args.no_mcu,
                                   args.rtl_max_instructions))
            results[-1]["seconds"] = round(time.perf_counter() - t0, 1)
            results[-1]["summary"] = summarize(results[-1])
            print(f"{name}: {results[-1]['seconds']} s", flush=True)
    seconds = round(time.perf_counter() - start, 1)
    print(f"{len(results)} networks in {seconds} s")
    if not args.no_write:
        write_result("models", {
            "sim": f"rtl (a row whose Spike run counted more than {args.rtl_max_instructions:,} instructions: "
                   "Spike's instruction counts, its 'measure')",
            "rtl_max_instructions": args.rtl_max_instructions,
            "weights": f"seeded random (PyTorch's default initialization, torch.manual_seed({args.seed})): nothing "
                       "can be downloaded here, so there are no trained weights",
            "networks": results, "all_within_one_step": all(r["summary"]["all_within_one_step"] for r in results),
            "seconds": seconds})


if __name__ == "__main__":
    main()
