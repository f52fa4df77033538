"""The one training loop every regime uses.

Seeded and reproducible on CPU, mixed precision where the device has it natively (bf16 on
CPUs with AVX512-BF16/AMX, fp16 on CUDA), DistributedDataParallel under torchrun,
a checkpoint after every epoch (resumable), the best epoch on validation kept, and a progress bar.
Regimes change what one step optimises through `loss_fn`; nothing else forks.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from edgexai.core.errors import EdgexaiError
from edgexai.train.data.augment import AugmentConfig, augment_batch
from edgexai.train.data.gtsrb import ArraySplit
from edgexai.train.distributed import dist_env, resolve_device
from edgexai.train.evaluate import EVAL_BATCH, accuracy, normalise_tensor
from edgexai.train.train_precision import autocast_dtype, resolve_precision

CHECKPOINT_FORMAT = "edgexai-checkpoint/1"
# best_val: the epoch with the best validation accuracy; last: the final epoch, for a schedule that
# anneals to zero, where validation near 1.0 only tells noise apart (docs/RESULTS.md, issue 19).
SELECTIONS = ("best_val", "last")
LossFn = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class TrainConfig:
    """Optimisation settings; the manifest records them as they were used."""

    epochs: int
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    schedule: str = "onecycle"  # onecycle | cosine | constant
    warmup_fraction: float = 0.1
    augment: bool = True
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)  # its strength
    seed: int = 0
    device: str = "cpu"
    precision: str = "auto"  # edgexai.train.train_precision: auto | bf16 | fp32 (resolved when run)
    channels_last: bool = True
    eval_batch: int = EVAL_BATCH
    select: str = "best_val"  # which epoch's weights the build keeps: one of SELECTIONS


@dataclass
class TrainResult:
    best_epoch: int
    best_val_accuracy: float
    epochs_run: int
    seconds: float
    history: list[dict[str, Any]]


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Learning rate as a pure function of the step (so resuming needs no scheduler state)."""
    if cfg.schedule == "constant" or total <= 1:
        return cfg.lr
    t = step / (total - 1)
    if cfg.schedule == "cosine":
        return 0.5 * cfg.lr * (1 + math.cos(math.pi * t))
    if cfg.schedule == "onecycle":
        w = cfg.warmup_fraction
        if t < w:
            return cfg.lr * (0.1 + 0.9 * t / w)
        return 0.5 * cfg.lr * (1 + math.cos(math.pi * (t - w) / (1 - w)))
    raise EdgexaiError(f"unknown schedule {cfg.schedule!r}; choose onecycle, cosine or constant")


def cross_entropy_loss(label_smoothing: float = 0.0) -> LossFn:
    def loss_fn(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
        logits = model(x)
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing), logits

    return loss_fn


