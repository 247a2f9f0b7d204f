"""Model-level benchmarks (issue 11): whole networks compiled with `edge_sdk.compile` and run on the RTL (cycles).

Networks, built here in PyTorch at their published shapes with seeded random weights (nothing is downloaded, so
there are no trained weights; cycles and memory hardly depend on them, the output check not at all; accuracy
under pruning is measured by benchmarks/pruning_accuracy.py): MLPerf Tiny ResNet-8 (CIFAR-10) and DS-CNN (keyword spotting),
an MLP 784-256-256-10 (MNIST) and a tiny ViT (CIFAR-10 patches). Each network is measured dense on --isa xedge
(the baseline), and magnitude-pruned (`edge_sdk.prune`) to 1:8 and 1:16, compiled for --isa xedge (the software
sparse kernels only where they were measured faster) and for --isa xdec (the sparse ISA extension). Per row:
total and per-kernel-kind cycles, speedup over dense, MAC/cycle (dense-equivalent MACs), flash (code + weights),
peak activation RAM, whether the model fits the `mcu` memory map (compiled with memory="mcu": the compiler's
error when not), and the firmware's output against onnxruntime on the QDQ model the compiler wrote. Calibration:
32 real training images where the SDK ships them (CIFAR-10 subset, MNIST), seeded random inputs otherwise; each
row runs --inputs (3) test images (or seeded random inputs) on the RTL, its cycles are the first input's.
Writes benchmarks/results/models.json."""
from __future__ import annotations

import argparse
import copy
import re
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from common import write_result
from torch import nn

import edge_sdk
from edge_sdk.errors import EdgeSdkError
from edge_sdk.learning import datasets

PATTERNS = ("1:8", "1:16")
CALIBRATION = 32          # calibration inputs per network


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
_mnist = _images("mnist", lambda x: x)


# name: (module, input shape without batch, data(n_calibration, n_inputs, seed) -> (calibration, inputs), its source)
NETWORKS = {
    "resnet8": (ResNet8, (3, 32, 32), _cifar, "CIFAR-10 images (the SDK's shipped subset)"),
    "ds-cnn": (DSCNN, (1, 49, 10), _random((1, 49, 10)), "seeded random N(0, 1) inputs (no speech data shipped)"),
    "mlp": (MLP, (784,), _mnist, "MNIST images (shipped)"),
    "vit": (TinyViT, (3, 32, 32), _cifar, "CIFAR-10 images (the SDK's shipped subset)"),
}


# name: what the README row calls it
TITLES = {"resnet8": "ResNet-8 (MLPerf Tiny, CIFAR-10 32x32x3)",
          "ds-cnn": "DS-CNN (MLPerf Tiny keyword spotting, 49x10x1)",
          "mlp": "MLP 784-256-256-10 (MNIST)", "vit": "tiny ViT (32x32x3, 64 tokens of 64, 2 blocks, 4 heads)"}


def export(name: str, path: Path, seed: int) -> Path:
    """The network with seeded random weights as a float ONNX model (batch 1)."""
    make, shape, *_ = NETWORKS[name]
    torch.manual_seed(seed)
    module = make().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.zeros(1, *shape), str(path), input_names=["x"], output_names=["y"],
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


def measure(model_path: Path, out: Path, calibration: np.ndarray, inputs: np.ndarray, isa: str,
            check_mcu: bool) -> dict:
    """Compile for isa (memory map default), run every input on the RTL (the cycles are the first input's), check
    each output against onnxruntime on the compiler's QDQ model; compile once more for the mcu map when asked."""
    start = time.perf_counter()
    compiled = edge_sdk.compile(model_path, out, calibration=calibration, isa=isa)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    outputs, steps, off_fraction, argmax, cycles = [], [], [], [], []
    for k, x in enumerate(inputs):
        y = compiled.run(x, sim="rtl")
        if k == 0:
            report = copy.deepcopy(compiled.report)
        ref = compiled.reference(x)
        off = np.rint(np.abs(y.astype(np.float64) - ref) / compiled.output.q.scale)
        outputs.append(y.ravel().tolist())
        steps.append(int(off.max()))
        off_fraction.append(float(np.mean(off > 0)))
        argmax.append(bool(np.argmax(y) == np.argmax(ref)))
        cycles.append(compiled.report["run"]["cycles"])
    rtl_s = time.perf_counter() - start
    by_kind: dict[str, int] = {}
    for layer in report["layers"]:
        by_kind[kind(layer)] = by_kind.get(kind(layer), 0) + layer["cycles"]
    t = report["totals"]
    row = {"isa": isa, "cycles": cycles[0], "cycles_other_inputs": cycles[1:],
           "instructions": report["run"]["instructions"], "cycles_by_kind": by_kind, "macs": t["macs"],
           "mac_per_cycle": t["macs"] / cycles[0], "code_bytes": t["code_bytes"], "weight_bytes": t["weight_bytes"],
           "flash_bytes": t["code_bytes"] + t["weight_bytes"], "activation_bytes": t["activation_bytes"],
           "data_bytes": t["data_bytes"], "inputs_checked": len(inputs),
           "output_within_one_step": max(steps) <= 1, "max_step_difference": max(steps),
           "fraction_one_step_off": max(off_fraction), "argmax_matches": all(argmax), "outputs": outputs,
           "layers": [{k: layer[k] for k in ("name", "op", "kernel", "pattern", "function", "macs", "weight_bytes",
                                             "cycles")} for layer in report["layers"]],
           "compile_seconds": round(compile_s, 1), "rtl_seconds": round(rtl_s, 1)}
    if check_mcu:
        try:
            edge_sdk.compile(model_path, out.with_name(out.name + "-mcu"), calibration=calibration, isa=isa,
                             memory="mcu")
            row["fits_mcu"], row["mcu_error"] = True, None
        except EdgeSdkError as err:
            row["fits_mcu"], row["mcu_error"] = False, str(err)
    return row


