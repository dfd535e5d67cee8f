"""PyTorch definitions of every ONNX fixture model, rebuilt identically from a fixed seed.

`build(name, folded)` is the one entry point: scripts/make_fixtures.py exports what it returns, and
the probe reference-gradient script rebuilds the same module to compute PyTorch gradients. The
models are deliberately narrow (few channels) so the exported files stay small, but keep the
topology of the architectures they are named after. Each model also states the skip counts its
architecture implies (`expected_skips`), computed from its own blocks rather than from any run of
Skipscope, with the meaning defined in test/fixtures/README.md.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20261127

SKIP_KEYS = ("residual", "projection", "concat", "long", "gate", "parallel")


def skip_counts(**kw):
    """A full counts dict (every key present, zero by default)."""
    out = {k: 0 for k in SKIP_KEYS}
    for k, v in kw.items():
        assert k in out, k
        out[k] = int(v)
    return out


def conv_bn(cin, cout, k, stride=1, padding=None, groups=1):
    """Conv (no bias) followed by BatchNorm, the unit every CNN here is made of."""
    if padding is None:
        padding = k // 2
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=False), nn.BatchNorm2d(cout)
    )


# ----------------------------------------------------------------------------- ResNet family


class SqueezeExcite(nn.Module):
    """Squeeze-excitation: global pool → fc → ReLU → fc → sigmoid, then a channel-wise gate (Mul).

    Linear layers on the flattened pool plus `view(b, c, 1, 1)` as in the SENet reference code, so
    the export carries the Shape→Gather→Concat→Reshape arithmetic real SE exports have.
    """

    def __init__(self, c, reduction=4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(c, max(c // reduction, 2))
        self.fc2 = nn.Linear(max(c // reduction, 2), c)

    def forward(self, x):
        b, c = x.size(0), x.size(1)
        s = self.pool(x).view(b, c)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s.view(b, c, 1, 1)


class BasicBlock(nn.Module):
    """ResNet basic block: two 3×3 convs; identity shortcut, or 1×1 conv + BN when shape changes."""

    expansion = 1

    def __init__(self, cin, planes, stride=1, se=False):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.se = SqueezeExcite(cout) if se else None
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = conv_bn(cin, cout, 1, stride, 0)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        return F.relu(out + identity)


class Bottleneck(nn.Module):
    """ResNet-50 bottleneck: 1×1 reduce, 3×3 (stride here, as torchvision v1.5), 1×1 expand ×4."""

    expansion = 4

    def __init__(self, cin, planes, stride=1, se=False):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.se = SqueezeExcite(cout) if se else None
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = conv_bn(cin, cout, 1, stride, 0)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        return F.relu(out + identity)


class ResNet(nn.Module):
    """torchvision ResNet topology (7×7/2 stem, BN, ReLU, 3×3/2 max pool, 4 stages, avg pool, fc)."""

    def __init__(self, block, layers, widths, num_classes=10, se=False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = widths[0]
        for i, (n, w) in enumerate(zip(layers, widths)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(cin, w, stride, se=se))
                cin = w * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def expected_skips(self):
        blocks = [m for m in self.modules() if isinstance(m, (BasicBlock, Bottleneck))]
        return skip_counts(
            residual=len(blocks),
            projection=sum(b.downsample is not None for b in blocks),
            gate=sum(b.se is not None for b in blocks),
        )


# ----------------------------------------------------------------------------- DenseNet


class DenseLayer(nn.Module):
    """BN-ReLU-1×1 conv-BN-ReLU-3×3 conv producing `growth` maps, concatenated onto its input.

    One two-input Concat per layer (input, new features), as in the authors' original Torch
    implementation (nn.Concat of an identity and the conv path); equivalent to concatenating all
    earlier feature maps.
    """

    def __init__(self, cin, growth, bn_size):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        new = self.conv1(F.relu(self.norm1(x)))
        new = self.conv2(F.relu(self.norm2(new)))
        return torch.cat([x, new], 1)


class Transition(nn.Module):
    """BN-ReLU-1×1 conv (compression 0.5)-2×2 average pool between dense blocks."""

    def __init__(self, cin, cout):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.pool = nn.AvgPool2d(2, 2)

    def forward(self, x):
        return self.pool(self.conv(F.relu(self.norm(x))))


class DenseNet(nn.Module):
    """DenseNet-BC (torchvision layout: 7×7/2 stem, max pool, dense blocks with transitions)."""

    def __init__(self, blocks, growth=4, init_features=8, bn_size=4, num_classes=10):
        super().__init__()
        self.conv0 = nn.Conv2d(3, init_features, 7, 2, 3, bias=False)
        self.norm0 = nn.BatchNorm2d(init_features)
        self.pool0 = nn.MaxPool2d(3, 2, 1)
        c = init_features
        stages = []
        for i, n in enumerate(blocks):
            layers = []
            for _ in range(n):
                layers.append(DenseLayer(c, growth, bn_size))
                c += growth
            stages.append(nn.Sequential(*layers))
            if i != len(blocks) - 1:
                stages.append(Transition(c, c // 2))
                c //= 2
        self.features = nn.Sequential(*stages)
        self.norm5 = nn.BatchNorm2d(c)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.pool0(F.relu(self.norm0(self.conv0(x))))
        x = F.relu(self.norm5(self.features(x)))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))

    def expected_skips(self):
        return skip_counts(concat=sum(isinstance(m, DenseLayer) for m in self.modules()))


# ----------------------------------------------------------------------------- U-Net


class DoubleConv(nn.Module):
    """(3×3 conv, BN, ReLU) × 2, the U-Net stage."""

    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3)
        self.c2 = conv_bn(cout, cout, 3)

    def forward(self, x):
        return F.relu(self.c2(F.relu(self.c1(x))))


class ResidualConv(nn.Module):
    """Identity residual block (conv-BN-ReLU-conv-BN + x) at the U-Net bottleneck, so blocks nest."""

    def __init__(self, c):
        super().__init__()
        self.c1 = conv_bn(c, c, 3)
        self.c2 = conv_bn(c, c, 3)

    def forward(self, x):
        return F.relu(x + self.c2(F.relu(self.c1(x))))


class UNet(nn.Module):
    """U-Net with 4 levels: 4 max-pool downsamplings, 4 transposed-conv upsamplings, 4 long concats."""

    def __init__(self, base=4, levels=4, num_classes=2):
        super().__init__()
        chans = [base * 2**i for i in range(levels + 1)]
        self.inc = DoubleConv(3, chans[0])
        self.down = nn.ModuleList([DoubleConv(chans[i], chans[i + 1]) for i in range(levels)])
        self.bottleneck = ResidualConv(chans[levels])
        self.up = nn.ModuleList(
            [nn.ConvTranspose2d(chans[i + 1], chans[i], 2, 2) for i in reversed(range(levels))]
        )
        self.dec = nn.ModuleList(
            [DoubleConv(2 * chans[i], chans[i]) for i in reversed(range(levels))]
        )
        self.outc = nn.Conv2d(chans[0], num_classes, 1)

    def forward(self, x):
        skips = [self.inc(x)]
        for d in self.down:
            skips.append(d(F.max_pool2d(skips[-1], 2)))
        x = self.bottleneck(skips.pop())
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([skips.pop(), up(x)], 1))
        return self.outc(x)

    def expected_skips(self):
        return skip_counts(
            long=len(self.up),
            residual=sum(isinstance(m, ResidualConv) for m in self.modules()),
        )


# ----------------------------------------------------------------------------- Inception, SqueezeNet


class BasicConv(nn.Module):
    """Conv-BN-ReLU (GoogLeNet's BasicConv2d)."""

    def __init__(self, cin, cout, k, stride=1, padding=None):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2 if padding is None else padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class InceptionModule(nn.Module):
    """Inception-v1 module: 1×1 | 1×1→3×3 | 1×1→5×5 | 3×3 max pool→1×1, concatenated."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = BasicConv(cin, c1, 1)
        self.branch2 = nn.Sequential(BasicConv(cin, c3r, 1), BasicConv(c3r, c3, 3))
        self.branch3 = nn.Sequential(BasicConv(cin, c5r, 1), BasicConv(c5r, c5, 5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), BasicConv(cin, pp, 1))
        self.out_channels = c1 + c3 + c5 + pp

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class Inception(nn.Module):
    """GoogLeNet-style stem, then Inception modules 3a, 3b, (max pool) 4a, avg pool, fc."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = BasicConv(3, 8, 7, 2)
        self.pool1 = nn.MaxPool2d(3, 2, 1)
        self.conv2 = BasicConv(8, 8, 1)
        self.conv3 = BasicConv(8, 16, 3)
        self.pool2 = nn.MaxPool2d(3, 2, 1)
        self.inception3a = InceptionModule(16, 8, 6, 8, 2, 4, 4)
        self.inception3b = InceptionModule(24, 8, 8, 12, 2, 6, 6)
        self.pool3 = nn.MaxPool2d(3, 2, 1)
        self.inception4a = InceptionModule(32, 12, 6, 14, 2, 4, 6)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(36, num_classes)

    def forward(self, x):
        x = self.pool2(self.conv3(self.conv2(self.pool1(self.conv1(x)))))
        x = self.pool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(self.dropout(x))

    def expected_skips(self):
        return skip_counts(parallel=sum(isinstance(m, InceptionModule) for m in self.modules()))


class Fire(nn.Module):
    """SqueezeNet Fire module: 1×1 squeeze, then 1×1 and 3×3 expands concatenated."""

    def __init__(self, cin, s, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, s, 1)
        self.expand1x1 = nn.Conv2d(s, e1, 1)
        self.expand3x3 = nn.Conv2d(s, e3, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1x1(x)), F.relu(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1 layout (8 Fire modules, no bypass), channels divided by 4."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(16, 4, 16, 16),
            Fire(32, 4, 16, 16),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(32, 8, 32, 32),
            Fire(64, 8, 32, 32),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(64, 12, 48, 48),
            Fire(96, 12, 48, 48),
            Fire(96, 16, 64, 64),
            Fire(128, 16, 64, 64),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Conv2d(128, num_classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
        )

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)

    def expected_skips(self):
        return skip_counts(parallel=sum(isinstance(m, Fire) for m in self.modules()))


# ----------------------------------------------------------------------------- MobileNetV2


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1×1 expand (t), 3×3 depthwise (stride s), 1×1 linear project; identity add
    exactly when stride is 1 and input and output channels match."""

    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if t != 1:
            layers += [conv_bn(cin, hidden, 1, 1, 0), nn.ReLU6()]
        layers += [conv_bn(hidden, hidden, 3, stride, 1, groups=hidden), nn.ReLU6()]
        layers += [conv_bn(hidden, cout, 1, 1, 0)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 with the paper's (t, c, n, s) table; channels divided by 4 without rounding to 8,
    so no extra block gains a residual by channel counts colliding."""

    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, div=4, num_classes=10):
        super().__init__()
        c = 32 // div
        feats = [conv_bn(3, c, 3, 2, 1), nn.ReLU6()]
        for t, ch, n, s in self.SETTINGS:
            for i in range(n):
                feats.append(InvertedResidual(c, ch // div, s if i == 0 else 1, t))
                c = ch // div
        last = 1280 // (2 * div)
        feats += [conv_bn(c, last, 1, 1, 0), nn.ReLU6()]
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))

    def expected_skips(self):
        blocks = [m for m in self.modules() if isinstance(m, InvertedResidual)]
        return skip_counts(residual=sum(b.use_res_connect for b in blocks))


