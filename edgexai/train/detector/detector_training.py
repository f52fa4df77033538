"""Detector training: penalty-reduced focal loss on the heat-map + GIoU on the boxes, AdamW with
a warm-up and cosine decay, a checkpoint at every evaluation (resumable: the step number fixes
the batch, so a resumed run draws the same batches), selection by AP on the calibration frames.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import generalized_box_iou_loss

from edgexai.core.errors import EdgexaiError
from edgexai.train.detector.data import SampleMaker
from edgexai.train.detector.model import DetectorNet

CHECKPOINT_FORMAT = "edgexai-detector-checkpoint/1"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; the manifest records them as used."""

    steps: int = 14000
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 200
    giou_weight: float = 2.0
    eval_every: int = 1000
    seed: int = 0
    bf16: bool = False  # bfloat16 autocast on CPU (only where the processor has native bf16)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine to 1 % (a pure function of the step: resuming needs no state)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def focal_loss(logits: torch.Tensor, target: torch.Tensor, ignore: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (α = 2, β = 4) over Gaussian targets, per object;
    cells of signs the crop cuts in two are neither positive nor negative."""
    pos = target.eq(1.0)
    neg_w = (1 - target).pow(4) * (~ignore).unsqueeze(1)
    p = torch.sigmoid(logits)
    pos_loss = F.logsigmoid(logits) * (1 - p).pow(2) * pos
    neg_loss = F.logsigmoid(-logits) * p.pow(2) * neg_w * (~pos)
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1)


def box_loss(
    reg: torch.Tensor, box_t: torch.Tensor, weight: torch.Tensor, stride: int
) -> torch.Tensor:
    """GIoU loss of the boxes predicted at the cells near each centre, Gaussian-weighted, per
    object (each object's weights sum to 1)."""
    n, _, h, w = reg.shape
    sel = weight > 0
    if not sel.any():
        return reg.sum() * 0.0
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=reg.dtype), torch.arange(w, dtype=reg.dtype), indexing="ij"
    )
    cx = ((xs + 0.5) * stride).expand(n, h, w)[sel]
    cy = ((ys + 0.5) * stride).expand(n, h, w)[sel]
    d = torch.exp(reg.permute(0, 2, 3, 1)[sel].clamp(max=6.0)) * stride
    pred = torch.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], 1)
    target = box_t.permute(0, 2, 3, 1)[sel]
    loss = generalized_box_iou_loss(pred, target, reduction="none")
    return (loss * weight[sel]).sum() / weight.sum().clamp(min=1e-6)


