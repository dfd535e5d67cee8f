#!/usr/bin/env python3
"""Reference gradients for the probe tests, computed by PyTorch autograd in float64.

For every probe-ready fixture (BatchNorm folded, constant folding off, so each ONNX initializer is
a PyTorch parameter of the same name) the model is rebuilt with scripts/fixture_models.build, fed
a seeded float32 batch (saved next to the JSON as .npy so that Skipscope reads the very same
numbers) and differentiated in float64 under the mean-square loss (mean over the outputs of
mean(y^2)). Per parameter the JSON keeps shape, weight L2, gradient L2, max |g|, mean |g| and a
fixed sample of elements (the full gradient for small tensors), so it stays small.

It also exports a few tiny graphs (test/fixtures/grads/tiny_*.onnx) that exercise the op variants
the big fixtures lack (dilated/grouped/depthwise/strided convs, ConvTranspose, ceil-mode pools,
InstanceNorm, LayerNorm, GELU, Softmax, LpPool, dilated MaxPool, bicubic Resize…), with their
references, and one with an op the executor does not support. A few graphs with attribute values
no PyTorch export produces (MaxPool Indices, cubic Resize modes, LpPool variants) are built with
onnx.helper and checked only against onnxruntime.

Run with Debian's Python (torch and onnx): /usr/bin/python3 scripts/make_grad_refs.py [NAME…]
(names, e.g. tiny_pool_more, regenerate only those fixtures).
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import fixture_models  # noqa: E402
import recurrent_fixtures  # noqa: E402
import volume_models  # noqa: E402  (the 3-D fixtures: registered in fixture_models, tiny graphs in TINY)

OUT = os.path.join(ROOT, "test", "fixtures", "grads")
BATCH = 2
INPUT_SEED = 4242
SAMPLE = 16  # elements sampled per parameter (evenly spaced flat indices)
FULL_BELOW = 64  # tensors smaller than this are stored whole

# (fixture file, fixture_models name) of the probe-ready exports.
PROBE_FIXTURES = [
    ("test/fixtures/onnx/probe/resnet18.onnx", "resnet18"),
    ("test/fixtures/onnx/probe/unet.onnx", "unet"),
    ("test/fixtures/onnx/probe/densenet.onnx", "densenet_small"),
    ("test/fixtures/onnx/probe/mobilenetv2.onnx", "mobilenetv2"),
    ("test/fixtures/onnx/probe/se_resnet.onnx", "se_resnet"),
    ("test/fixtures/onnx/probe/transformer.onnx", "transformer"),
    ("test/fixtures/onnx/probe/unet3d.onnx", "unet3d"),
    ("test/fixtures/onnx/probe/r3d18.onnx", "r3d18"),
]

# Probe fixtures whose gradients lie far outside float32's sum-of-squares range (vanishing to
# ~1e-34, exploding to ~1e30). Their references (in grads/range/) also hold the gradient at every
# learned node's output and, for the ResNet, the skip/branch split at every merge.
RANGE_OUT = os.path.join(OUT, "range")
RANGE_FIXTURES = [
    ("test/fixtures/onnx/probe/mlp_sigmoid40.onnx", "mlp_sigmoid40"),
    ("test/fixtures/onnx/probe/mlp_relu40.onnx", "mlp_relu40"),
    ("test/fixtures/onnx/probe/resnet_nonorm.onnx", "resnet_nonorm"),
]


class TinyConv(nn.Module):
    """Strided, dilated, grouped and depthwise convs, then a transposed conv; smooth activations."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2)
        self.c3 = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=4)
        self.c4 = nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2)
        self.up = nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1)
        self.c5 = nn.Conv1d(3, 2, 3, padding=1)

    def forward(self, x):
        y = torch.tanh(self.c1(x))
        y = y + torch.sigmoid(self.c2(y))
        y = F.elu(self.c3(y))
        y = torch.tanh(self.c4(y))
        y = self.up(y)
        return self.c5(y.flatten(2))