def network(name: str, work: Path, seed: int, n_inputs: int, check_mcu: bool) -> dict:
    make, shape, data, source = NETWORKS[name]
    calibration, inputs = data(CALIBRATION, n_inputs, seed)
    dense = export(name, work / f"{name}.onnx", seed)
    variants = [("dense", dense, "xedge")]
    pruning = {}
    for pattern in PATTERNS:
        path = work / f"{name}-{pattern.replace(':', '-')}.onnx"
        layers = edge_sdk.prune(dense, path, pattern)
        pruning[pattern] = {"pruned": [layer.name for layer in layers if layer.pattern],
                            "dense": {layer.name: layer.reason for layer in layers if not layer.pattern}}
        variants += [(pattern, path, "xedge"), (pattern, path, "xdec")]
    rows = []
    for variant, path, isa in variants:
        row = {"network": name, "variant": variant,
               **measure(path, work / f"out-{path.stem}-{isa}", calibration, inputs, isa, check_mcu)}
        row["speedup"] = rows[0]["cycles"] / row["cycles"] if rows else 1.0
        rows.append(row)
        kinds = ", ".join(f"{k} {v:,}" for k, v in row["cycles_by_kind"].items())
        print(f"{name:8} {variant:6} --isa {isa:5} {row['cycles']:>11,} cycles ({row['speedup']:.2f}x) "
              f"{row['mac_per_cycle']:5.2f} MAC/cycle [{kinds}]; flash {row['flash_bytes']:,} B, activations "
              f"{row['activation_bytes']:,} B, fits mcu: {row.get('fits_mcu')}; within one step: "
              f"{row['output_within_one_step']} (max {row['max_step_difference']}); compile "
              f"{row['compile_seconds']} s, RTL {row['rtl_seconds']} s", flush=True)
    for pattern in PATTERNS:     # the same pruned model on both ISAs: the xdec kernels compute the same integers
        sw, ext = (next(r for r in rows if r["variant"] == pattern and r["isa"] == isa) for isa in ("xedge", "xdec"))
        ext["same_output_as_xedge"] = sw["outputs"] == ext["outputs"]
    for row in rows:
        del row["outputs"]
    return {"network": name, "title": TITLES[name], "about": " ".join(make.__doc__.split()),
            "input_shape": [1, *shape], "data": source, "calibration_inputs": CALIBRATION, "pruning": pruning,
            "rows": rows}


def summarize(result: dict) -> dict:
    """Per network: the dense baseline, the speedups, memory and the output check, as the README row shows them."""
    rows = result["rows"]
    dense = rows[0]
    by = {(row["variant"], row["isa"]): row for row in rows}
    sparse_at_16 = {layer["name"] for layer in by["1:16", "xdec"]["layers"] if layer["kernel"].startswith("sparse")}
    return {"macs": dense["macs"], "dense_cycles": dense["cycles"], "dense_mac_per_cycle": dense["mac_per_cycle"],
            "speedup": {p: {isa: by[p, isa]["speedup"] for isa in ("xedge", "xdec")} for p in PATTERNS},
            "flash_bytes": {f"{row['variant']} {row['isa']}": row["flash_bytes"] for row in rows},
            "activation_bytes": {f"{row['variant']} {row['isa']}": row["activation_bytes"] for row in rows},
            "fits_mcu": {f"{row['variant']} {row['isa']}": row.get("fits_mcu") for row in rows},
            "mcu_needs": {f"{row['variant']} {row['isa']}": re.search(r"needs ([\d,]+) bytes", row["mcu_error"])[1]
                          for row in rows if row.get("mcu_error") and "needs" in row["mcu_error"]},
            "dense_cycles_by_kind": dense["cycles_by_kind"],
            # the share of the dense model's cycles spent in layers that pruning leaves dense (the first conv when its
            # reduction is no multiple of 16, depthwise, glue, matmuls of two activations): Amdahl's bound
            "dense_share_left_dense_at_1:16": sum(layer["cycles"] for layer in dense["layers"] if layer["name"] not in
                                                 sparse_at_16) / dense["cycles"],
            "all_within_one_step": all(row["output_within_one_step"] for row in rows),
            "max_step_difference": max(row["max_step_difference"] for row in rows),
            "runs_checked": sum(row["inputs_checked"] for row in rows),
            "xdec_same_output_as_xedge": all(row.get("same_output_as_xedge", True) for row in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="*", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--inputs", type=int, default=3, help="inputs run on the RTL per row (cycles: the first's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-mcu", action="store_true", help="skip the compile for the mcu memory map")
    parser.add_argument("--no-write", action="store_true", help="print only (no results/models.json)")
    args = parser.parse_args()
    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="models-bench-") as tmp:
        for name in args.networks:
            t0 = time.perf_counter()
            results.append(network(name, Path(tmp), args.seed, args.inputs, not args.no_mcu))
            results[-1]["seconds"] = round(time.perf_counter() - t0, 1)
            results[-1]["summary"] = summarize(results[-1])
            print(f"{name}: {results[-1]['seconds']} s", flush=True)
    seconds = round(time.perf_counter() - start, 1)
    print(f"{len(results)} networks in {seconds} s")
    if not args.no_write:
        write_result("models", {
            "sim": "rtl",
            "weights": f"seeded random (PyTorch's default initialization, torch.manual_seed({args.seed})): nothing "
                       "can be downloaded here, so there are no trained weights",
            "networks": results, "all_within_one_step": all(r["summary"]["all_within_one_step"] for r in results),
            "seconds": seconds})


if __name__ == "__main__":
    main()