class DetectorTrainer:
    """Trains a DetectorNet; writes checkpoint.pt and train_log.jsonl into `out_dir`."""

    def __init__(
        self,
        net: DetectorNet,
        maker: SampleMaker,
        cfg: TrainConfig,
        out_dir: Path,
        evaluate: Callable[[DetectorNet], dict[str, Any]] | None = None,
        progress: bool = True,
    ) -> None:
        self.net, self.maker, self.cfg, self.out_dir = net, maker, cfg, out_dir
        self.evaluate = evaluate
        self.progress = progress
        decay = [p for n, p in net.named_parameters() if p.ndim > 1]
        rest = [p for n, p in net.named_parameters() if p.ndim <= 1]
        self.optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": cfg.weight_decay},
                {"params": rest, "weight_decay": 0.0},
            ],
            lr=cfg.lr,
        )
        self.step = 0
        self.best_score = -1.0
        self.best_step = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        self.history: list[dict[str, Any]] = []
        self.seconds = 0.0
        self.checkpoint_path = out_dir / "checkpoint.pt"
        self.log_path = out_dir / "train_log.jsonl"

    def save_checkpoint(self) -> None:
        payload = {
            "format": CHECKPOINT_FORMAT,
            "config": self.net.cfg.to_dict(),
            "train": asdict(self.cfg),
            "step": self.step,
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "best_score": self.best_score,
            "best_step": self.best_step,
            "best_state": self.best_state,
            "history": self.history,
            "seconds": self.seconds,
        }
        tmp = self.checkpoint_path.with_suffix(".pt.tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.checkpoint_path)

    def resume(self, path: Path) -> None:
        """Continue from a checkpoint of the same architecture and training settings."""
        from edgexai.train.models.checkpoint import read_weights_only

        ck = read_weights_only(path, CHECKPOINT_FORMAT, "detector training checkpoint (--resume)")
        if ck["config"] != self.net.cfg.to_dict() or ck["train"] != asdict(self.cfg):
            raise EdgexaiError(
                f"--resume: {path} was made with another architecture or other "
                "training settings; resume with the same options or use another "
                "--out"
            )
        self.net.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.step = ck["step"]
        self.best_score, self.best_step = ck["best_score"], ck["best_step"]
        self.best_state, self.history = ck["best_state"], ck["history"]
        self.seconds = ck["seconds"]
        # the log may have rows past the checkpoint (a crash between the two writes): keep the
        # checkpoint's history only
        self.log_path.write_text("".join(json.dumps(r) + "\n" for r in self.history))

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        images, t = self.maker.batch(step)
        x = torch.from_numpy(images)
        heat_t = torch.from_numpy(t["heat"])
        box_t = torch.from_numpy(t["box"])
        weight = torch.from_numpy(t["weight"])
        ignore = torch.from_numpy(t["ignore"])
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            heat, reg = self.net(x)
        heat, reg = heat.float(), reg.float()
        l_heat = focal_loss(heat, heat_t, ignore)
        l_box = box_loss(reg, box_t, weight, self.net.cfg.stride)
        loss = l_heat + cfg.giou_weight * l_box
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 10.0)
        self.optimizer.step()
        return {
            "loss": float(loss.detach()),
            "heat": float(l_heat.detach()),
            "box": float(l_box.detach()),
        }

    def fit(self) -> DetectorNet:
        from tqdm import tqdm

        cfg = self.cfg
        bar = tqdm(
            total=cfg.steps,
            initial=self.step,
            desc="training detector",
            disable=not self.progress,
            dynamic_ncols=True,
        )
        running: dict[str, float] = {}
        t0 = time.time() - self.seconds
        self.net.train()
        while self.step < cfg.steps:
            losses = self.train_step(self.step)
            running = {k: 0.98 * running.get(k, v) + 0.02 * v for k, v in losses.items()}
            self.step += 1
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()})
            if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                self.seconds = time.time() - t0
                self._checkpoint(running)
                self.net.train()
        bar.close()
        if self.best_state is not None:
            self.net.load_state_dict(self.best_state)
        return self.net.eval()

    def _checkpoint(self, running: dict[str, float]) -> None:
        """Evaluate, keep the best state, log a row, write the checkpoint."""
        self.net.eval()
        scores = self.evaluate(self.net) if self.evaluate is not None else {}
        score = float(scores.get("ap", self.step))  # without calibration frames: the last step
        if score >= self.best_score:
            self.best_score, self.best_step = score, self.step
            self.best_state = copy.deepcopy(
                {k: v.detach().clone() for k, v in self.net.state_dict().items()}
            )
        row = {
            "step": self.step,
            **{k: round(v, 5) for k, v in running.items()},
            "lr": lr_at(self.step - 1, self.cfg),
            **scores,
            "elapsed_s": round(self.seconds, 1),
        }
        self.history.append(row)
        with open(self.log_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self.progress:
            from tqdm import tqdm

            tqdm.write(" ".join(f"{k} {v}" for k, v in row.items()))
        self.save_checkpoint()


def predict_frames(
    net: DetectorNet, frames: list[np.ndarray], batch: int = 2
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The network's decoded output on full frames (already at the input size), with the numpy
    reference decoder: per frame (boxes K×4 normalised, scores K, labels K)."""
    from edgexai.core.detection.decode import decode

    cfg = net.cfg
    out = []
    with torch.no_grad():
        for i in range(0, len(frames), batch):
            x = torch.from_numpy(np.stack(frames[i : i + batch]))
            heat, reg = net(x)
            b, s, lab = decode(
                heat.numpy(), reg.numpy(), (cfg.input_h, cfg.input_w), cfg.stride, cfg.top_k
            )
            out.extend(zip(b, s, lab, strict=True))
    return out