class TinyPool(nn.Module):
    """Ceil-mode max pool, padded average pool, InstanceNorm, bilinear upsample, Linear head."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.norm = nn.InstanceNorm2d(4, affine=True)
        self.c2 = nn.Conv2d(4, 4, 1)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        y = torch.tanh(self.c1(x))
        y = F.max_pool2d(y, 3, 2, 1, ceil_mode=True)
        z = F.avg_pool2d(y, 3, 2, 1, count_include_pad=False)
        gate = torch.sigmoid(z.mean((2, 3), keepdim=True))
        y = self.norm(z)
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = torch.cat([F.leaky_relu(y, 0.1), F.hardswish(self.c2(y))], 1) * gate.repeat(1, 2, 1, 1)
        y = F.adaptive_avg_pool2d(y[:, 2:6], 6)
        return self.fc(y.flatten(1))


class TinySeq(nn.Module):
    """LayerNorm, GELU, scaled dot-product attention by MatMul/Softmax, LogSoftmax."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(6, 8)
        self.norm = nn.LayerNorm(8)
        self.q = nn.Linear(8, 8)
        self.k = nn.Linear(8, 8)
        self.out = nn.Linear(8, 4)

    def forward(self, x):
        h = F.gelu(self.norm(self.inp(x)))
        att = torch.softmax(self.q(h) @ self.k(h).transpose(1, 2) / np.sqrt(8.0), dim=-1)
        return F.log_softmax(self.out(att @ h + h), dim=-1)


class TinyOps(nn.Module):
    """PReLU, Clip (ReLU6), Split, Where, reflect Pad, Pow/Sqrt/Exp/Log, Softplus, permute, reductions."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, padding=1)
        self.act = nn.PReLU(6, init=0.2)
        self.c2 = nn.Conv2d(3, 3, 1)
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        y = self.act(self.c1(F.pad(x, (1, 1, 1, 1), mode="reflect")))
        a, b = torch.chunk(y, 2, dim=1)
        z = torch.where(a > 0, F.relu6(a * 3), torch.exp(b) - 1)
        z = self.c2(z) + torch.sqrt(b * b + 1.0) ** 1.5 - torch.log(torch.sigmoid(b[:, :1]) + 0.5)
        z = F.softplus(z).permute(0, 2, 3, 1)
        return self.fc(z.amax(dim=1).sum(dim=1))


class TinyBnTrain(nn.Module):
    """BatchNorm in training mode (batch statistics), exported with training_mode=1."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        return self.fc(torch.tanh(self.bn(self.c1(x))).flatten(1))


def _cubic_matrix(n_in, n_out, ctm, a, exclude_outside):
    """[n_out, n_in] cubic interpolation weights, written from the ONNX Resize reference formula."""
    scale = n_out / n_in
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        if ctm == "align_corners":
            x = 0.0 if n_out == 1 else o * (n_in - 1) / (n_out - 1)
        else:  # half_pixel
            x = (o + 0.5) / scale - 0.5
        x0 = int(np.floor(x))
        r = x - x0
        coeffs = np.array(
            [
                ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                ((a + 2) * r - (a + 3)) * r * r + 1,
                ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1,
                ((a * (2 - r) - 5 * a) * (2 - r) + 8 * a) * (2 - r) - 4 * a,
            ]
        )
        idx = [x0 - 1 + j for j in range(4)]
        if exclude_outside:
            coeffs = np.array([c if 0 <= i < n_in else 0.0 for c, i in zip(coeffs, idx)])
            coeffs /= coeffs.sum()
        for c, i in zip(coeffs, idx):
            m[o, min(max(i, 0), n_in - 1)] += c
    return m


class _LpPoolOnnx(torch.autograd.Function):
    """Exports as ONNX LpPool; the module computes the same thing with torch ops for autograd."""

    @staticmethod
    def forward(ctx, x, p, k, s, pads):
        return _lp_pool(x, p, k, s, pads)

    @staticmethod
    def symbolic(g, x, p, k, s, pads):
        return g.op("LpPool", x, p_i=p, kernel_shape_i=[k, k], strides_i=[s, s], pads_i=[pads] * 4)


class _GlobalLpPoolOnnx(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p):
        return _global_lp_pool(x, p)

    @staticmethod
    def symbolic(g, x, p):
        return g.op("GlobalLpPool", x, p_i=p)


