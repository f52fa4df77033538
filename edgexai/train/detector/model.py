"""A CenterNet-style sign detector small enough for two CPU cores, and its in-graph decoding.

Why this shape: signs are 16–130 px in a 1360×800 frame and are told apart from background by
colour and outline more than by context, so a light backbone of depthwise-separable residual
blocks (strides 4–32) with a top-down path back to stride 4 suffices; one heat-map channel per
category says where a sign is centred, four channels regress the distances from the cell to the
box edges (trained with a GIoU loss, so box quality is what is optimised). The network takes the
frame as OpenCV decodes it (N×H×W×3 BGR uint8) and normalises it in the graph, so the vehicle
does no per-pixel work in numpy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from edgexai.core.errors import EdgexaiError

# Per-channel statistics of GTSDB frames (B, G, R in [0, 255]), measured on every 4th frame of 0–399.
FRAME_MEAN_BGR = (126.1, 126.1, 125.4)
FRAME_STD_BGR = (91.6, 89.2, 87.0)
HEAT_PRIOR = 0.01  # initial sign probability per cell (focal-loss practice: a stable start)


@dataclass(frozen=True)
class DetectorConfig:
    """Architecture and input geometry; the manifest records it and model.pt stores it."""

    input_w: int = 1088
    input_h: int = 640
    stem: int = 16
    widths: tuple[int, ...] = (32, 64, 128, 128)  # stages at strides 4, 8, 16, 32
    blocks: tuple[int, ...] = (1, 2, 2, 2)
    fpn: int = 64  # top-down channels at strides 8–32
    head: int = 32  # channels at stride 4 (FPN + head)
    categories: tuple[str, ...] = ("sign",)
    stride: int = 4
    top_k: int = 100
    mean: tuple[float, float, float] = FRAME_MEAN_BGR
    std: tuple[float, float, float] = FRAME_STD_BGR

    def check(self) -> DetectorConfig:
        if len(self.widths) != 4 or len(self.blocks) != 4:
            raise EdgexaiError("a detector has four stages (strides 4, 8, 16, 32)")
        if self.input_w % 32 or self.input_h % 32 or self.input_w < 64 or self.input_h < 64:
            raise EdgexaiError(
                f"detector input {self.input_w}×{self.input_h} must be multiples of 32, at least 64"
            )
        if not self.categories:
            raise EdgexaiError("a detector needs at least one category")
        if not 1 <= self.top_k < 3840:  # TensorRT's TopK limit
            raise EdgexaiError("top_k must be in 1..3839")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DetectorConfig:
        known = {f: d[f] for f in cls.__dataclass_fields__ if f in d}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in known.items()}).check()


def _bn_relu(c: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]


class SeparableDown(nn.Sequential):
    """Depthwise 3×3 at stride 2, then pointwise c_in → c_out."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_in, 3, 2, 1, groups=c_in, bias=False),
            nn.BatchNorm2d(c_in),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            *_bn_relu(c_out),
        )


class SeparableBlock(nn.Module):
    """Residual depthwise-separable block: x + BN(PW(ReLU(BN(DW(x))))), then ReLU."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False),
            *_bn_relu(c),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class Smooth(nn.Sequential):
    """Depthwise 3×3 + pointwise after a top-down merge."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_in, 3, 1, 1, groups=c_in, bias=False),
            nn.BatchNorm2d(c_in),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            *_bn_relu(c_out),
        )


