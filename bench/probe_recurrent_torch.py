#!/usr/bin/env python3
"""PyTorch CPU peer of bench/probeRecurrent.ts: forward + backward of full-size recurrent nets.

The topologies of the recurrent fixtures (scripts/recurrent_fixtures.py) at working sizes: a
2-layer LSTM tagger (vocabulary 10,000, embedding 128, hidden 256, 16 tags, int64 token ids) and a
2-layer bidirectional GRU (64 features, hidden 128), both over 32 steps. Each is exported to ONNX
(constant folding off: the initializers are the PyTorch parameters) with a seeded batch, then
`loss.backward()` of the mean-square loss is timed on `--threads` threads. Prints one JSON line per
model. Run with Debian's Python: /usr/bin/python3 bench/probe_recurrent_torch.py --out DIR
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
import recurrent_fixtures as rf  # noqa: E402
from torch_step import keep_freed_memory, mse_step, time_steps  # noqa: E402

STEPS = 32
VOCAB = 10000


def models(batch):
    """name → (module, input batch)."""
    rng = np.random.default_rng(7)
    torch.manual_seed(rf.SEED)
    tagger = rf.LstmTagger(vocab=VOCAB, emb=128, hidden=256, tags=16).eval()
    gru = rf.GruBidir(inputs=64, hidden=128, outputs=16).eval()
    return {
        "lstm_tagger": (tagger, rng.integers(0, VOCAB, (batch, STEPS)).astype(np.int64)),
        "gru_bidir": (gru, rng.standard_normal((batch, STEPS, 64)).astype(np.float32)),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="folder for the ONNX exports and the input batches")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    keep_freed_memory()  # steady steps from one session to the next (torch_step.py)
    os.makedirs(a.out, exist_ok=True)
    for name, (model, x) in models(a.batch).items():
        onnx_path = os.path.join(a.out, f"{name}.onnx")
        xt = torch.from_numpy(x)
        torch.onnx.export(
            model,
            xt,
            onnx_path,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
            do_constant_folding=False,
        )
        npy_path = os.path.join(a.out, f"{name}.input.npy")
        np.save(npy_path, x)

        loss, times = time_steps(mse_step(model, xt), a.runs)
        print(
            json.dumps(
                {
                    "model": onnx_path,
                    "input": npy_path,
                    "params": sum(p.numel() for p in model.parameters()),
                    "batch": a.batch,
                    "steps": STEPS,
                    "threads": torch.get_num_threads(),
                    "torch": torch.__version__,
                    "loss": loss,
                    "msPerBatch": statistics.median(times),
                    "msPerBatchAll": times,
                    "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