class _CubicOnnx(torch.autograd.Function):
    """Resize cubic, half_pixel, exclude_outside=1, cubic_coeff_a=-0.5 (no PyTorch export makes it)."""

    @staticmethod
    def forward(ctx, x):
        return _cubic_ref(x)

    @staticmethod
    def symbolic(g, x):
        roi = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
        scales = g.op("Constant", value_t=torch.tensor([1.0, 1.0, 2.0, 2.0]))
        return g.op(
            "Resize",
            x,
            roi,
            scales,
            mode_s="cubic",
            coordinate_transformation_mode_s="half_pixel",
            cubic_coeff_a_f=-0.5,
            exclude_outside_i=1,
        )


def _lp_pool(x, p, k, s, pads):
    """ONNX LpPool: (sum over the zero-padded window of |x|^p)^(1/p). For p=2 this is
    F.lp_pool2d; for p=1 PyTorch's lp_pool2d sums x itself, not |x|, so |x| is pooled explicitly."""
    xp = F.pad(x, (pads,) * 4)
    if p == 2:
        return F.lp_pool2d(xp, 2, k, s)
    return (F.avg_pool2d(xp.abs() ** p, k, s) * (k * k)) ** (1.0 / p)


def _global_lp_pool(x, p):
    return (x.abs() ** p).sum((2, 3), keepdim=True) ** (1.0 / p)


def _cubic_ref(x):
    h, w = x.shape[2], x.shape[3]
    mh = torch.from_numpy(_cubic_matrix(h, 2 * h, "half_pixel", -0.5, True)).to(x.dtype)
    mw = torch.from_numpy(_cubic_matrix(w, 2 * w, "half_pixel", -0.5, True)).to(x.dtype)
    return torch.einsum("oh,nchw,pw->ncop", mh, x, mw)


class TinyPoolMore(nn.Module):
    """LpPool (p=2 padded/strided, p=1), GlobalLpPool (p=1, 2), dilated MaxPool, MaxPool's
    Indices output, and cubic Resize (PyTorch bicubic with and without align_corners, plus
    half_pixel with exclude_outside and cubic_coeff_a=-0.5)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        exporting = torch.onnx.is_in_onnx_export()
        y = torch.tanh(self.c1(x))  # (N, 4, 12, 12)
        a = _LpPoolOnnx.apply(y, 2, 3, 2, 1) if exporting else _lp_pool(y, 2, 3, 2, 1)  # 6x6
        m = F.max_pool2d(y, 3, stride=2, padding=1, dilation=2, ceil_mode=True)  # 6x6
        mv, mi = F.max_pool2d(y, 2, 2, return_indices=True)  # 6x6
        z = torch.tanh(self.c2(a + m + mv))
        up1 = F.interpolate(z, scale_factor=2, mode="bicubic", align_corners=False)  # 12x12
        up2 = F.interpolate(z, size=(9, 7), mode="bicubic", align_corners=True)
        up3 = _CubicOnnx.apply(z) if exporting else _cubic_ref(z)  # 12x12
        b = _LpPoolOnnx.apply(y, 1, 3, 1, 1) if exporting else _lp_pool(y, 1, 3, 1, 1)  # 12x12
        s = up1 + up3 + 0.1 * b
        g2 = _GlobalLpPoolOnnx.apply(s, 2) if exporting else _global_lp_pool(s, 2)
        g1 = _GlobalLpPoolOnnx.apply(up2, 1) if exporting else _global_lp_pool(up2, 1)
        out = s * torch.sigmoid(0.1 * g2 - 0.02 * g1)
        # Indices scaled so that they reach the forward comparison but not the gradient checks.
        return out, up2, mi.float() * 1e-6


class TinyUnsupported(nn.Module):
    """A TopK, which the gradient executor does not run (it must be named before anything runs)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return torch.topk(self.fc(x), 2, dim=-1).values


TINY = {
    "tiny_conv": (TinyConv, (BATCH, 3, 16, 16)),
    "tiny_pool": (TinyPool, (BATCH, 3, 23, 23)),
    "tiny_seq": (TinySeq, (BATCH, 5, 6)),
    "tiny_ops": (TinyOps, (BATCH, 3, 10, 10)),
    "tiny_bn_train": (TinyBnTrain, (BATCH, 3, 8, 8)),
    "tiny_pool_more": (TinyPoolMore, (BATCH, 3, 12, 12)),
    "tiny_unsupported": (TinyUnsupported, (BATCH, 6)),
    **volume_models.TINY,
}


