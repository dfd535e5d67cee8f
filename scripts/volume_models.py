"""PyTorch definitions of the volumetric and video fixtures: a 3-D U-Net, an r3d_18-style video ResNet
(torchvision's own VideoResNet code at narrow widths) and tiny graphs of the 3-D op variants.

Importing this module registers the two architectures in fixture_models.MODELS, so that
`fixture_models.build("unet3d", folded=True)` rebuilds them like every other fixture, and puts the
tiny graphs in TINY for scripts/make_grad_refs.py. Skip counts (`expected_skips`) come from the
blocks each model is built from, as in fixture_models.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.video.resnet import BasicBlock as VideoBasicBlock
from torchvision.models.video.resnet import Conv3DSimple, VideoResNet

import fixture_models as fm


def conv_flops(model, shape):
    """2 × multiply-adds of every Conv3d and ConvTranspose3d of `model` on an input of `shape`
    (batch 1), counted from the tensors PyTorch computes: a conv's output elements × its input
    channels per group × kernel volume; a transposed conv's input elements × its output channels
    per group × kernel volume."""
    total = [0]

    def hook(m, inputs, out):
        k = m.kernel_size[0] * m.kernel_size[1] * m.kernel_size[2]
        if isinstance(m, nn.ConvTranspose3d):
            total[0] += 2 * inputs[0].numel() * (m.out_channels // m.groups) * k
        else:
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * k

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d))]
    with torch.no_grad():
        model(torch.zeros(shape))
    for h in hooks:
        h.remove()
    return total[0]


def conv_bn3d(cin, cout, k=3):
    """Conv3d (no bias) followed by BatchNorm3d."""
    return nn.Sequential(nn.Conv3d(cin, cout, k, 1, k // 2, bias=False), nn.BatchNorm3d(cout))


class DoubleConv3d(nn.Module):
    """(3×3×3 conv, BN, ReLU) × 2, the 3-D U-Net stage."""

    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = conv_bn3d(cin, cout)
        self.c2 = conv_bn3d(cout, cout)

    def forward(self, x):
        return F.relu(self.c2(F.relu(self.c1(x))))


class UNet3D(nn.Module):
    """3-D U-Net (Çiçek et al.'s layout): 3 max-pool downsamplings; the two deeper decoder levels
    upsample by ConvTranspose3d, the outermost by trilinear interpolation and a 1×1×1 conv (as
    many 3-D segmentation nets do); each decoder level concatenates the encoder features."""

    def __init__(self, base=4, levels=3, in_channels=1, num_classes=2):
        super().__init__()
        chans = [base * 2**i for i in range(levels + 1)]
        self.inc = DoubleConv3d(in_channels, chans[0])
        self.down = nn.ModuleList([DoubleConv3d(chans[i], chans[i + 1]) for i in range(levels)])
        self.up = nn.ModuleList(
            [
                nn.ConvTranspose3d(chans[i + 1], chans[i], 2, 2)
                if i > 0
                else nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False),
                    nn.Conv3d(chans[i + 1], chans[i], 1),
                )
                for i in reversed(range(levels))
            ]
        )
        self.dec = nn.ModuleList([DoubleConv3d(2 * chans[i], chans[i]) for i in reversed(range(levels))])
        self.outc = nn.Conv3d(chans[0], num_classes, 1)

    def forward(self, x):
        skips = [self.inc(x)]
        for d in self.down:
            skips.append(d(F.max_pool3d(skips[-1], 2)))
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([skips.pop(), up(x)], 1))
        return self.outc(x)

    def expected_skips(self):
        return fm.skip_counts(long=len(self.up))

    def conv_flops(self, shape):
        return conv_flops(self, shape)


class NarrowR3D(VideoResNet):
    """torchvision's r3d_18 (VideoResNet with BasicBlock and Conv3DSimple, layers [2, 2, 2, 2],
    the (3, 7, 7)/(1, 2, 2) stem, global average pool, fc) at narrow widths. Only the widths
    differ: blocks, _make_layer and forward are torchvision's own code."""

    def __init__(self, widths=(4, 8, 12, 16), num_classes=5):
        nn.Module.__init__(self)
        self.inplanes = widths[0]
        self.stem = nn.Sequential(
            nn.Conv3d(3, widths[0], kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(widths[0]),
            nn.ReLU(inplace=True),
        )
        for i, w in enumerate(widths):
            setattr(self, f"layer{i + 1}", self._make_layer(VideoBasicBlock, Conv3DSimple, w, 2, stride=1 if i == 0 else 2))
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(widths[-1], num_classes)
        # torchvision's initialisation
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def expected_skips(self):
        blocks = [m for m in self.modules() if isinstance(m, VideoBasicBlock)]
        return fm.skip_counts(residual=len(blocks), projection=sum(b.downsample is not None for b in blocks))

    def conv_flops(self, shape):
        return conv_flops(self, shape)


MODELS = {
    # A single-channel 16³ volume (CT/MR-like), widths 3/6/12/24.
    "unet3d": (lambda: UNet3D(base=3), (1, 1, 16, 16, 16)),
    # A clip of 8 RGB frames of 24×24.
    "r3d18": (lambda: NarrowR3D(), (1, 3, 8, 24, 24)),
}
fm.MODELS.update(MODELS)


# ----------------------------------------------------------------------------- tiny op graphs


class TinyConv3d(nn.Module):
    """Conv3d with anisotropic strides, dilation + groups, a (1, 3, 3) grouped and a (3, 1, 1)
    depthwise conv (the R(2+1)D factorisation), a bias-free dilated one, and ConvTranspose3d with
    output_padding and with groups + dilation; smooth activations so finite differences hold."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv3d(3, 4, 3, stride=(1, 2, 2), padding=1)
        self.c2 = nn.Conv3d(4, 4, 3, padding=2, dilation=2, groups=2)
        self.c3 = nn.Conv3d(4, 8, (1, 3, 3), stride=2, padding=(0, 1, 1), groups=4)
        self.c4 = nn.Conv3d(8, 8, (3, 1, 1), padding=(1, 0, 0), groups=8)
        self.c5 = nn.Conv3d(8, 8, 2, padding=(1, 0, 1), dilation=(1, 2, 1), bias=False)
        self.up = nn.ConvTranspose3d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.up2 = nn.ConvTranspose3d(4, 6, (2, 3, 3), stride=(1, 2, 2), padding=(0, 2, 1), dilation=(1, 2, 1), groups=2)
        self.head = nn.Conv3d(6, 2, 1)

    def forward(self, x):
        y = torch.tanh(self.c1(x))
        y = y + torch.sigmoid(self.c2(y))
        y = F.elu(self.c3(y))
        y = torch.tanh(self.c4(y)) + y
        y = torch.tanh(self.c5(y))
        y = torch.tanh(self.up(y))
        return self.head(torch.tanh(self.up2(y)))


class TinyPool3d(nn.Module):
    """MaxPool3d (padded, ceil_mode; dilated), AvgPool3d (count_include_pad off with ceil_mode,
    on with padding), BatchNorm3d in eval mode (unfolded), InstanceNorm3d, trilinear (half-pixel
    and align_corners) and nearest upsampling, global average and max pools, a Linear head."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv3d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm3d(4)
        self.norm = nn.InstanceNorm3d(4, affine=True)
        self.c2 = nn.Conv3d(4, 4, 1)
        self.fc = nn.Linear(4 * 3 * 4 * 4 + 8, 5)
        with torch.no_grad():
            self.bn.running_mean.copy_(torch.linspace(-0.2, 0.3, 4))
            self.bn.running_var.copy_(torch.linspace(0.6, 1.4, 4))
            self.bn.weight.copy_(torch.linspace(0.8, 1.2, 4))
            self.bn.bias.copy_(torch.linspace(-0.1, 0.1, 4))

    def forward(self, x):
        y = torch.tanh(self.c1(x))  # (N, 4, 7, 9, 8)
        m = F.max_pool3d(y, 3, stride=2, padding=1, ceil_mode=True)  # (4, 5, 5)
        a = F.avg_pool3d(y, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)  # (4, 5, 5)
        b = F.avg_pool3d(y, 2, stride=(1, 2, 2), padding=1, count_include_pad=True)  # (8, 5, 5)
        md = F.max_pool3d(y, 2, stride=(1, 2, 1), dilation=2, ceil_mode=False)  # (5, 4, 6)
        z = self.bn(m + a) + 0.5 * b[:, :, 2:6]  # (4, 5, 5)
        z = self.norm(torch.tanh(z))
        up1 = F.interpolate(z, scale_factor=2, mode="trilinear", align_corners=False)  # (8, 10, 10)
        up2 = F.interpolate(z, size=(6, 7, 9), mode="trilinear", align_corners=True)
        up3 = F.interpolate(md, scale_factor=(1, 2, 1), mode="nearest")  # (5, 8, 6)
        s = torch.tanh(self.c2(up1))[:, :, :3, :4, :4] + up2[:, :, 1:4, 2:6, 3:7] + 0.1 * up3[:, :, 2:5, 1:5, 1:5]
        g = torch.cat([F.adaptive_avg_pool3d(s, 1), F.adaptive_max_pool3d(up2, 1)], 1).flatten(1)
        return self.fc(torch.cat([s.flatten(1), g], 1))


# name → (constructor, input shape), exported and referenced by scripts/make_grad_refs.py
TINY = {
    "tiny_conv3d": (TinyConv3d, (2, 3, 6, 9, 8)),
    "tiny_pool3d": (TinyPool3d, (2, 3, 7, 9, 8)),
}


if __name__ == "__main__":
    for n in MODELS:
        m, s = fm.build(n)
        print(n, fm.torch_params(m), m.expected_skips(), s, tuple(m(torch.zeros(s)).shape))
    for n, (ctor, s) in TINY.items():
        torch.manual_seed(fm.SEED)
        m = ctor().eval()
        print(n, fm.torch_params(m), s, tuple(m(torch.zeros(s)).shape))


def export_volume_variants(path):
    """5-D attribute variants no PyTorch export produces, for the forward check against
    onnxruntime and input-gradient finite differences: Conv with auto_pad SAME_UPPER/SAME_LOWER
    and with asymmetric pads, ConvTranspose with output_shape and with auto_pad, MaxPool
    SAME_LOWER, AveragePool SAME_UPPER counting pads and asymmetric pads not counting them,
    LpPool p=2 and p=3, GlobalLpPool (of the average pool: a sum over the whole input would
    dominate the loss and drown finite differences in float32 noise), and Resize (linear asymmetric to sizes, nearest
    round_prefer_ceil, linear pytorch_half_pixel downscale)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(fm.SEED)
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 2, 5, 7, 6])
    f32 = lambda name, shape: numpy_helper.from_array(  # noqa: E731
        (0.3 * rng.standard_normal(shape)).astype(np.float32), name
    )
    c = lambda name, v, dt=np.float32: numpy_helper.from_array(np.array(v, dtype=dt), name)  # noqa: E731
    inits = [
        f32("w_same", [3, 2, 3, 3, 3]),
        f32("b_same", [3]),
        f32("w_asym", [2, 2, 2, 3, 2]),
        f32("w_lower", [2, 2, 2, 2, 2]),
        f32("w_t_shape", [2, 3, 3, 3, 3]),
        f32("w_t_same", [2, 2, 2, 3, 2]),
        c("roi", []),
        c("sizes", [2, 2, 7, 5, 9], np.int64),
        c("scales_near", [1, 1, 1.5, 0.5, 2.0]),
        c("scales_down", [1, 1, 0.6, 0.75, 0.5]),
    ]
    node = helper.make_node
    nodes = [
        node("Conv", ["input", "w_same", "b_same"], ["c1"], name="conv_same_upper", auto_pad="SAME_UPPER", strides=[2, 1, 2]),
        node("Conv", ["input", "w_asym"], ["c2"], name="conv_asym_pads", pads=[0, 1, 2, 1, 0, 1], dilations=[2, 1, 1]),
        node("Conv", ["input", "w_lower"], ["c3"], name="conv_same_lower", auto_pad="SAME_LOWER", strides=[2, 2, 2]),
        node("ConvTranspose", ["input", "w_t_shape"], ["t1"], name="convt_output_shape", strides=[2, 2, 2], output_shape=[10, 13, 12]),
        node("ConvTranspose", ["input", "w_t_same"], ["t2"], name="convt_same_upper", strides=[1, 2, 2], auto_pad="SAME_UPPER"),
        node("MaxPool", ["input"], ["m1"], name="max_same_lower", kernel_shape=[3, 3, 3], strides=[2, 2, 2], auto_pad="SAME_LOWER"),
        node("AveragePool", ["input"], ["a1"], name="avg_same_upper_incl", kernel_shape=[2, 3, 2], strides=[2, 2, 2], auto_pad="SAME_UPPER", count_include_pad=1),
        node("AveragePool", ["input"], ["a2"], name="avg_asym_pads", kernel_shape=[3, 2, 3], strides=[1, 2, 2], pads=[1, 0, 1, 0, 1, 1]),
        node("LpPool", ["input"], ["l1"], name="lp2", kernel_shape=[2, 3, 2], strides=[2, 2, 2], pads=[1, 1, 0, 0, 1, 1]),
        node("LpPool", ["input"], ["l2"], name="lp3", kernel_shape=[2, 2, 2], p=3),
        node("GlobalLpPool", ["a2"], ["g1"], name="global_lp2"),
        node("Resize", ["input", "roi", "", "sizes"], ["r1"], name="resize_linear_asym", mode="linear", coordinate_transformation_mode="asymmetric"),
        node("Resize", ["input", "roi", "scales_near"], ["r2"], name="resize_nearest_ceil", mode="nearest", nearest_mode="round_prefer_ceil"),
        node("Resize", ["input", "roi", "scales_down"], ["r3"], name="resize_linear_down", mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
    ]
    names = ["c1", "c2", "c3", "t1", "t2", "m1", "a1", "a2", "l1", "l2", "g1", "r1", "r2", "r3"]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names]
    graph = helper.make_graph(nodes, "tiny_volume_variants", [x], outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_grad_refs")
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    onnx.save(model, path)
