"""Which process of a torchrun job this is, read from torchrun's environment.

Stdlib only, so the trainer, the build and the explainer share it without importing each other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(device: str, env: DistEnv):
    """The torch.device a job runs on (auto: CUDA where available); one line when CUDA is asked
    for and absent. torch is imported here, not at module level."""
    import torch

    from edgexai.core.errors import EdgexaiError

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EdgexaiError(
                "--device cuda was asked for but no CUDA device is available; use --device cpu"
            )
        if env.world > 1:
            return torch.device("cuda", env.local_rank)
        index = device.partition(":")[2]
        if index and int(index) >= torch.cuda.device_count():
            raise EdgexaiError(
                f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    try:
        return torch.device(device)
    except RuntimeError:
        raise EdgexaiError(
            f"--device {device!r}: not a device torch knows (auto, cpu, cuda, cuda:N)"
        ) from None


def dist_env() -> DistEnv:
    """Rank and world size from torchrun's environment (single process when absent)."""
    return DistEnv(
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )
