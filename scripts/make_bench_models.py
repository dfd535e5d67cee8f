"""Writes the models bench/parse.ts opens into bench/models/ (git-ignored):
- resnet50.onnx: a full-width ResNet-50 (torchvision's layout, defined here since torchvision is
  not installed) exported by PyTorch, ~98 MB;
- chain10k.onnx: a synthetic 10,000-node graph (conv/relu/add residual units) from onnx.helper.
Run with Debian's /usr/bin/python3 (python3-torch, python3-onnx)."""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "models")
os.makedirs(OUT, exist_ok=True)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + idt)


class ResNet50(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(64, 3)
        self.layer2 = self._layer(128, 4, 2)
        self.layer3 = self._layer(256, 6, 2)
        self.layer4 = self._layer(512, 3, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, classes)

    def _layer(self, planes, blocks, stride=1):
        down = None
        if stride != 1 or self.inplanes != planes * 4:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, down)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50():
    torch.manual_seed(0)
    m = ResNet50().eval()
    path = os.path.join(OUT, "resnet50.onnx")
    torch.onnx.export(m, torch.randn(1, 3, 224, 224), path, input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=17)
    print(path, os.path.getsize(path), "bytes,", sum(p.numel() for p in m.parameters()), "params")


def chain10k(n_nodes=10000):
    """Residual units Conv → Relu → Add(skip) on 16 channels, until n_nodes nodes."""
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    cur = "input"
    i = 0
    while len(nodes) + 3 <= n_nodes:
        w = numpy_helper.from_array(rng.standard_normal((16, 16, 3, 3)).astype(np.float32) * 0.05, f"w{i}")
        b = numpy_helper.from_array(np.zeros(16, np.float32), f"b{i}")
        inits += [w, b]
        nodes.append(helper.make_node("Conv", [cur, f"w{i}", f"b{i}"], [f"c{i}"], name=f"/unit{i}/conv/Conv", pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"/unit{i}/Relu"))
        nodes.append(helper.make_node("Add", [f"r{i}", cur], [f"a{i}"], name=f"/unit{i}/Add"))
        cur = f"a{i}"
        i += 1
    while len(nodes) < n_nodes:
        nodes.append(helper.make_node("Identity", [cur], [f"id{len(nodes)}"], name=f"/tail/Identity_{len(nodes)}"))
        cur = f"id{len(nodes) - 1}"
    g = helper.make_graph(nodes, "chain10k", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 16, 32, 32])], [helper.make_tensor_value_info(cur, TensorProto.FLOAT, ["batch", 16, 32, 32])], inits)
    path = os.path.join(OUT, "chain10k.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="skipscope-bench"), path)
    print(path, os.path.getsize(path), "bytes,", len(nodes), "nodes")


if __name__ == "__main__":
    which = sys.argv[1:] or ["resnet50", "chain10k"]
    if "resnet50" in which:
        resnet50()
    if "chain10k" in which:
        chain10k()
