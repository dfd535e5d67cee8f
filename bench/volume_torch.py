#!/usr/bin/env python3
"""PyTorch CPU peer of bench/volume.ts: forward + backward of 3-D convolution layers and of a 3-D
U-Net, on `--threads` threads.

The U-Net is scripts/volume_models.py's UNet3D at a working width (base 16: 16-32-64-128 channels,
one input channel), BatchNorm folded into the convs, on a `--size`³ volume; it is exported to ONNX
(constant folding off: the initializers are the PyTorch parameters) with a seeded input batch, so
that Skipscope times the very same model. The layers are the U-Net's typical 3-D convolutions at
their shapes (see LAYERS). Prints one JSON object. Run with Debian's Python:
    /usr/bin/python3 bench/volume_torch.py --out DIR [--threads 1] [--runs 7] [--size 32] [--batch 1]
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import fixture_models as fm  # noqa: E402
import volume_models as vm  # noqa: E402
from torch_step import keep_freed_memory  # noqa: E402

# name → (kind, input [N, C, D, H, W], weight (ONNX layout), stride, padding); the same table is in bench/volume.ts
LAYERS = {
    "conv3x3x3_16to16_32cube": ("conv", [1, 16, 32, 32, 32], [16, 16, 3, 3, 3], 1, 1),
    "conv3x3x3_32to32_16cube": ("conv", [1, 32, 16, 16, 16], [32, 32, 3, 3, 3], 1, 1),
    "conv3x3x3_s2_16to32_32cube": ("conv", [1, 16, 32, 32, 32], [32, 16, 3, 3, 3], 2, 1),
    "convT2x2x2_s2_64to32_8cube": ("convT", [1, 64, 8, 8, 8], [64, 32, 2, 2, 2], 2, 0),
}


def median_ms(step, runs):
    for _ in range(2):
        step()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def layer_times(runs):
    out = {}
    for name, (kind, xs, ws, stride, pad) in LAYERS.items():
        g = torch.Generator().manual_seed(3)
        x = torch.randn(xs, generator=g, requires_grad=True)
        w = (0.1 * torch.randn(ws, generator=g)).requires_grad_()
        op = F.conv3d if kind == "conv" else F.conv_transpose3d

        def step():
            x.grad = None
            w.grad = None
            y = op(x, w, stride=stride, padding=pad)
            (y * y).mean().backward()

        out[name] = median_ms(step, runs)[0]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="folder for the ONNX export and the input batch")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    keep_freed_memory()  # steady steps from one session to the next (torch_step.py)
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(fm.SEED)
    model = vm.UNet3D(base=16)
    fm._perturb(model, torch.Generator().manual_seed(fm.SEED + 1))
    model.eval()
    shape = (a.batch, 1, a.size, a.size, a.size)
    fm.fold_batchnorm(model, shape)
    onnx_path = os.path.join(a.out, f"unet3d_b16_{a.size}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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
    npy_path = os.path.join(a.out, f"unet3d_b16_{a.size}.input.npy")
    np.save(npy_path, x)
    xt = torch.from_numpy(x)
    loss = [0.0]

    def step():
        model.zero_grad(set_to_none=True)
        y = model(xt)
        l = (y * y).mean()
        l.backward()
        loss[0] = float(l)

    ms, times = median_ms(step, a.runs)
    print(
        json.dumps(
            {
                "model": onnx_path,
                "input": npy_path,
                "params": sum(p.numel() for p in model.parameters()),
                "convFlops": vm.conv_flops(model, (1,) + shape[1:]) * a.batch,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "loss": loss[0],
                "msPerBatch": ms,
                "msPerBatchAll": times,
                "layersMs": layer_times(a.runs),
                "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
