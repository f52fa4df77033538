"""The paper's VGG-16 (CIFAR-style, 32 px), with every width a parameter like the ResNets.

Layout (Suwal et al.'s code): five stages of 3×3 convs (64, 64 | 128, 128 | 256 ×3 | 512 ×3 |
512 ×3), each conv followed by BatchNorm + ReLU, a 2×2 max-pool after each stage, so a 32 px
input ends as a 512×1×1 map; then flatten → Linear 512 → ReLU → Dropout(0.5) → Linear 512 →
ReLU → Dropout(0.5) → `fc` (Linear C). BatchNorm is what CIFAR VGG code uses and what lets it
train from scratch in a few epochs.

Its head is not GAP → linear (two hidden linears with ReLU after the flatten) and its last map is
1×1, so Grad-CAM has no exact in-graph form for it: `edgexai.train.saliency.cam.check_gap_linear`
refuses it (there is no `avgpool`), and the registry marks it CAM-less.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

# {"stages": [[conv out, ...] per stage], "hidden": [h1, h2]}; VGG-16's: models.registry
Widths = dict[str, Any]

DROPOUT = 0.5


class VGG(nn.Module):
    """VGG from explicit widths: `features` (conv-bn-relu ×k, max-pool per stage),
    `classifier` (the hidden linears) and `fc`, the last linear (checkpoint and pruning use it)."""

    def __init__(self, widths: Widths, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for stage in widths["stages"]:
            for out in stage:
                out = int(out)
                layers += [
                    nn.Conv2d(in_ch, out, 3, 1, 1),
                    nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                ]
                in_ch = out
            layers.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = []
        for hidden in widths["hidden"]:
            head += [nn.Linear(in_ch, int(hidden)), nn.ReLU(inplace=True), nn.Dropout(DROPOUT)]
            in_ch = int(hidden)
        self.classifier = nn.Sequential(*head)
        self.fc = nn.Linear(in_ch, num_classes)
        self._stage_sizes = [len(s) for s in widths["stages"]]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.classifier(torch.flatten(self.features(x), 1)))

    def widths(self) -> Widths:
        """Current widths, read from the layers themselves (true after channel pruning)."""
        convs = iter([m.out_channels for m in self.features if isinstance(m, nn.Conv2d)])
        stages = [[next(convs) for _ in range(n)] for n in self._stage_sizes]
        hidden = [m.out_features for m in self.classifier if isinstance(m, nn.Linear)]
        return {"stages": stages, "hidden": hidden}
