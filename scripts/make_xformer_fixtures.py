#!/usr/bin/env python3
"""Transformer-family probe fixtures and their PyTorch float64 gradient references.

Small-width versions of the architectures a user brings from the PyTorch / Hugging Face world,
written to test/fixtures/grads/ next to the other gradient fixtures (same JSON format as
scripts/make_grad_refs.py, plus an `inputs` map for models with several inputs):

- vit_tiny: torchvision's VisionTransformer (patch conv, class token, position embedding,
  nn.MultiheadAttention, GELU as Erf, LayerNormalization of opset 17), 16x16 images.
- swin_tiny: torchvision's SwinTransformer (shifted windows: roll as Slice/Concat, the window mask
  built by ScatterND, relative position bias gathered from a parameter table, patch merging by
  strided Slice), 16x16 images.
- gpt_tiny: a GPT-style decoder: token and position nn.Embedding (positions from a Range of the
  dynamic sequence length), a causal mask from Trilu turned into Where, causal
  nn.MultiheadAttention, tanh-GELU MLP, a head tied to the token embedding; int64 token ids.
- bert_tiny: a BERT-style encoder written as Hugging Face's is: word, position and token-type
  embeddings, the extended attention mask (1 - mask) * -10000, 4-D batched MatMul attention,
  post-norm residuals, Erf GELU, a tanh pooler; int64 input_ids, token_type_ids, attention_mask.
- mnv2_relu6: torchvision's MobileNetV2 blocks at small width (depthwise 3x3, stride 2, ReLU6 as
  Clip, inverted residuals), made the way issue 12 found a gradient mismatch: weights perturbed by
  +-0.05, BatchNorm statistics calibrated on noise, BatchNorm folded, opset 13. ReLU6's kinks make
  gradients discontinuous: a pre-activation within float32 rounding of 0 or 6 lands on either side
  in any float32 implementation (PyTorch's included). The batch is chosen so that every ReLU6
  input keeps at least KINK_MARGIN times the float32 rounding error away from the kinks; the JSON
  records that margin.
- tiny_xformer_ops (onnx.helper, opset 20): Gelu (both forms), Einsum for the common equations,
  CumSum, Range with a length read from a Shape, ScatterND, Trilu; checked against onnxruntime and
  finite differences by the tests (no PyTorch reference).

Every parameter is a PyTorch parameter of the same name (BatchNorm folded first, constant folding
off) and carries seeded noise. Run with Debian's Python: /usr/bin/python3
scripts/make_xformer_fixtures.py [NAME...].
"""

import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_grad_refs as mgr  # noqa: E402

OUT = mgr.OUT
SEED = 1212
KINK_MARGIN = 50.0


def perturb(module, scale, seed):
    """Adds seeded noise to every parameter, so no two initializers are equal and none is zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


class GptBlock(nn.Module):
    """Pre-norm decoder block: causal self-attention and a tanh-GELU MLP, each with a residual."""

    def __init__(self, d, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)

    def forward(self, h, mask):
        a = self.ln1(h)
        h = h + self.attn(a, a, a, attn_mask=mask, need_weights=False)[0]
        return h + self.proj(F.gelu(self.fc(self.ln2(h)), approximate="tanh"))


class Gpt(nn.Module):
    """GPT-style decoder with token + position embeddings and a head tied to the token table."""

    def __init__(self, vocab=23, d=16, heads=2, layers=2, max_pos=12):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_pos, d)
        self.blocks = nn.ModuleList([GptBlock(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)

    def forward(self, input_ids):
        b, t = input_ids.shape
        pos = torch.arange(t, device=input_ids.device)
        h = self.tok(input_ids) + self.pos(pos)[None].expand(b, t, -1)
        mask = torch.triu(torch.ones(t, t, device=input_ids.device), diagonal=1) > 0
        for blk in self.blocks:
            h = blk(h, mask)
        return self.ln_f(h) @ self.tok.weight.t()


class BertLayer(nn.Module):
    """Hugging Face's BertLayer: self-attention on 4-D heads, post-norm residuals, Erf GELU."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.attn_out = nn.Linear(d, d)
        self.attn_norm = nn.LayerNorm(d, eps=1e-12)
        self.intermediate = nn.Linear(d, 2 * d)
        self.output = nn.Linear(2 * d, d)
        self.out_norm = nn.LayerNorm(d, eps=1e-12)

    def split(self, x):
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).permute(0, 2, 1, 3)

    def forward(self, h, ext_mask):
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        scores = q @ k.transpose(-1, -2) / np.sqrt(q.shape[-1]) + ext_mask
        ctx = torch.softmax(scores, dim=-1) @ v
        b, _, t, _ = ctx.shape
        ctx = ctx.permute(0, 2, 1, 3).reshape(b, t, -1)
        h = self.attn_norm(self.attn_out(ctx) + h)
        return self.out_norm(self.output(F.gelu(self.intermediate(h))) + h)


