#!/usr/bin/env python3
"""PyTorch peer of bench/probeGpu.ts: forward + backward (mean-square loss) of a torchvision
model (resnet18, resnet50 or vit_b16, seeded random weights, eval mode) at a given batch and
image size, on CUDA when asked for and present, else the CPU. Exports the model to ONNX (opset
17, constant folding off: the initializers are exactly the PyTorch parameters) with a seeded
input batch, then times `loss.backward()` (CUDA synchronised) and reports the peak device memory.
Prints one JSON object. Run with Debian's Python (or any with torch and torchvision):

  /usr/bin/python3 bench/probe_gpu_torch.py --out DIR --model resnet50 --batch 32 --size 224 --device cuda
"""

import argparse
import json
import os
import resource
import statistics
import time

import numpy as np
import torch
import torchvision

from torch_step import mse_step


def build(name):
    torch.manual_seed(0)
    if name == "resnet18":
        return torchvision.models.resnet18()
    if name == "resnet50":
        return torchvision.models.resnet50()
    if name == "vit_b16":
        return torchvision.models.vit_b_16()
    raise SystemExit(f"unknown model {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = "cuda" if a.device == "cuda" and torch.cuda.is_available() else "cpu"
    model = build(a.model).eval()
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, f"{a.model}_{a.size}.onnx")
    shape = (a.batch, 3, a.size, a.size)
    if not os.path.exists(onnx_path):
        torch.onnx.export(
            model,
            torch.zeros((1, 3, a.size, a.size)),
            onnx_path,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
            do_constant_folding=False,
        )
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    npy_path = os.path.join(a.out, f"{a.model}_{a.size}_b{a.batch}.input.npy")
    np.save(npy_path, x)
    model = model.to(device)
    xt = torch.from_numpy(x).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    step = mse_step(model, xt, sync)

    t0 = time.perf_counter()
    step()
    first = (time.perf_counter() - t0) * 1000
    step()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1000)
    print(
        json.dumps(
            {
                "model": onnx_path,
                "input": npy_path,
                "params": sum(p.numel() for p in model.parameters()),
                "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "loss": loss,
                "firstBatchMs": first,
                "msPerBatch": statistics.median(times),
                "msPerBatchAll": times,
                "peakDeviceMB": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
                "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
