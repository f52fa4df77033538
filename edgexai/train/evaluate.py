"""Batched inference over decoded arrays: logits and accuracy, the same way for every regime."""

from __future__ import annotations

import numpy as np
import torch

from edgexai.train.models.memory_format import channels_last_while

# Images per forward pass: on 2 CPU cores ResNet-20 at 40 px runs 1.3-2x faster per image in
# batches of 64 than of 512 (activations that fit the cache; benchmarks/bench_eval.py).
EVAL_BATCH = 64


def to_input(
    images: np.ndarray | torch.Tensor,
    mean,
    std,
    device: str | torch.device = "cpu",
    channels_last: bool = False,
) -> torch.Tensor:
    """N×H×W×3 uint8 → normalised N×3×H×W float tensor on `device`."""
    x = torch.as_tensor(images).to(device).permute(0, 3, 1, 2).float().div_(255)
    x = normalise_tensor(x, mean, std)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def normalise_tensor(x: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module,
    images: np.ndarray,
    mean,
    std,
    batch_size: int = EVAL_BATCH,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Logits for every image, in eval mode, batched, channels-last where that is safe."""
    was_training = model.training
    model.eval()
    out = []
    with channels_last_while(model, device) as cl:
        for i in range(0, len(images), batch_size):
            x = to_input(images[i : i + batch_size], mean, std, device, channels_last=cl)
            out.append(model(x).float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def accuracy(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    mean,
    std,
    batch_size: int = EVAL_BATCH,
    device: str | torch.device = "cpu",
) -> float:
    """Top-1 accuracy in [0, 1]."""
    if len(labels) == 0:
        return float("nan")
    logits = predict_logits(model, images, mean, std, batch_size, device)
    return float((logits.argmax(1) == labels).mean())
