#!/usr/bin/env python3
"""The full-width model zoo of bench/zoo.ts, exported on demand, and its PyTorch CPU timer.

Every model is built from torchvision's own code (or, for the GPT-style decoder and the LSTM
tagger, from the fixture generators' definitions) at full width, with random weights (seeded; no
pretrained weights are downloaded): BatchNorm statistics get seeded noise and every parameter a
little (scripts/fixture_models.py's _perturb), BatchNorm is folded into the convs before export
(fold_batchnorm: the folded convs keep the parameter names), and the model is exported with the
classic exporter at opset 17, constant folding off, so that every ONNX initializer is the PyTorch
parameter of the same name. Inputs are seeded, at batch 2; images are 64x64 (Inception-v3 needs
at least 75x75, its valid-padded stride-2 stages leave nothing of a smaller image).

    /usr/bin/python3 bench/make_zoo.py export [NAME...]   # writes bench/models/zoo/NAME.{onnx,input.npy,json}
    /usr/bin/python3 bench/make_zoo.py list               # the names, one JSON line each
    /usr/bin/python3 bench/make_zoo.py serve              # the timer (below)

`serve` reads one JSON request a line on stdin, {"name": ..., "threads": T, "runs": R} (T = 0:
PyTorch's default thread count, one per core — upstream's default; Debian's build starts at one), times R steps of forward + backward of
the mean-square loss (mean over the outputs of mean(y^2), Skipscope's default loss) on the very
module that was exported and the exported input, after two warm-up steps, and answers one JSON line
with the median. One process serves a whole bench run, so that PyTorch's and Skipscope's timings of
a model can interleave without paying for `import torch` each time.
"""

import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import fixture_models as fm  # noqa: E402
from torch_step import keep_freed_memory, mse_step, time_steps  # noqa: E402

OUT = os.path.join(ROOT, "bench", "models", "zoo")
BATCH = 2
SIZE = 64
SEED = 2026


def _tv(ctor, **kw):
    def build():
        return ctor(**kw)

    return build


def _vit():
    from torchvision.models.vision_transformer import VisionTransformer

    # DeiT-Ti's width and depth (192 wide, 12 blocks, 3 heads, MLP 768) on 8x8 patches of a
    # 64x64 image: 64 tokens and the class token, as many as ViT-B/16 sees at 128x128.
    return VisionTransformer(image_size=SIZE, patch_size=8, num_layers=12, num_heads=3, hidden_dim=192, mlp_dim=768)


def _gpt():
    import make_xformer_fixtures as xf

    # A GPT-2-style decoder at a small working size: vocabulary 8192, 256 wide, 4 blocks of 4
    # heads, 128 positions (token + position embeddings, causal attention, tanh-GELU MLP, tied head).
    return xf.Gpt(vocab=8192, d=256, heads=4, layers=4, max_pos=128)


def _lstm():
    import recurrent_fixtures as rf

    # bench/probe_recurrent_torch.py's tagger: vocabulary 10,000, embedding 128, 2 x LSTM 256, 16 tags.
    return rf.LstmTagger(vocab=10000, emb=128, hidden=256, tags=16)


def _unet3d():
    import volume_models as vm

    # bench/volume_torch.py's working width: 16-32-64-128 channels, one input channel.
    return vm.UNet3D(base=16)


def _r3d():
    from torchvision.models.video import r3d_18

    return r3d_18()