# ----------------------------------------------------------------------------- Transformer


class TransformerModel(nn.Module):
    """nn.TransformerEncoder (post-norm, GELU) on a [batch, seq, d_model] input."""

    def __init__(self, d_model=32, nhead=4, layers=2, ff=64):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, ff, dropout=0.1, activation="gelu", batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(x)

    def expected_skips(self):
        # Each encoder layer: x + self_attn(x) and x + feed_forward(x).
        return skip_counts(residual=2 * len(self.encoder.layers))


# ----------------------------------------------------------------------------- control flow


class GatedHead(nn.Module):
    """A conv feature extractor whose classifier head is chosen by a data-dependent `if`.

    Exported through torch.jit.script, the branch becomes an ONNX `If` node whose then/else
    subgraphs each hold a Gemm that reads the outer-scope features and its own initializers.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc_pos = nn.Linear(4, 2)
        self.fc_neg = nn.Linear(4, 2)

    def forward(self, x):
        h = torch.relu(self.conv(x)).mean(dim=(2, 3))
        if bool(x.mean() > 0):
            y = self.fc_pos(h)
        else:
            y = self.fc_neg(h)
        return y

    def expected_skips(self):
        return skip_counts()


# ----------------------------------------------------------------------------- the sample


class SampleNet(nn.Module):
    """The sample shipped in samples/: a small CNN with every common skip kind.

    stem conv → identity residual block → projection residual block (stride 2) → dense layer
    (concat skip) → nearest 2× upsample (Resize) → concat with the stem features (a long skip) →
    1×1 conv → global average pool → fc.
    """

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = conv_bn(3, 8, 3)
        self.block1 = BasicBlock(8, 8)
        self.block2 = BasicBlock(8, 16, stride=2)
        self.dense = DenseLayer(16, growth=8, bn_size=2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = conv_bn(24 + 8, 16, 1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        s = F.relu(self.stem(x))
        y = self.dense(self.block2(self.block1(s)))
        y = torch.cat([self.up(y), s], 1)
        y = F.relu(self.head(y))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))

    def expected_skips(self):
        blocks = [self.block1, self.block2]
        return skip_counts(
            residual=len(blocks),
            projection=sum(b.downsample is not None for b in blocks),
            concat=1,  # the dense layer
            long=1,  # upsampled features concatenated with the stem output
        )


# ----------------------------------------------------------------------------- gradient range


class DeepMLP(nn.Module):
    """`depth` × (Linear(width, width) + activation) with PyTorch's default init, the weights then
    scaled by `gain`. Sigmoid at gain 1 makes the gradient vanish (first layer L2 ~1e-34); ReLU at
    gain 6 makes it explode (~1e30): both far outside the range where Σg² fits float32."""

    def __init__(self, depth=40, width=32, act="sigmoid", gain=1.0):
        super().__init__()
        mods = []
        for _ in range(depth):
            lin = nn.Linear(width, width)
            with torch.no_grad():
                lin.weight.mul_(gain)
            mods += [lin, nn.Sigmoid() if act == "sigmoid" else nn.ReLU()]
        self.layers = nn.Sequential(*mods)

    def forward(self, x):
        return self.layers(x)

    def expected_skips(self):
        return skip_counts()


class PlainBlock(nn.Module):
    """A ResNet basic block without normalization: relu(x + conv2(relu(conv1(x)))), identity skip."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return F.relu(x + self.conv2(F.relu(self.conv1(x))))