class DetectorNet(nn.Module):
    """frames N×H×W×3 BGR uint8 → (heat logits N×C×H/4×W/4, log edge distances N×4×H/4×W/4)."""

    def __init__(self, cfg: DetectorConfig) -> None:
        super().__init__()
        self.cfg = cfg.check()
        c = cfg.widths
        self.register_buffer("mean", torch.tensor(cfg.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            "inv_std", 1.0 / torch.tensor(cfg.std).view(1, 3, 1, 1), persistent=False
        )
        self.stem = nn.Sequential(nn.Conv2d(3, cfg.stem, 3, 2, 1, bias=False), *_bn_relu(cfg.stem))
        stages, c_prev = [], cfg.stem
        for width, n in zip(c, cfg.blocks, strict=True):
            stages.append(
                nn.Sequential(
                    SeparableDown(c_prev, width), *[SeparableBlock(width) for _ in range(n)]
                )
            )
            c_prev = width
        self.stages = nn.ModuleList(stages)
        f, h = cfg.fpn, cfg.head
        self.lateral = nn.ModuleList(
            [
                nn.Conv2d(c[0], h, 1),
                nn.Conv2d(c[1], f, 1),
                nn.Conv2d(c[2], f, 1),
                nn.Conv2d(c[3], f, 1),
            ]
        )
        self.smooth = nn.ModuleList([Smooth(h, h), Smooth(f, f), Smooth(f, f)])
        self.reduce = nn.Conv2d(f, h, 1)  # stride-8 map → head width before the last upsample
        self.head = Smooth(h, h)
        self.heat = nn.Conv2d(h, len(cfg.categories), 1)
        self.reg = nn.Conv2d(h, 4, 1)
        nn.init.constant_(self.heat.bias, -torch.log(torch.tensor((1 - HEAT_PRIOR) / HEAT_PRIOR)))
        nn.init.normal_(self.reg.weight, std=0.01)
        nn.init.constant_(self.reg.bias, 0.5)  # e^0.5 · 4 ≈ 6.6 px per side: a small sign

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # cast first: TensorRT takes UINT8 only at the network boundary, straight into a Cast
        x = (frames.float().permute(0, 3, 1, 2) - self.mean) * self.inv_std
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        up = self.lateral[3](feats[3])
        for level in (2, 1):
            up = self.smooth[level](
                self.lateral[level](feats[level])
                + F.interpolate(up, scale_factor=2.0, mode="nearest")
            )
        p4 = self.lateral[0](feats[0]) + F.interpolate(
            self.reduce(up), scale_factor=2.0, mode="nearest"
        )
        y = self.head(self.smooth[0](p4))
        return self.heat(y), self.reg(y)


class HeadDecoder(nn.Module):
    """The head's decoding, as exported: (heat logits, log edge distances) → boxes N×K×4
    (normalised x1, y1, x2, y2), scores N×K, labels N×K (category index, int32). Mirrors
    edgexai.core.detection.decode.decode."""

    def __init__(self, cfg: DetectorConfig) -> None:
        super().__init__()
        h, w, s = cfg.input_h // cfg.stride, cfg.input_w // cfg.stride, cfg.stride
        n_cat = len(cfg.categories)
        idx = torch.arange(n_cat * h * w)
        pix = idx % (h * w)
        # Constant tables indexed by the TopK position: no integer division in the graph. With
        # one category the position is the cell and the label 0, so those two tables are skipped.
        self.one_category = n_cat == 1
        if not self.one_category:
            self.register_buffer("pix", pix, persistent=False)
            self.register_buffer("label", (idx // (h * w)).to(torch.int32), persistent=False)
        self.register_buffer("cx", ((pix % w).float() + 0.5) * s / cfg.input_w, persistent=False)
        self.register_buffer("cy", ((pix // w).float() + 0.5) * s / cfg.input_h, persistent=False)
        self.register_buffer(
            "scale",
            torch.tensor([s / cfg.input_w, s / cfg.input_h, s / cfg.input_w, s / cfg.input_h]).view(
                1, 1, 4
            ),
            persistent=False,
        )
        self.k = min(cfg.top_k, n_cat * h * w)

    def forward(
        self, heat_logits: torch.Tensor, reg: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        heat = torch.sigmoid(heat_logits)
        peaks = heat * (F.max_pool2d(heat, 3, 1, 1) == heat).to(heat.dtype)
        # no shape arithmetic on the batch axis: it would put a Shape of the UINT8 input in the
        # graph, which TensorRT refuses (UINT8 only at the network boundary)
        scores, idx = peaks.flatten(1).topk(self.k, dim=1)
        pix = idx if self.one_category else self.pix[idx]
        dist = torch.exp(reg.flatten(2).gather(2, pix.unsqueeze(1).expand(-1, 4, -1)))
        dist = dist.transpose(1, 2) * self.scale  # N×K×4
        cx, cy = self.cx[idx], self.cy[idx]
        boxes = torch.stack(
            [cx - dist[..., 0], cy - dist[..., 1], cx + dist[..., 2], cy + dist[..., 3]], -1
        ).clamp(0.0, 1.0)
        labels = torch.zeros_like(idx, dtype=torch.int32) if self.one_category else self.label[idx]
        return boxes, scores, labels


class DecodedDetector(nn.Module):
    """The network plus its decoding: frames → boxes, scores, labels (what is exported)."""

    def __init__(self, net: DetectorNet) -> None:
        super().__init__()
        self.net = net
        self.decode = HeadDecoder(net.cfg)
        self.k = self.decode.k
        self.with_head = False  # export only: also return the head maps, to name them

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, ...]:
        heat_logits, reg = self.net(frames)
        out = self.decode(heat_logits, reg)
        return (*out, heat_logits, reg) if self.with_head else out


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