class Bert(nn.Module):
    """BERT-style encoder with word, position and token-type embeddings and a tanh pooler."""

    def __init__(self, vocab=29, d=16, heads=2, layers=2, max_pos=16, types=2):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.position = nn.Embedding(max_pos, d)
        self.token_type = nn.Embedding(types, d)
        self.emb_norm = nn.LayerNorm(d, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(max_pos)[None])
        self.layers = nn.ModuleList([BertLayer(d, heads) for _ in range(layers)])
        self.pool = nn.Linear(d, d)

    def forward(self, input_ids, token_type_ids, attention_mask):
        t = input_ids.shape[1]
        e = self.word(input_ids) + self.token_type(token_type_ids) + self.position(self.position_ids[:, :t])
        h = self.emb_norm(e)
        ext = (1.0 - attention_mask[:, None, None, :].to(h.dtype)) * -10000.0
        for layer in self.layers:
            h = layer(h, ext)
        return h, torch.tanh(self.pool(h[:, 0]))


def vit_tiny():
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(SEED)
    m = VisionTransformer(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5)
    perturb(m, 0.02, SEED)
    return m.eval()


def swin_tiny():
    from torchvision.models.swin_transformer import SwinTransformer

    torch.manual_seed(SEED)
    m = SwinTransformer(
        patch_size=[2, 2], embed_dim=8, depths=[2, 1], num_heads=[2, 2], window_size=[4, 4],
        stochastic_depth_prob=0.0, num_classes=5,
    )
    perturb(m, 0.02, SEED)
    return m.eval()


def gpt_tiny():
    torch.manual_seed(SEED)
    m = Gpt()
    perturb(m, 0.02, SEED)
    return m.eval()


def bert_tiny():
    torch.manual_seed(SEED)
    m = Bert()
    perturb(m, 0.02, SEED)
    return m.eval()