def seeded_input(shape, seed=INPUT_SEED):
    """A float32 normal batch; the float64 run uses exactly these values."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def mean_square(outputs):
    outs = outputs if isinstance(outputs, (tuple, list)) else [outputs]
    return sum((o * o).mean() for o in outs) / len(outs)


def sample_indices(n):
    if n <= FULL_BELOW:
        return list(range(n))
    return sorted({int(i) for i in np.linspace(0, n - 1, SAMPLE)})


def grad_record(model, x):
    """Runs the float64 forward/backward and returns the per-parameter record and the loss."""
    model = model.double()
    model.zero_grad()
    xin = torch.from_numpy(x)
    loss = mean_square(model(xin.double() if xin.is_floating_point() else xin))
    loss.backward()
    params = []
    for name, p in model.named_parameters():
        # A parameter only a cut skip used gets no gradient at all: that is a gradient of zeros.
        g = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().reshape(-1)
        w = p.detach().reshape(-1)
        idx = sample_indices(g.numel())
        params.append(
            {
                "name": name,
                "shape": list(p.shape),
                "weightL2": float(w.norm()),
                "l2": float(g.norm()),
                "maxAbs": float(g.abs().max()),
                "meanAbs": float(g.abs().mean()),
                "sample": {"index": idx, "value": [float(g[i]) for i in idx]},
            }
        )
    return params, float(loss)


def check_names(onnx_file, params):
    """Every parameter must be an ONNX initializer of the same name (the probe-fixture promise)."""
    import onnx

    m = onnx.load(onnx_file, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    missing = [p["name"] for p in params if p["name"] not in inits]
    if missing:
        raise SystemExit(f"{onnx_file}: parameters not stored as initializers: {missing[:5]}")


def write(name, model_file, x, params, loss):
    np.save(os.path.join(OUT, f"{name}.input.npy"), x)
    rec = {
        "$comment": "Written by scripts/make_grad_refs.py (PyTorch float64 autograd); do not edit.",
        "model": model_file,
        "input": f"test/fixtures/grads/{name}.input.npy",
        "inputShape": list(x.shape),
        "loss": {"kind": "mean-square", "value": loss},
        "torch": torch.__version__,
        "params": params,
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")


def range_record(onnx_file, module, x):
    """The float64 reference of a range fixture: per parameter L2, RMS, max |g|, mean |g| and exact
    zeros; per learned node (Gemm/Conv, found in the ONNX graph by its weight initializer) the L2
    and exact zeros of the gradient at its output; per PlainBlock the gradient that reaches its
    input (the fork) through the identity skip and through the convs, as RMS per element."""
    import onnx

    graph = onnx.load(os.path.join(ROOT, onnx_file), load_external_data=False).graph
    learned = {}  # module name -> (node name, output tensor)
    for node in graph.node:
        if node.op_type in ("Gemm", "Conv") and node.input[1].endswith(".weight"):
            learned[node.input[1][: -len(".weight")]] = (node.name, node.output[0])
    module = module.double()
    module.zero_grad()
    outs = {}
    forks = []

    def keep_output(name):
        def hook(mod, inputs, out):
            out.retain_grad()
            outs[name] = out

        return hook

    def keep_fork(mod, inputs, out):
        inputs[0].retain_grad()
        out.retain_grad()
        forks.append((inputs[0], out))

    hooks = []
    for name, m in module.named_modules():
        if name in learned:
            hooks.append(m.register_forward_hook(keep_output(name)))
        if isinstance(m, fixture_models.PlainBlock):
            hooks.append(m.register_forward_hook(keep_fork))
    loss = mean_square(module(torch.from_numpy(x).double()))
    loss.backward()
    for h in hooks:
        h.remove()
    missing = sorted(set(learned) - set(outs))
    if missing:
        raise SystemExit(f"{onnx_file}: learned nodes without a PyTorch module: {missing[:5]}")
    params = []
    for name, p in module.named_parameters():
        g = p.grad.detach().reshape(-1)
        params.append(
            {
                "name": name,
                "shape": list(p.shape),
                "weightL2": float(p.detach().norm()),
                "l2": float(g.norm()),
                "rms": float(g.norm() / np.sqrt(g.numel())),
                "maxAbs": float(g.abs().max()),
                "meanAbs": float(g.abs().mean()),
                "zeros": int((g == 0).sum()),
            }
        )
    activations = []
    for name, (node, tensor) in learned.items():
        g = outs[name].grad.detach()
        activations.append(
            {"node": node, "tensor": tensor, "l2": float(g.norm()), "zeros": int((g == 0).sum()), "size": g.numel()}
        )
    merges = []
    adds = {n.name for n in graph.node if n.op_type == "Add"}
    for k, (fork, out) in enumerate(forks):
        # The skip edge carries the gradient at the Add's output: the block's output gradient
        # through its final ReLU; the rest of the total at the fork came through the convs.
        skip = out.grad * (out > 0)
        branch = fork.grad - skip
        n = np.sqrt(fork.numel())
        merge = f"/blocks/blocks.{k}/Add"
        if merge not in adds:
            raise SystemExit(f"{onnx_file}: no Add node {merge}")
        merges.append({"merge": merge, "skipRms": float(skip.norm() / n), "branchRms": float(branch.norm() / n)})
    return {"params": params, "activations": activations, "merges": merges}, float(loss)


def write_range(name, model_file, x, rec, loss):
    os.makedirs(RANGE_OUT, exist_ok=True)
    np.save(os.path.join(RANGE_OUT, f"{name}.input.npy"), x)
    out = {
        "$comment": "Written by scripts/make_grad_refs.py (PyTorch float64 autograd); do not edit.",
        "model": model_file,
        "input": f"test/fixtures/grads/range/{name}.input.npy",
        "inputShape": list(x.shape),
        "loss": {"kind": "mean-square", "value": loss},
        "torch": torch.__version__,
        **rec,
    }
    with open(os.path.join(RANGE_OUT, f"{name}.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


def export_tiny(name, module, shape):
    path = os.path.join(OUT, f"{name}.onnx")
    training = name.endswith("_train")
    # Models with several outputs name them output, output1, …
    with torch.no_grad():
        n_out = len(module(torch.zeros(shape))) if name == "tiny_pool_more" else 1
    outs = ["output"] + [f"output{i}" for i in range(1, n_out)]
    torch.onnx.export(
        module,
        torch.zeros(shape),
        path,
        input_names=["input"],
        output_names=outs,
        dynamic_axes={"input": {0: "batch"}, **{o: {0: "batch"} for o in outs}},
        opset_version=17,
        do_constant_folding=False,
        training=torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL,
    )
    return path


def export_maxpool_indices():
    """MaxPool's Indices output straight from onnx.helper (PyTorch's export subtracts a per-plane
    offset, which hides whether indices are flat over the whole tensor): dilated/padded with
    storage_order 0, strided ceil-mode with storage_order 1, both cast to float for comparison."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 7, 9])
    nodes = [
        helper.make_node(
            "MaxPool", ["input"], ["ya", "ia"], name="pool_dilated", kernel_shape=[3, 2],
            strides=[1, 2], pads=[1, 1, 2, 1], dilations=[2, 2], storage_order=0,
        ),
        helper.make_node(
            "MaxPool", ["input"], ["yb", "ib"], name="pool_colmajor", kernel_shape=[2, 3],
            strides=[2, 2], ceil_mode=1, storage_order=1,
        ),
        helper.make_node("Cast", ["ia"], ["ia_f"], name="cast_a", to=TensorProto.FLOAT),
        helper.make_node("Cast", ["ib"], ["ib_f"], name="cast_b", to=TensorProto.FLOAT),
    ]
    outs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 3, f"h_{n}", f"w_{n}"])
        for n in ["ya", "ia_f", "yb", "ib_f"]
    ]
    graph = helper.make_graph(nodes, "tiny_maxpool_indices", [x], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_grad_refs")
    model.ir_version = 8
    onnx_path = os.path.join(OUT, "tiny_maxpool_indices.onnx")
    import onnx

    onnx.checker.check_model(model)
    onnx.save(model, onnx_path)


def export_pool_resize_variants():
    """Attribute variants no PyTorch export produces, for the forward check against onnxruntime:
    cubic Resize with pytorch_half_pixel (incl. an output axis of length 1), asymmetric, a
    downscale with exclude_outside; LpPool with p=3, SAME_UPPER and dilations, a 1-D LpPool and
    dilated 1-D MaxPool, GlobalLpPool p=3 on a 1-D tensor."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 7, 9])
    c = lambda name, v, dt=np.float32: numpy_helper.from_array(np.array(v, dtype=dt), name)  # noqa: E731
    inits = [
        c("roi", []),
        c("scales_up", [1, 1, 1.5, 2.0]),
        c("scales_down", [1, 1, 0.6, 0.5]),
        c("sizes_one", [2, 3, 1, 5], np.int64),
        c("shape_1d", [0, 3, -1], np.int64),
    ]
    resize = lambda name, out, scales=None, sizes=None, **kw: helper.make_node(  # noqa: E731
        "Resize",
        ["input", "roi", scales or "", sizes or ""] if sizes else ["input", "roi", scales],
        [out],
        name=name,
        mode="cubic",
        **kw,
    )
    nodes = [
        resize("cubic_pt_half", "r1", "scales_up", coordinate_transformation_mode="pytorch_half_pixel"),
        resize("cubic_pt_half_one", "r2", sizes="sizes_one", coordinate_transformation_mode="pytorch_half_pixel"),
        resize("cubic_asym", "r3", "scales_up", coordinate_transformation_mode="asymmetric", cubic_coeff_a=-0.5),
        resize("cubic_down_excl", "r4", "scales_down", coordinate_transformation_mode="half_pixel", exclude_outside=1),
        resize("cubic_ac_down", "r5", "scales_down", coordinate_transformation_mode="align_corners"),
        helper.make_node("LpPool", ["input"], ["l1"], name="lp3", kernel_shape=[2, 3], strides=[2, 1], pads=[0, 1, 1, 2], p=3),
        helper.make_node("LpPool", ["input"], ["l2"], name="lp_same", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Reshape", ["input", "shape_1d"], ["x1d"], name="to_1d"),
        helper.make_node("LpPool", ["x1d"], ["l3"], name="lp_1d", kernel_shape=[4], strides=[3], pads=[1, 2], p=1),
        helper.make_node("MaxPool", ["x1d"], ["m1"], name="max_1d_dilated", kernel_shape=[3], strides=[2], dilations=[3], pads=[2, 2]),
        helper.make_node("GlobalLpPool", ["x1d"], ["g1"], name="glp_1d", p=3),
    ]
    names = ["r1", "r2", "r3", "r4", "r5", "l1", "l2", "l3", "m1", "g1"]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names]
    for o in outs:
        o.type.tensor_type.elem_type = TensorProto.FLOAT
    graph = helper.make_graph(nodes, "tiny_pool_resize_variants", [x], outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_grad_refs")
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)
    onnx.save(model, os.path.join(OUT, "tiny_pool_resize_variants.onnx"))


def export_lppool_opset18():
    """LpPool's opset-18 attributes (ceil_mode, dilations), for the forward check against
    onnxruntime. Debian's onnx stops at opset 17, so output shapes are written out and the
    checker is skipped."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 7, 9])
    nodes = [
        helper.make_node("LpPool", ["input"], ["a"], name="lp_ceil", kernel_shape=[2, 3], strides=[2, 2], ceil_mode=1, p=2),
        helper.make_node(
            "LpPool", ["input"], ["b"], name="lp_dilated", kernel_shape=[2, 2], strides=[1, 2], dilations=[2, 3],
            pads=[1, 1, 0, 1], p=1,
        ),
        helper.make_node(
            "LpPool", ["input"], ["c"], name="lp_dilated_ceil", kernel_shape=[3, 2], strides=[2, 2], dilations=[2, 2],
            pads=[1, 0, 1, 0], ceil_mode=1, p=3,
        ),
    ]
    shapes = {"a": [4, 4], "b": [6, 4], "c": [3, 4]}
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 3, *hw]) for n, hw in shapes.items()]
    graph = helper.make_graph(nodes, "tiny_lppool_opset18", [x], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="make_grad_refs")
    model.ir_version = 8
    onnx.save(model, os.path.join(OUT, "tiny_lppool_opset18.onnx"))