def _models():
    import torchvision.models as tvm

    img = ("float", (BATCH, 3, SIZE, SIZE))
    # name → (builder, (input kind, shape) or ("int64", shape, vocabulary), what it is)
    return {
        "resnet34": (_tv(tvm.resnet34), img, "torchvision resnet34"),
        "regnet_y_400mf": (_tv(tvm.regnet_y_400mf), img, "torchvision regnet_y_400mf"),
        "mobilenet_v3_large": (_tv(tvm.mobilenet_v3_large), img, "torchvision mobilenet_v3_large"),
        "inception_v3": (
            _tv(tvm.inception_v3, aux_logits=False, init_weights=True),
            ("float", (BATCH, 3, 75, 75)),
            "torchvision inception_v3 (no auxiliary head) at 75x75, its smallest input",
        ),
        "efficientnet_v2_s": (_tv(tvm.efficientnet_v2_s), img, "torchvision efficientnet_v2_s"),
        "vit_ti8": (_vit, img, "torchvision VisionTransformer, DeiT-Ti width (192, 12 blocks, 3 heads), 8x8 patches"),
        "gpt_decoder": (_gpt, ("int64", (BATCH, 128), 8192), "GPT-style decoder, 4 blocks x 256 wide, 128 tokens"),
        "r3d_18": (_r3d, ("float", (BATCH, 3, 8, 32, 32)), "torchvision r3d_18 video ResNet, 8 frames of 32x32"),
        "unet3d": (_unet3d, ("float", (BATCH, 1, 32, 32, 32)), "3-D U-Net 16-32-64-128 on a 32^3 volume"),
        "lstm_tagger": (_lstm, ("int64", (BATCH, 32), 10000), "embedding 128, 2 x LSTM 256, 32 steps"),
    }


def build(name):
    """(module in eval mode with BatchNorm folded, input array) for zoo model `name`; the same every call."""
    ctor, spec, _ = _models()[name]
    torch.manual_seed(SEED)
    model = ctor()
    fm._perturb(model, torch.Generator().manual_seed(SEED + 1))
    model.eval()
    rng = np.random.default_rng(SEED + 2)
    if spec[0] == "int64":
        x = rng.integers(0, spec[2], spec[1]).astype(np.int64)
    else:
        x = rng.standard_normal(spec[1]).astype(np.float32)
        fm.fold_batchnorm(model, (1,) + tuple(spec[1][1:]))
    return model, x


def export(name):
    os.makedirs(OUT, exist_ok=True)
    model, x = build(name)
    onnx_path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(
        model,
        torch.from_numpy(x),
        onnx_path,
        input_names=["input"],
        output_names=["output"],
        opset_version=17,
        do_constant_folding=False,
    )
    np.save(os.path.join(OUT, f"{name}.input.npy"), x)
    meta = {
        "name": name,
        "about": _models()[name][2],
        "model": onnx_path,
        "input": os.path.join(OUT, f"{name}.input.npy"),
        "inputShape": list(x.shape),
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(meta, f)
    print(json.dumps(meta), flush=True)


def serve():
    kept = keep_freed_memory()  # steady steps from one session to the next (torch_step.py)
    # Upstream PyTorch starts with one thread per core; Debian's build starts with one thread
    # (at::get_num_threads() is 1 while OpenMP sees every core), so "default" is one per core here.
    default_threads = max(torch.get_num_threads(), len(os.sched_getaffinity(0)))
    cache = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        name = req["name"]
        try:
            if name not in cache:
                model, x = build(name)
                cache[name] = (model, torch.from_numpy(x))
            model, xt = cache[name]
            torch.set_num_threads(req.get("threads") or default_threads)

            loss, times = time_steps(mse_step(model, xt), req.get("runs", 5))
            reply = {
                "name": name,
                "threads": torch.get_num_threads(),
                "msPerBatch": statistics.median(times),
                "msPerBatchAll": times,
                "loss": loss,
                "torch": torch.__version__,
                "freedMemoryKept": kept,
                "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        except Exception as e:  # noqa: BLE001 — the bench reports it and goes on
            reply = {"name": name, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else "export"
    if cmd == "serve":
        serve()
    elif cmd == "list":
        for name, (_, spec, about) in _models().items():
            print(json.dumps({"name": name, "about": about, "inputShape": list(spec[1])}))
    elif cmd == "export":
        names = sys.argv[2:] or list(_models())
        unknown = [n for n in names if n not in _models()]
        if unknown:
            sys.exit(f"make_zoo.py: unknown model {', '.join(unknown)} (known: {', '.join(_models())})")
        for n in names:
            export(n)
    else:
        sys.exit("usage: make_zoo.py export [NAME...] | list | serve")


if __name__ == "__main__":
    main()
