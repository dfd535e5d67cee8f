#!/usr/bin/env python3
"""PyTorch CPU peer of bench/probe.ts: forward + backward of a ResNet-18 at a given batch/size.

Builds the model from scripts/fixture_models.py (torchvision's ResNet topology), full width
(64-128-256-512) unless --narrow, BatchNorm folded into the convs, exports it to ONNX (constant
folding off: the initializers are exactly the PyTorch parameters) together with a seeded input
batch, then times `loss.backward()` for the mean-square loss on `--threads` threads (0: PyTorch's default),
with glibc's malloc keeping freed memory (torch_step.keep_freed_memory) unless --malloc-as-installed. Prints one
JSON object. Run with Debian's Python: /usr/bin/python3 bench/probe_torch.py --out DIR

With --serve it exports nothing and times nothing at first: it reads thread counts from stdin, one
per line (0: PyTorch's default), and for each times --runs steps on that many threads and prints one
JSON line, until stdin closes. bench/probe.ts keeps one such process beside it and times PyTorch
between its own runs, so that a ratio's two sides come from the same minute of a noisy machine.
"""

import argparse
import json
import os
import resource
import statistics
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import fixture_models as fm  # noqa: E402
from torch_step import keep_freed_memory, mse_step, time_steps  # noqa: E402


def build(narrow):
    widths = [8, 16, 32, 64] if narrow else [64, 128, 256, 512]
    torch.manual_seed(fm.SEED)
    model = fm.ResNet(fm.BasicBlock, [2, 2, 2, 2], widths)
    fm._perturb(model, torch.Generator().manual_seed(fm.SEED + 1))  # non-trivial BN statistics, as in the fixtures
    model.eval()
    fm.fold_batchnorm(model, (1, 3, 64, 64))
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="folder for the ONNX export and the input batch")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="0: PyTorch's default (one per core)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--narrow", action="store_true")
    ap.add_argument(
        "--malloc-as-installed",
        action="store_true",
        help="leave glibc's malloc returning freed memory to the kernel (steps then vary by session)",
    )
    ap.add_argument("--serve", action="store_true", help="time steps on the thread counts read from stdin")
    a = ap.parse_args()
    kept = False if a.malloc_as_installed else keep_freed_memory()
    if a.serve:
        serve(a, kept)
        return
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    model = build(a.narrow)
    name = "resnet18_narrow" if a.narrow else "resnet18_full"
    onnx_path = os.path.join(a.out, f"{name}.onnx")
    shape = (a.batch, 3, a.size, a.size)
    torch.onnx.export(
        model,
        torch.zeros(shape),
        onnx_path,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        opset_version=17,
        do_constant_folding=False,
    )
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    npy_path = os.path.join(a.out, f"{name}.input.npy")
    np.save(npy_path, x)
    xt = torch.from_numpy(x)

    loss, times = time_steps(mse_step(model, xt), a.runs)
    print(
        json.dumps(
            {
                "model": onnx_path,
                "input": npy_path,
                "params": sum(p.numel() for p in model.parameters()),
                "batch": a.batch,
                "size": a.size,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "freedMemoryKept": kept,
                "loss": loss,
                "msPerBatch": statistics.median(times),
                "msPerBatchAll": times,
                "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def serve(a, kept):
    default = torch.get_num_threads()
    model = build(a.narrow)
    shape = (a.batch, 3, a.size, a.size)
    # The same seeded batch as the export's.
    xt = torch.from_numpy(np.random.default_rng(7).standard_normal(shape).astype(np.float32))
    step = mse_step(model, xt)
    for line in sys.stdin:
        threads = int(line)
        torch.set_num_threads(threads if threads > 0 else default)
        loss, times = time_steps(step, a.runs)
        print(
            json.dumps(
                {
                    "threads": torch.get_num_threads(),
                    "freedMemoryKept": kept,
                    "loss": loss,
                    "msPerBatch": statistics.median(times),
                    "msPerBatchAll": times,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