class Trainer:
    """Trains `model` on in-memory arrays; writes checkpoint.pt and train_log.jsonl to `out_dir`."""

    def __init__(
        self,
        model: torch.nn.Module,
        arch: str,
        cfg: TrainConfig,
        mean,
        std,
        out_dir: Path,
        loss_fn: LossFn | None = None,
        progress: bool = True,
    ) -> None:
        self.env = dist_env()
        self.cfg = cfg
        self.arch = arch
        self.mean, self.std = mean, std
        self.out_dir = out_dir
        self.device = resolve_device(cfg.device, self.env)
        if cfg.select not in SELECTIONS:
            raise EdgexaiError(f"unknown epoch selection {cfg.select!r}; choose {SELECTIONS}")
        cfg.precision = resolve_precision(cfg.precision, self.device.type)
        self.autocast = autocast_dtype(cfg.precision)
        self.use_amp = cfg.precision == "fp16"  # float16 needs the gradient scaler
        self.loss_fn = loss_fn or cross_entropy_loss(cfg.label_smoothing)
        self.progress = progress and self.env.is_main
        self.model = model.to(self.device)
        from edgexai.train.models.memory_format import channels_last_for

        self.channels_last = cfg.channels_last and channels_last_for(self.model, self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            nesterov=True,
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.start_epoch = 0
        self.best_val = -1.0
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        self.history: list[dict[str, Any]] = []
        self.checkpoint_path = out_dir / "checkpoint.pt"
        self.log_path = out_dir / "train_log.jsonl"

    # -- checkpoints -------------------------------------------------------------------------
    def _widths(self) -> Any:
        return self.model.widths() if hasattr(self.model, "widths") else None

    def save_checkpoint(self, epoch: int) -> None:
        if not self.env.is_main:
            return
        payload = {
            "format": CHECKPOINT_FORMAT,
            "arch": self.arch,
            "widths": self._widths(),
            "epoch": epoch,
            "config": asdict(self.cfg),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "generator": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "history": self.history,
        }
        tmp = self.checkpoint_path.with_suffix(".pt.tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.checkpoint_path)

    def resume(self, path: Path) -> None:
        """Continue from a checkpoint of the same arch and widths."""
        from edgexai.train.models.checkpoint import read_weights_only

        ck = read_weights_only(path, CHECKPOINT_FORMAT, "training checkpoint (--resume)")
        if ck["arch"] != self.arch or ck["widths"] != self._widths():
            raise EdgexaiError(
                f"--resume: {path} is a checkpoint of arch {ck['arch']!r}, "
                f"not {self.arch!r} (or of other widths); use a matching --arch "
                "or another --out"
            )
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scaler.load_state_dict(ck["scaler"])
        self.gen.set_state(ck["generator"])
        torch.set_rng_state(ck["torch_rng"])
        self.best_val, self.best_epoch = ck["best_val"], ck["best_epoch"]
        self.best_state, self.history = ck["best_state"], ck["history"]
        self.start_epoch = ck["epoch"] + 1

    # -- the loop ----------------------------------------------------------------------------
    def _per_rank(self, n: int) -> int:
        return n // self.env.world if self.env.world > 1 else n

    def _batches(self, n: int) -> list[torch.Tensor]:
        """This epoch's batches of indices (each rank its own equal share of one permutation)."""
        perm = torch.randperm(n, generator=self.gen)
        per_rank = self._per_rank(n)
        perm = perm[self.env.rank * per_rank : (self.env.rank + 1) * per_rank]
        bs = self.cfg.batch_size
        return [perm[i : i + bs] for i in range(0, len(perm), bs)]

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float().div_(255)
        if self.cfg.augment:
            x = augment_batch(x, self.cfg.augmentation, self.gen)
        x = normalise_tensor(x, self.mean, self.std).to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def fit(self, train: ArraySplit, val: ArraySplit | None) -> TrainResult:
        from tqdm import tqdm

        cfg = self.cfg
        net = self.model
        if self.env.world > 1:
            net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        images = torch.from_numpy(train.images)
        labels = torch.from_numpy(train.labels)
        steps_per_epoch = math.ceil(self._per_rank(len(train)) / cfg.batch_size)
        if steps_per_epoch == 0:
            raise EdgexaiError("no training images (check --limit-per-class and the data)")
        total = steps_per_epoch * cfg.epochs
        t0 = time.time()
        for epoch in range(self.start_epoch, cfg.epochs):
            net.train()
            batches = self._batches(len(train))
            bar = tqdm(
                batches,
                desc=f"epoch {epoch + 1}/{cfg.epochs}",
                disable=not self.progress,
                leave=False,
                dynamic_ncols=True,
            )
            loss_sum, correct, seen = 0.0, 0, 0
            for i, idx in enumerate(bar):
                lr = lr_at(epoch * steps_per_epoch + i, total, cfg)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                x = self._prepare(images[idx])
                y = labels[idx].to(self.device, non_blocking=True)
                with torch.autocast(
                    self.device.type, dtype=self.autocast, enabled=self.autocast is not None
                ):
                    loss, logits = self.loss_fn(net, x, y)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                loss_sum += float(loss.detach()) * len(idx)
                correct += int((logits.detach().argmax(1) == y).sum())
                seen += len(idx)
                bar.set_postfix(
                    loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", lr=f"{lr:.3g}"
                )
            self._end_epoch(epoch, val, loss_sum / seen, correct / seen, lr, time.time() - t0)
        if self.env.world > 1:
            torch.distributed.barrier()
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return TrainResult(
            self.best_epoch, self.best_val, cfg.epochs, time.time() - t0, self.history
        )

    def _end_epoch(
        self, epoch: int, val: ArraySplit | None, loss: float, acc: float, lr: float, elapsed: float
    ) -> None:
        if not self.env.is_main:
            return
        val_acc = float("nan")
        if val is not None and len(val):
            val_acc = accuracy(
                self.model,
                val.images,
                val.labels,
                self.mean,
                self.std,
                self.cfg.eval_batch,
                self.device,
            )
        # Selection on validation (or the last epoch: cfg.select; also without a validation set).
        score = val_acc if not math.isnan(val_acc) else float(epoch)
        if score >= self.best_val or self.cfg.select == "last":
            self.best_val, self.best_epoch = score, epoch
            self.best_state = copy.deepcopy(
                {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
            )
        row = {
            "epoch": epoch + 1,
            "train_loss": round(loss, 5),
            "train_accuracy": round(acc, 5),
            "val_accuracy": None if math.isnan(val_acc) else round(val_acc, 5),
            "lr": lr,
            "elapsed_s": round(elapsed, 1),
        }
        self.history.append(row)
        with open(self.log_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self.progress:
            from tqdm import tqdm

            tqdm.write(
                f"epoch {epoch + 1}/{self.cfg.epochs}  loss {loss:.4f}  train acc {acc:.4f}"
                f"  val acc {val_acc:.4f}  ({elapsed:.0f} s)"
            )
        self.save_checkpoint(epoch)


def seed_everything(seed: int) -> None:
    """Seed torch and numpy; deterministic algorithms where torch has them (warn elsewhere)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
