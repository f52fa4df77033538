"""Which arithmetic training runs in: bfloat16 autocast where the processor does bf16 natively.

Why automatic: on a CPU with AVX512-BF16 or AMX, oneDNN runs ResNet-20's convolutions in bf16
about 1.7x faster than float32 (docs/RESULTS.md, issue 19); without them bf16 is emulated and
slower than float32, so the choice depends on the machine and is recorded in the manifest
(`train_config.precision`). On CUDA training keeps float16 autocast with a gradient scaler.
"""

from __future__ import annotations

TRAIN_PRECISIONS = ("auto", "bf16", "fp32")  # what a user may ask for
USED_PRECISIONS = ("bf16", "fp16", "fp32")  # what a build records


def cpu_has_bf16() -> bool:
    """Native bfloat16 arithmetic (AVX512-BF16 or AMX) on this CPU, as torch reports it."""
    import torch

    cpu = getattr(torch, "cpu", None)
    checks = [
        getattr(cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    ]
    if all(callable(c) for c in checks):
        return any(c() for c in checks)
    # Older torch: its capability report plus the kernel's flags.
    from edgexai.core.host import cpu_description

    flags = cpu_description()[1]
    caps = torch.backends.cpu.get_cpu_capability()
    return "AVX512" in caps and ("avx512_bf16" in flags or "amx_bf16" in flags)


def resolve_precision(requested: str, device_type: str) -> str:
    """The precision a run on `device_type` uses when `requested` (one of TRAIN_PRECISIONS)."""
    if requested not in TRAIN_PRECISIONS:
        from edgexai.core.errors import EdgexaiError

        raise EdgexaiError(
            f"unknown training precision {requested!r}; choose {', '.join(TRAIN_PRECISIONS)}"
        )
    if device_type == "cuda":
        return "fp32" if requested == "fp32" else "fp16"
    if requested == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    return requested


def autocast_dtype(precision: str):
    """torch dtype for torch.autocast, or None for plain float32."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
