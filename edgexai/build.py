"""`edgexai build`: data → model → regime → evaluation → build folder with a manifest.

One function per step so later steps (export, engines) slot in without touching the others.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgexai.errors import EdgexaiError
from edgexai.manifest import file_entry, git_revision, tool_versions, write_manifest
from edgexai.presets import get_preset


@dataclass
class BuildOptions:
    regime: str = "natural"
    timing: str | None = None
    arch: str | None = None
    preset: str = "cpu"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    data_root: str | None = None
    out: str = "engines"
    device: str = "auto"
    limit_per_class: int | None = None
    roi: bool = False
    val_fraction: float = 0.1
    resume: str | None = None  # "auto" = <out>/<name>/checkpoint.pt
    name: str | None = None
    progress: bool = True


def build_name(opts: BuildOptions, arch: str) -> str:
    parts = [arch, opts.regime] + ([opts.timing] if opts.timing else []) + [f"s{opts.seed}"]
    return opts.name or "-".join(parts)


def prepare_out_dir(out: str, name: str) -> Path:
    """Create <out>/<name>/ and prove it is writable before hours of training, not after."""
    path = Path(out).expanduser() / name
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise EdgexaiError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return path


def validate(opts: BuildOptions) -> None:
    from edgexai.regimes import REGIMES, TIMINGS, check_available

    if opts.regime not in REGIMES:
        raise EdgexaiError(f"unknown regime {opts.regime!r}; choose one of: {', '.join(REGIMES)}")
    if opts.timing is not None and opts.timing not in TIMINGS:
        raise EdgexaiError(f"unknown timing {opts.timing!r}; choose one of: {', '.join(TIMINGS)}")
    check_available(opts.regime)
    for flag, value in (("--epochs", opts.epochs), ("--batch-size", opts.batch_size),
                        ("--limit-per-class", opts.limit_per_class)):
        if value is not None and value < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {value})")
    if opts.lr is not None and not opts.lr > 0:
        raise EdgexaiError(f"--lr must be positive (got {opts.lr})")
    if not 0 <= opts.val_fraction < 1:
        raise EdgexaiError(f"--val-fraction must be in [0, 1) (got {opts.val_fraction})")


def load_data(opts: BuildOptions, input_size: int):
    """Train/val by track, official test; all decoded at the model's input size."""
    from edgexai.data.gtsrb import load_split
    from edgexai.data.locate import locate_gtsrb
    from edgexai.data.split import limit_per_class, split_by_track

    source = locate_gtsrb(opts.data_root)
    full = load_split(source, "train", input_size, opts.roi, opts.progress)
    train, val = split_by_track(full, opts.val_fraction, seed=0)
    train = limit_per_class(train, opts.limit_per_class, seed=0)
    val = limit_per_class(val, opts.limit_per_class, seed=0)
    test = limit_per_class(load_split(source, "test", input_size, opts.roi, opts.progress),
                           opts.limit_per_class, seed=0)
    return source, train, val, test


def run_build(opts: BuildOptions) -> Path:
    """Build one model; returns its build folder."""
    validate(opts)
    preset = get_preset(opts.preset)
    from edgexai.models import get_spec

    arch = opts.arch or preset.arch
    spec = get_spec(arch)
    name = build_name(opts, arch)
    out_dir = prepare_out_dir(opts.out, name)

    import torch

    from edgexai.data.classes import GTSRB_CLASSES
    from edgexai.evaluate import accuracy
    from edgexai.models.checkpoint import save_model
    from edgexai.models.complexity import count_macs, count_params
    from edgexai.regimes.train import TrainConfig, Trainer, dist_env, seed_everything

    t0 = time.time()
    source, train, val, test = load_data(opts, spec.input_size)
    cfg = TrainConfig(epochs=opts.epochs or preset.epochs, batch_size=opts.batch_size or preset.batch_size,
                      lr=opts.lr or preset.lr, weight_decay=preset.weight_decay,
                      schedule=preset.schedule, augment=preset.augment,
                      label_smoothing=preset.label_smoothing, seed=opts.seed, device=opts.device)
    env = dist_env()
    if env.world > 1:
        backend = "nccl" if opts.device.startswith("cuda") else "gloo"
        torch.distributed.init_process_group(backend)
    try:
        seed_everything(opts.seed)
        model = spec.build()
        log = out_dir / "train_log.jsonl"
        trainer = Trainer(model, arch, cfg, spec.mean, spec.std, out_dir, progress=opts.progress)
        if opts.resume:
            trainer.resume(out_dir / "checkpoint.pt" if opts.resume == "auto" else Path(opts.resume))
        elif log.exists():
            log.unlink()  # a fresh build starts a fresh log
        result = trainer.fit(train, val)
        if not env.is_main:
            return out_dir
        model = trainer.model.cpu().to(memory_format=torch.contiguous_format).eval()
        test_acc = accuracy(model, test.images, test.labels, spec.mean, spec.std)
        model_path = out_dir / "model.pt"
        save_model(model, arch, model_path)
        manifest: dict[str, Any] = {
            "name": name, "regime": opts.regime, "timing": opts.timing, "arch": arch,
            "arch_description": spec.description, "widths": model.widths(),
            "input_size": spec.input_size, "mean": list(spec.mean), "std": list(spec.std),
            "cam_layer": spec.cam_layer, "classes": list(GTSRB_CLASSES), "seed": opts.seed,
            "preset": opts.preset, "train_config": asdict(cfg),
            "params": count_params(model), "macs": count_macs(model, spec.input_size),
            "metrics": {"test_accuracy": round(test_acc, 6),
                        "val_accuracy": round(result.best_val_accuracy, 6),
                        "best_epoch": result.best_epoch + 1},
            "data": {"origin": source.origin, "digest": source.digest, "roi_crop": opts.roi,
                     "val_split": {"by": "track", "fraction": opts.val_fraction, "seed": 0},
                     "limit_per_class": opts.limit_per_class, "train_images": len(train),
                     "val_images": len(val), "test_images": len(test)},
            "parent": None,
            "files": {"model": file_entry(out_dir, model_path), "train_log": file_entry(out_dir, log)},
            "timing_s": {"total": round(time.time() - t0, 1), "train": round(result.seconds, 1)},
            "versions": tool_versions(), "git": git_revision(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "host": {"cpus": os.cpu_count(), "device": str(trainer.device),
                     "torch_threads": torch.get_num_threads()},
        }
        write_manifest(out_dir, manifest)
        (out_dir / "checkpoint.pt").unlink(missing_ok=True)  # model.pt now holds the result
        return out_dir
    finally:
        if env.world > 1:
            torch.distributed.destroy_process_group()