class PlainResNet(nn.Module):
    """A deep ResNet with no normalization (stem conv, `depth` PlainBlocks, global pool, fc), its
    conv weights scaled by `gain`: each block roughly doubles the signal, so the gradient at the
    stem explodes (~1e25) while every value of the forward pass stays well inside float32."""

    def __init__(self, width=4, depth=24, gain=5.0, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.Sequential(*[PlainBlock(width) for _ in range(depth)])
        self.fc = nn.Linear(width, num_classes)
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    m.weight.mul_(gain)

    def forward(self, x):
        y = self.blocks(F.relu(self.stem(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))

    def expected_skips(self):
        return skip_counts(residual=len(self.blocks))


# ----------------------------------------------------------------------------- registry

# name → (constructor, example input shape with batch 1; the batch dim is exported as "batch")
class PlainDeep(nn.Module):
    """A deep plain CNN without skips: a 3×3 conv stem, `depth` 3×3 conv + ReLU layers at one width
    (PyTorch's default init), global average pool, fc. Its gradient vanishes toward the input; the
    contrast to the residual fixtures in the gradient-flow tests."""

    def __init__(self, depth=18, width=8, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.layers = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(depth))
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        for conv in self.layers:
            x = F.relu(conv(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def expected_skips(self):
        return skip_counts()


MODELS = {
    "sample": (lambda: SampleNet(), (1, 3, 32, 32)),
    "resnet18": (lambda: ResNet(BasicBlock, [2, 2, 2, 2], [8, 16, 32, 64]), (1, 3, 64, 64)),
    # Half as wide again, for the external-data and local-function variants (format tests).
    "resnet18_tiny": (lambda: ResNet(BasicBlock, [2, 2, 2, 2], [4, 8, 16, 32]), (1, 3, 64, 64)),
    "resnet50": (lambda: ResNet(Bottleneck, [3, 4, 6, 3], [8, 16, 32, 64]), (1, 3, 64, 64)),
    "densenet121": (lambda: DenseNet([6, 12, 24, 16]), (1, 3, 64, 64)),
    "densenet_small": (lambda: DenseNet([2, 2], growth=4, init_features=8), (1, 3, 32, 32)),
    "unet": (lambda: UNet(), (1, 3, 32, 32)),
    "inception": (lambda: Inception(), (1, 3, 64, 64)),
    "squeezenet": (lambda: SqueezeNet(), (1, 3, 64, 64)),
    "mobilenetv2": (lambda: MobileNetV2(), (1, 3, 32, 32)),
    "se_resnet": (
        lambda: ResNet(BasicBlock, [2, 2, 2, 2], [8, 16, 32, 64], se=True),
        (1, 3, 64, 64),
    ),
    "transformer": (lambda: TransformerModel(), (1, 8, 32)),
    "gated_if": (lambda: GatedHead(), (1, 3, 8, 8)),
    # Gradients far outside float32's sum-of-squares range (probe statistics tests).
    "mlp_sigmoid40": (lambda: DeepMLP(act="sigmoid"), (1, 32)),
    "mlp_relu40": (lambda: DeepMLP(act="relu", gain=6.0), (1, 32)),
    "resnet_nonorm": (lambda: PlainResNet(), (1, 3, 8, 8)),
    "plain_deep": (lambda: PlainDeep(), (1, 3, 32, 32)),
}


class Affine(nn.Module):
    """Per-channel scale and shift, the folded form of a BatchNorm that no conv precedes."""

    def __init__(self, bn):
        super().__init__()
        std = torch.sqrt(bn.running_var + bn.eps)
        scale = bn.weight.detach() / std
        shift = bn.bias.detach() - bn.running_mean * scale
        # One trailing 1 per spatial axis: (1, C, 1, 1) after a BatchNorm2d, (1, C, 1, 1, 1) after a 3d.
        view = (1, -1) + (1,) * (3 if isinstance(bn, nn.BatchNorm3d) else 2)
        self.scale = nn.Parameter(scale.reshape(view).clone())
        self.shift = nn.Parameter(shift.reshape(view).clone())

    def forward(self, x):
        return x * self.scale + self.shift


def _perturb(model, gen):
    """Give norms non-trivial statistics and make every 1-D parameter distinct.

    Fresh BatchNorm/LayerNorm layers are identities (weight 1, bias 0, mean 0, var 1), several
    biases start at zero, and the exporter merges equal-valued initializers (its eval-mode
    deduplication). Small seeded noise on every parameter avoids all three.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
        # Weights too: nn.TransformerEncoder deep-copies one layer, so its layers start equal.
        for _, p in model.named_parameters():
            p.add_((0.05 if p.dim() == 1 else 0.01) * torch.randn(p.shape, generator=gen))


def _set_module(model, name, new):
    parent = model
    parts = name.split(".")
    for part in parts[:-1]:
        parent = getattr(parent, part)
    setattr(parent, parts[-1], new)


def fold_batchnorm(model, shape):
    """Fold every BatchNorm into the conv that feeds it, or into an Affine when no conv does.

    Which conv feeds which BN is found from one forward pass: a BN whose input tensor is the very
    output object of a Conv2d follows it directly. The folded conv gains a bias parameter; the BN
    becomes nn.Identity, which exports to nothing.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model.eval()
    names = {m: n for n, m in model.named_modules()}
    conv_out = {}
    feeds = {}
    hooks = []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            # The output is kept alive so that its id() cannot be reused by a later tensor.
            hooks.append(m.register_forward_hook(lambda mod, i, o: conv_out.__setitem__(id(o), (mod, o))))
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            hooks.append(
                m.register_forward_pre_hook(
                    lambda mod, i: feeds.__setitem__(mod, conv_out.get(id(i[0]), (None,))[0])
                )
            )
    with torch.no_grad():
        model(torch.zeros(shape))
    for h in hooks:
        h.remove()
    for bn, conv in feeds.items():
        if conv is not None:
            _set_module(model, names[conv], fuse_conv_bn_eval(conv, bn))
            _set_module(model, names[bn], nn.Identity())
        else:
            _set_module(model, names[bn], Affine(bn))
    return model


def build(name, folded=False):
    """Rebuild fixture model `name` (a MODELS key) deterministically.

    Returns (module in eval mode, example input shape with batch 1). With `folded`, every
    BatchNorm is folded away first, so the module's parameters are exactly what an export with
    constant folding off stores as initializers.
    """
    ctor, shape = MODELS[name]
    torch.manual_seed(SEED)
    model = ctor()
    gen = torch.Generator().manual_seed(SEED + 1)
    _perturb(model, gen)
    model.eval()
    if folded:
        fold_batchnorm(model, shape)
    return model, shape


def example_input(shape, seed=SEED + 2):
    """A seeded example batch of the given shape."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def torch_params(model):
    """Sum of p.numel() over the module's parameters."""
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    for n in MODELS:
        m, s = build(n)
        print(n, torch_params(m), m.expected_skips() if hasattr(m, "expected_skips") else "", s)
