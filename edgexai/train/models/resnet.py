"""ResNets whose every width is a parameter, so a channel-pruned network rebuilds from its widths.

Layout shared by all: `stem` (conv-bn-relu, stride 1 so small inputs keep their resolution),
`layer1..layerN` of BasicBlocks, `avgpool` (global average) and `fc` (linear). The last stage is
the CAM layer; because the head is GAP → linear, Grad-CAM is exact from activations and `fc`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

Widths = dict[str, Any]  # {"stem": int, "stages": [[[mid, out], ...] per block] per stage}


class BasicBlock(nn.Module):
    """3×3 → 3×3 residual block; a 1×1 projection shortcut when stride or width changes."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, mid_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_ch)
        self.conv2 = nn.Conv2d(mid_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """A ResNet built from explicit widths and per-stage strides."""

    def __init__(self, widths: Widths, strides: list[int], num_classes: int) -> None:
        super().__init__()
        stem = int(widths["stem"])
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True)
        )
        in_ch = stem
        self.stage_names: list[str] = []
        for i, (stage, stride) in enumerate(zip(widths["stages"], strides, strict=True), start=1):
            blocks = []
            for j, (mid, out) in enumerate(stage):
                blocks.append(BasicBlock(in_ch, int(mid), int(out), stride if j == 0 else 1))
                in_ch = int(out)
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            self.stage_names.append(f"layer{i}")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The CAM layer's activations (last stage output, after its ReLU)."""
        x = self.stem(x)
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))

    def widths(self) -> Widths:
        """Current widths, read from the layers themselves (true after channel pruning)."""
        stages = []
        for name in self.stage_names:
            stages.append(
                [[b.conv1.out_channels, b.conv2.out_channels] for b in getattr(self, name)]
            )
        return {"stem": self.stem[0].out_channels, "stages": stages}