def fold_bn(module):
    """Folds every Conv2d → BatchNorm2d pair (eval statistics) into the conv, keeping its name."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for child in module.children():
        fold_bn(child)
    kids = list(module.named_children())
    for (n1, a), (n2, b) in zip(kids, kids[1:]):
        if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
            setattr(module, n1, fuse_conv_bn_eval(a, b))
            setattr(module, n2, nn.Identity())


def mnv2_relu6():
    """Issue 12's recipe on torchvision's MobileNetV2 at small width (last conv and head narrowed)."""
    from torchvision.models import MobileNetV2
    from torchvision.ops.misc import Conv2dNormActivation

    torch.manual_seed(SEED)
    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 64, 1, 2]]
    m = MobileNetV2(num_classes=5, width_mult=0.25, inverted_residual_setting=setting, round_nearest=4)
    m.features[-1] = Conv2dNormActivation(16, 32, kernel_size=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU6)
    m.classifier[1] = nn.Linear(32, 5)
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.rand(p.shape, generator=g) * 0.1 - 0.05)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = None  # cumulative average over the calibration batches
            mod.reset_running_stats()
        if isinstance(mod, nn.ReLU6):
            mod.inplace = False  # the kink check hooks its inputs
    m.train()
    with torch.no_grad():
        for _ in range(4):
            m(torch.randn(8, 3, 32, 32, generator=g))
    m.eval()
    fold_bn(m)
    return m


def kink_margin(model, feeds):
    """Over every ReLU6 input: the smallest float64 distance to 0 or 6, in units of the largest
    float32-vs-float64 difference of that tensor (how far float32 rounding is from flipping a unit)."""
    acts = {}

    def hook(name, dt):
        return lambda mod, inp, out: acts.__setitem__((name, dt), inp[0].detach().double())

    worst = float("inf")
    for dt in (torch.float64, torch.float32):
        m = copy.deepcopy(model).to(dt)
        for name, mod in m.named_modules():
            if isinstance(mod, nn.ReLU6):
                mod.register_forward_hook(hook(name, dt))
        with torch.no_grad():
            m(*[torch.from_numpy(x).to(dt) for x in feeds])
    for (name, dt), x64 in acts.items():
        if dt != torch.float64:
            continue
        err = (acts[(name, torch.float32)] - x64).abs().max().item()
        dist = torch.minimum(x64.abs(), (x64 - 6).abs()).min().item()
        worst = min(worst, dist / max(err, 1e-30))
    return worst


def grad_record(model, feeds):
    """make_grad_refs.grad_record for several inputs (integer inputs stay integers)."""
    model = model.double()
    model.zero_grad()
    ts = [torch.from_numpy(x).double() if x.dtype == np.float32 else torch.from_numpy(x) for x in feeds]
    loss = mgr.mean_square(model(*ts))
    loss.backward()
    params = []
    for name, p in model.named_parameters():
        g = p.grad.detach().reshape(-1)
        idx = mgr.sample_indices(g.numel())
        params.append(
            {
                "name": name,
                "shape": list(p.shape),
                "weightL2": float(p.detach().reshape(-1).norm()),
                "l2": float(g.norm()),
                "maxAbs": float(g.abs().max()),
                "meanAbs": float(g.abs().mean()),
                "sample": {"index": idx, "value": [float(g[i]) for i in idx]},
            }
        )
    return params, float(loss)


def export(name, model, feeds, input_names, output_names, dynamic, opset):
    path = os.path.join(OUT, f"{name}.onnx")
    # Gradients stay on: under no_grad nn.MultiheadAttention takes its fused fast path, which has
    # no ONNX export.
    torch.onnx.export(
        model,
        tuple(torch.from_numpy(x) for x in feeds),
        path,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic,
        opset_version=opset,
        do_constant_folding=False,
    )
    return path


def write(name, path, names, feeds, params, loss, extra=None):
    files = {}
    for n, x in zip(names, feeds):
        f = f"test/fixtures/grads/{name}.{n}.npy"
        np.save(os.path.join(ROOT, f), x)
        files[n] = f
    rec = {
        "$comment": "Written by scripts/make_xformer_fixtures.py (PyTorch float64 autograd); do not edit.",
        "model": os.path.relpath(path, ROOT),
        "input": files[names[0]],
        "inputs": files,
        "inputShape": list(feeds[0].shape),
        "loss": {"kind": "mean-square", "value": loss},
        "torch": torch.__version__,
        **(extra or {}),
        "params": params,
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")


def ids(shape, below, seed):
    return np.random.default_rng(seed).integers(0, below, size=shape).astype(np.int64)


def torch_fixture(name):
    batch = mgr.BATCH
    if name in ("vit_tiny", "swin_tiny"):
        model = vit_tiny() if name == "vit_tiny" else swin_tiny()
        feeds = [mgr.seeded_input((batch, 3, 16, 16))]
        names, outs = ["input"], ["output"]
        dynamic = {"input": {0: "batch"}, "output": {0: "batch"}}
        extra = None
    elif name == "gpt_tiny":
        model = gpt_tiny()
        feeds = [ids((batch, 7), 23, mgr.INPUT_SEED)]
        names, outs = ["input_ids"], ["logits"]
        dynamic = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
        extra = None
    elif name == "bert_tiny":
        model = bert_tiny()
        t = 6
        mask = np.ones((batch, t), np.int64)
        mask[1, 4:] = 0  # the second sequence is padded
        types = np.zeros((batch, t), np.int64)
        types[:, 3:] = 1
        feeds = [ids((batch, t), 29, mgr.INPUT_SEED), types, mask]
        names = ["input_ids", "token_type_ids", "attention_mask"]
        outs = ["last_hidden_state", "pooler_output"]
        dynamic = {n: {0: "batch", 1: "seq"} for n in names + ["last_hidden_state"]}
        dynamic["pooler_output"] = {0: "batch"}
        extra = None
    elif name == "mnv2_relu6":
        model = mnv2_relu6()
        # The first batch whose ReLU6 inputs all keep clear of the kinks (see the module doc).
        for seed in range(mgr.INPUT_SEED, mgr.INPUT_SEED + 200):
            feeds = [mgr.seeded_input((batch, 3, 32, 32), seed)]
            margin = kink_margin(model, feeds)
            if margin >= KINK_MARGIN:
                break
        else:
            raise SystemExit("mnv2_relu6: no batch keeps the ReLU6 inputs clear of the kinks")
        names, outs = ["input"], ["output"]
        dynamic = {"input": {0: "batch"}, "output": {0: "batch"}}
        extra = {"kinkMargin": {"minimum": KINK_MARGIN, "measured": margin, "inputSeed": seed}}
    else:
        raise SystemExit(f"unknown fixture {name}")
    opset = 13 if name == "mnv2_relu6" else 17
    path = export(name, model, feeds, names, outs, dynamic, opset)
    params, loss = grad_record(model, feeds)
    mgr.check_names(path, params)
    write(name, path, names, feeds, params, loss, extra)
    return len(params), loss


def tiny_xformer_ops():
    """Opset-20 graph with the transformer ops PyTorch 1.13 does not export: Gelu (none and tanh),
    Einsum (projections, attention scores with a transposed operand, a batch sum, a transpose, an
    outer product, a broadcast product), CumSum (exclusive and reverse), Range with a length read
    from the input's shape, ScatterND (learned rows written, learned cells added), Trilu (upper
    with k, lower with negative k)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(SEED)
    c = lambda n, v, dt=np.float32: numpy_helper.from_array(np.asarray(v, dtype=dt), n)  # noqa: E731
    inits = [
        c("w_q", rng.standard_normal((4, 4)) * 0.5),
        c("w_k", rng.standard_normal((4, 4)) * 0.5),
        c("w_u", rng.standard_normal((5,)) * 0.5),
        c("rows", rng.standard_normal((2, 4)) * 0.5),
        c("cells", rng.standard_normal((2,)) * 0.5),
        c("row_idx", [[0], [3]], np.int64),
        c("cell_idx", [[1, 2], [4, 0]], np.int64),
        c("zero", 0, np.int64),
        c("one", 1, np.int64),
        c("axis1", 1, np.int64),
        c("axes1", [1], np.int64),
        c("k1", 1, np.int64),
        c("kneg", -1, np.int64),
        c("shape_idx", [1], np.int64),
    ]
    n = helper.make_node
    nodes = [
        n("Einsum", ["input", "w_q"], ["q"], name="einsum_proj", equation="bsd,de->bse"),
        n("Einsum", ["input", "w_k"], ["k"], name="einsum_proj_k", equation="bsd,de->bse"),
        n("Einsum", ["q", "k"], ["scores"], name="einsum_scores", equation="bqd,bkd->bqk"),
        n("Gelu", ["scores"], ["g_erf"], name="gelu_erf"),
        n("Trilu", ["g_erf", "kneg"], ["low"], name="trilu_lower", upper=0),
        n("Trilu", ["g_erf", "k1"], ["up"], name="trilu_upper"),
        n("Add", ["low", "up"], ["masked"], name="add_bands"),
        n("Einsum", ["masked", "input"], ["ctx"], name="einsum_ctx", equation="bqk,bkd->bqd"),
        n("Gelu", ["ctx"], ["g_tanh"], name="gelu_tanh", approximate="tanh"),
        n("CumSum", ["g_tanh", "axis1"], ["cs"], name="cumsum_excl", exclusive=1),
        n("CumSum", ["cs", "axis1"], ["cs2"], name="cumsum_rev", reverse=1),
        n("Einsum", ["cs2"], ["sd"], name="einsum_batch_sum", equation="bsd->sd"),
        n("ScatterND", ["sd", "row_idx", "rows"], ["scat1"], name="scatter_rows"),
        n("ScatterND", ["scat1", "cell_idx", "cells"], ["scat"], name="scatter_cells_add", reduction="add"),
        n("Mul", ["cs2", "scat"], ["y1"], name="mul_scattered"),
        n("Einsum", ["y1"], ["tr"], name="einsum_transpose", equation="bsd->bds"),
        n("ReduceSum", ["tr", "axes1"], ["tr_sum"], name="tr_sum", keepdims=0),
        n("Shape", ["input"], ["shp"], name="shape"),
        n("Gather", ["shp", "shape_idx"], ["len1"], name="seq_len"),
        n("Squeeze", ["len1"], ["len"], name="seq_len_scalar"),
        n("Range", ["zero", "len", "one"], ["pos"], name="range_pos"),
        n("Cast", ["pos"], ["posf"], name="pos_float", to=TensorProto.FLOAT),
        n("Einsum", ["posf", "w_u"], ["outer"], name="einsum_outer", equation="s,u->su"),
        n("Einsum", ["tr_sum", "outer"], ["y2"], name="einsum_broadcast", equation="bs,su->bsu"),
    ]
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 5, 4])
    outs = [
        helper.make_tensor_value_info("y1", TensorProto.FLOAT, ["batch", 5, 4]),
        helper.make_tensor_value_info("y2", TensorProto.FLOAT, ["batch", 5, 5]),
    ]
    graph = helper.make_graph(nodes, "tiny_xformer_ops", [x], outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="make_xformer_fixtures")
    model.ir_version = 9
    # Debian's onnx stops at opset 17: no checker or shape inference for opset 20.
    onnx.save(model, os.path.join(OUT, "tiny_xformer_ops.onnx"))


FIXTURES = ["vit_tiny", "swin_tiny", "gpt_tiny", "bert_tiny", "mnv2_relu6"]


def main():
    only = set(sys.argv[1:])
    for name in FIXTURES:
        if only and name not in only:
            continue
        count, loss = torch_fixture(name)
        print(f"{name:>12}: {count:3d} params, loss {loss:.6g}")
    if not only or "tiny_xformer_ops" in only:
        tiny_xformer_ops()
        print("tiny_xformer_ops: written")


if __name__ == "__main__":
    main()