def export_avgpool_opset19():
    """AveragePool's opset-19 dilations (with pads, count_include_pad both ways, ceil_mode, 1-D),
    for the forward check against onnxruntime. Debian's onnx stops at opset 17, so the checker and
    shape inference are skipped."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 7, 9])
    from onnx import numpy_helper

    c = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)  # noqa: E731
    nodes = [
        helper.make_node(
            "AveragePool", ["input"], ["a"], name="avg_dilated", kernel_shape=[2, 2], strides=[1, 2],
            dilations=[2, 3], pads=[1, 1, 0, 1],
        ),
        helper.make_node(
            "AveragePool", ["input"], ["b"], name="avg_dilated_incl", kernel_shape=[3, 2], strides=[2, 1],
            dilations=[2, 2], pads=[1, 0, 2, 1], count_include_pad=1,
        ),
        helper.make_node(
            "AveragePool", ["input"], ["c"], name="avg_dilated_ceil", kernel_shape=[3, 2], strides=[2, 2],
            dilations=[2, 2], pads=[1, 0, 1, 0], ceil_mode=1,
        ),
        helper.make_node(
            "AveragePool", ["input"], ["d"], name="avg_dilated_nopad", kernel_shape=[2, 3], dilations=[3, 2],
        ),
        helper.make_node("Reshape", ["input", "shape_1d"], ["x1d"], name="to_1d"),
        helper.make_node(
            "AveragePool", ["x1d"], ["e"], name="avg_1d_dilated", kernel_shape=[3], strides=[2], dilations=[3],
            pads=[2, 2],
        ),
    ]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in "abcde"]
    graph = helper.make_graph(nodes, "tiny_avgpool_opset19", [x], outs, initializer=[c("shape_1d", [0, 3, -1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], producer_name="make_grad_refs")
    model.ir_version = 9
    onnx.save(model, os.path.join(OUT, "tiny_avgpool_opset19.onnx"))


def export_tiny_overflow():
    """Four MatMuls whose weights scale by ~3e-37, then ~3e13 three times: the forward pass stays
    near 1e4 for a unit input, but the gradient at the first MatMul's output is ~1e43, past
    float32 (the probe must name it, not report a wrong finite number). Scaled inputs make the
    loss (×1e30) or the last MatMul's output (×1e36) overflow instead. No reference: the
    non-finite tests check where each overflow begins."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    scales = [1e-37, 1e13, 1e13, 1e13]
    inits = [
        numpy_helper.from_array((rng.uniform(0.5, 1.0, (4, 4)) * s).astype(np.float32), f"w{k + 1}")
        for k, s in enumerate(scales)
    ]
    names = ["input", "h1", "h2", "h3", "output"]
    nodes = [
        helper.make_node("MatMul", [names[k], f"w{k + 1}"], [names[k + 1]], name=f"matmul{k + 1}") for k in range(4)
    ]
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph(nodes, "tiny_overflow", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_grad_refs")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, "tiny_overflow.onnx"))


def _cut_basic_block(block):
    """The block's skip input replaced by zeros of its shape at the Add (nothing else changes)."""

    def forward(x):
        identity = x if block.downsample is None else block.downsample(x)
        out = F.relu(block.bn1(block.conv1(x)))
        out = block.bn2(block.conv2(out))
        return F.relu(out + torch.zeros_like(identity))

    block.forward = forward


def _cut_dense_layer(layer):
    """The layer's input part of the Concat replaced by zeros of its shape."""

    def forward(x):
        new = layer.conv1(F.relu(layer.norm1(x)))
        new = layer.conv2(F.relu(layer.norm2(new)))
        return torch.cat([torch.zeros_like(x), new], 1)

    layer.forward = forward


# Cut-skip references: (name, probe fixture, fixture_models name, the --cut value Skipscope gets,
# the PyTorch surgery on the same skips). Same batches as the intact references.
CUT_FIXTURES = [
    (
        "resnet18_cut_all",
        "test/fixtures/onnx/probe/resnet18.onnx",
        "resnet18",
        "all",
        lambda m: [_cut_basic_block(b) for b in m.modules() if isinstance(b, fixture_models.BasicBlock)],
    ),
    (
        "densenet_cut_two",
        "test/fixtures/onnx/probe/densenet.onnx",
        "densenet_small",
        ["/features/features.0/features.0.1/Concat", "skip3"],
        lambda m: [_cut_dense_layer(m.features[0][1]), _cut_dense_layer(m.features[2][1])],
    ),
]


def write_cuts(only):
    """Gradients of the cut models in float64, in test/fixtures/grads/cut/ (inputs shared with the intact runs)."""
    out = os.path.join(OUT, "cut")
    os.makedirs(out, exist_ok=True)
    rows = []
    for name, model_file, build_name, cut, surgery in CUT_FIXTURES:
        if only and name not in only:
            continue
        torch.manual_seed(0)
        module, shape = fixture_models.build(build_name, folded=True)
        surgery(module)
        base = os.path.splitext(os.path.basename(model_file))[0]
        x = np.load(os.path.join(OUT, f"{base}.input.npy"))
        params, loss = grad_record(module, x)
        rec = {
            "$comment": "Written by scripts/make_grad_refs.py (PyTorch float64 autograd, skips cut); do not edit.",
            "model": model_file,
            "input": f"test/fixtures/grads/{base}.input.npy",
            "cut": cut,
            "loss": {"kind": "mean-square", "value": loss},
            "torch": torch.__version__,
            "params": params,
        }
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump(rec, f, indent=1)
            f.write("\n")
        rows.append((name, len(params), loss))
    return rows


def main():
    os.makedirs(OUT, exist_ok=True)
    # Optional names restrict the run to those fixtures (e.g. one new tiny graph).
    only = set(sys.argv[1:])
    torch.manual_seed(0)
    rows = []
    for model_file, name in PROBE_FIXTURES:
        if only and os.path.splitext(os.path.basename(model_file))[0] not in only:
            continue
        module, shape = fixture_models.build(name, folded=True)
        x = seeded_input((BATCH, *shape[1:]))
        params, loss = grad_record(module, x)
        check_names(os.path.join(ROOT, model_file), params)
        base = os.path.splitext(os.path.basename(model_file))[0]
        write(base, model_file, x, params, loss)
        rows.append((base, len(params), loss))
    for model_file, name in RANGE_FIXTURES:
        if only and name not in only:
            continue
        module, shape = fixture_models.build(name, folded=True)
        x = seeded_input((BATCH, *shape[1:]))
        rec, loss = range_record(model_file, module, x)
        check_names(os.path.join(ROOT, model_file), rec["params"])
        write_range(name, model_file, x, rec, loss)
        rows.append((name, len(rec["params"]), loss))
    for name, (ctor, shape) in TINY.items():
        if only and name not in only:
            continue
        torch.manual_seed(fixture_models.SEED)
        module = ctor().eval()
        if name.endswith("_train"):
            module.train()  # batch statistics; the reference differentiates the same mode
        path = export_tiny(name, module, shape)
        if name == "tiny_unsupported":
            continue
        x = seeded_input(shape)
        params, loss = grad_record(module, x)
        check_names(path, params)
        write(name, os.path.relpath(path, ROOT), x, params, loss)
        rows.append((name, len(params), loss))
    rows += recurrent_fixtures.write_models(only, ROOT, OUT, INPUT_SEED, sys.modules[__name__])
    rows += recurrent_fixtures.write_tfjs(only, ROOT, OUT, INPUT_SEED, sys.modules[__name__])
    if not only or "tiny_maxpool_indices" in only:
        export_maxpool_indices()
    if not only or "tiny_pool_resize_variants" in only:
        export_pool_resize_variants()
    if not only or "tiny_lppool_opset18" in only:
        export_lppool_opset18()
    if not only or "tiny_avgpool_opset19" in only:
        export_avgpool_opset19()
    if not only or "tiny_overflow" in only:
        export_tiny_overflow()
    if not only or "tiny_volume_variants" in only:
        volume_models.export_volume_variants(os.path.join(OUT, "tiny_volume_variants.onnx"))
    rows += write_cuts(only)
    for r in rows:
        print(f"{r[0]:>14}: {r[1]:3d} params, loss {r[2]:.6g}")


if __name__ == "__main__":
    main()
