"""`edgexai build`: data → model → regime → evaluation → build folder with a manifest.

One function per step so later steps (export, engines) slot in without touching the others.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.core.host import cpu_description
from edgexai.core.manifest import file_entry, git_revision, tool_versions, write_manifest
from edgexai.train.build_options import BuildOptions, build_name
from edgexai.train.presets import build_input_size, get_preset


def validate(opts: BuildOptions) -> BuildOptions:
    """Check the options before any data is read; returns them with the timing resolved."""
    from edgexai.train.regimes.regime_registry import get_regime

    opts = replace(opts, timing=get_regime(opts.regime).resolve_timing(opts.timing))
    for flag, value in (
        ("--epochs", opts.epochs),
        ("--batch-size", opts.batch_size),
        ("--limit-per-class", opts.limit_per_class),
        ("--parent-epochs", opts.parent_epochs),
        ("--robust-images", opts.robust_images),
        ("--robust-steps", opts.robust_steps),
    ):
        if value is not None and value < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {value})")
    if opts.lr is not None and not opts.lr > 0:
        raise EdgexaiError(f"--lr must be positive (got {opts.lr})")
    if not 0 <= opts.val_fraction < 1:
        raise EdgexaiError(f"--val-fraction must be in [0, 1) (got {opts.val_fraction})")
    _validate_dataset(opts)
    from edgexai.train.build_staging import check_name, check_out_folder

    if opts.name is not None:
        check_name(opts.name)  # one folder inside --out: never `..`, `.` or a path
    check_out_folder(Path(opts.out).expanduser())
    return replace(opts, roi=resolve_roi(opts))


def resolve_roi(opts: BuildOptions) -> bool:
    """--roi / --no-roi, else the preset's framing; always off for --dataset (no ROI boxes)."""
    if opts.roi is not None:
        return opts.roi
    return get_preset(opts.preset).roi and opts.dataset is None


def _validate_dataset(opts: BuildOptions) -> None:
    """The dataset flags agree with each other (GTSRB's own flags refused with --dataset)."""
    if opts.dataset is None:
        if opts.test_dataset is not None:
            raise EdgexaiError("--test-dataset needs --dataset (the GTSRB test set is official)")
        return
    if opts.roi:
        raise EdgexaiError("--roi crops to GTSRB's CSV boxes; it cannot be used with --dataset")
    if opts.test_dataset is None and not 0 < opts.test_fraction < 1:
        raise EdgexaiError(f"--test-fraction must be in (0, 1) (got {opts.test_fraction})")


def load_data(opts: BuildOptions, input_size: int, source=None):
    """(source, train, val, test), all decoded at the model's input size (`source`: the data
    already located by edgexai.train.data.datasets.locate, else located here). GTSRB: train/val by
    track, the official test set; --dataset: see edgexai.train.data.datasets."""
    from edgexai.train.data import datasets

    source = source if source is not None else datasets.locate(opts)
    return (source, *datasets.load_splits(opts, input_size, source))


def train_config(opts: BuildOptions, preset, fine_tune: bool):
    """The preset's training (or, for `tuned`, fine-tuning) settings, with the user's overrides."""
    from edgexai.train.regimes.train_loop import TrainConfig

    epochs = opts.epochs or (preset.finetune_epochs if fine_tune else preset.epochs)
    lr = opts.lr or (preset.finetune_lr if fine_tune else preset.lr)
    return TrainConfig(
        epochs=epochs,
        batch_size=opts.batch_size or preset.batch_size,
        lr=lr,
        weight_decay=preset.weight_decay,
        schedule=preset.schedule,
        augment=preset.augment,
        augmentation=preset.augmentation,
        select=preset.select,
        label_smoothing=preset.label_smoothing,
        seed=opts.seed,
        device=opts.device,
        precision=opts.train_precision,
    )


def robust_config(opts: BuildOptions):
    """PGD evaluation at the build's ε; the image subset is seeded independently of the build
    seed so every regime and seed is scored on the same images."""
    from edgexai.core.metrics.robustness import RobustEvalConfig

    return RobustEvalConfig(
        epsilon=opts.settings.epsilon, steps=opts.robust_steps, images=opts.robust_images, seed=0
    )


def evaluate_build(
    model, spec, val, test, result, opts: BuildOptions, device, parent_dir: Path | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Every regime's metrics (clean, robust, sparsity) and the manifest's parent entry, which
    carries the parent's robust accuracy at the same ε for comparison."""
    from edgexai.train.attacks import robust_accuracy
    from edgexai.train.evaluate import accuracy
    from edgexai.train.regimes import parent as parents
    from edgexai.train.regimes.weights import weight_sparsity

    test_acc = accuracy(model, test.images, test.labels, spec.mean, spec.std)
    val_acc = None  # no validation split (--val-fraction 0): nothing to report
    if len(val):
        val_acc = (
            result.best_val_accuracy
            if result is not None
            else accuracy(model, val.images, val.labels, spec.mean, spec.std)
        )
    robust = parent_robust = None
    parent_manifest = None
    if parent_dir is not None:
        parent_model, parent_manifest = parents.load_parent(parent_dir)
    if opts.robust:
        rcfg = robust_config(opts)
        robust = robust_accuracy(model, test.images, test.labels, spec.mean, spec.std, rcfg, device)
        model.cpu()
        if parent_manifest is not None:
            parent_robust = parents.parent_robustness(
                parent_dir, parent_manifest, parent_model, test, spec.mean, spec.std, rcfg, device
            )
    metrics = {
        "test_accuracy": round(test_acc, 6),
        "val_accuracy": None if val_acc is None else round(val_acc, 6),
        "best_epoch": result.best_epoch + 1 if result is not None else None,
        "robust_accuracy": robust["robust_accuracy"] if robust else None,
        "robust": robust,
        "weight_sparsity": weight_sparsity(model),
    }
    entry = (
        parents.parent_record(parent_dir, parent_manifest, parent_robust)
        if parent_manifest is not None
        else None
    )
    return metrics, entry


def run_build(opts: BuildOptions) -> Path:
    """Build one model; returns its build folder.

    Nothing is written before the options, the target folder, the data and the device are
    checked; the folder is then assembled in its staging folder under a lock and swapped in
    complete (edgexai.train.build_staging), by rank 0 alone under torchrun."""
    from contextlib import nullcontext

    from edgexai.train import build_staging as staging
    from edgexai.train.data.datasets import locate
    from edgexai.train.distributed import dist_env, resolve_device
    from edgexai.train.models import get_spec
    from edgexai.train.regimes.regime_registry import make_regime

    opts = validate(opts)
    regime = make_regime(opts.regime, opts.timing, opts.settings)
    regime.check()
    preset = get_preset(opts.preset)
    arch = opts.arch or preset.arch
    spec = get_spec(arch)
    name = build_name(opts, arch)
    final = staging.build_folder(opts.out, name)
    staging.check_target(final, opts.force, opts.resume)
    source = locate(opts)  # listed (and, for a folder, digested) before anything is written
    env = dist_env()
    resolve_device(opts.device, env)  # one line now, not after the data has loaded
    job = _Job(opts, regime, preset, arch, spec, build_input_size(preset, arch), name, source, env)
    with staging.BuildLock(final) if env.is_main else nullcontext():
        work = staging.stage(final, opts.resume) if env.is_main else staging.staging_path(final)
        try:
            complete = _build_into(job, work, staging.resume_from(opts.resume, final))
        except BaseException as exc:
            if env.is_main:
                staging.after_failure(work, exc)  # removed unless --resume can continue it
            raise
        if complete:
            staging.swap_in(work, final)
    return final


@dataclass
class _Job:
    """What `run_build` resolved before writing anything."""

    opts: BuildOptions
    regime: Any
    preset: Any
    arch: str
    spec: Any
    input_size: int  # presets.build_input_size: the one the manifest records
    name: str
    source: Any
    env: Any


def _build_into(job: _Job, out_dir: Path, resume: Path | None) -> bool:
    """Train, evaluate, export and write the manifest into `out_dir`; True on the rank that wrote
    a complete folder (the main one)."""
    import torch

    from edgexai.train.data.datasets import class_names
    from edgexai.train.distributed import resolve_device
    from edgexai.train.regimes import parent as parents
    from edgexai.train.regimes.train_loop import Trainer, seed_everything

    opts, regime, spec, env = job.opts, job.regime, job.spec, job.env
    t0 = time.time()
    _, train, val, test = load_data(opts, job.input_size, job.source)
    parent_dir = (
        parents.find_or_build_parent(opts, job.arch, job.source, run_build)
        if regime.from_parent
        else None
    )
    cfg = train_config(opts, job.preset, regime.fine_tunes) if regime.trains else None
    if env.world > 1:
        # the backend follows the resolved device, so `--device auto` on GPUs gets NCCL
        backend = "nccl" if resolve_device(opts.device, env).type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend)
    try:
        seed_everything(opts.seed)
        if parent_dir is not None:
            model, _ = parents.load_parent(parent_dir)
        else:
            model = spec.build(num_classes=len(class_names(job.source)))
        prepared = regime.prepare(model, job.arch, job.input_size)
        log = out_dir / "train_log.jsonl"
        result = None
        if cfg is not None:
            trainer = Trainer(
                model,
                job.arch,
                cfg,
                spec.mean,
                spec.std,
                out_dir,
                loss_fn=regime.loss_fn(spec.mean, spec.std, opts.seed),
                progress=opts.progress,
            )
            if resume is not None:
                trainer.resume(resume)
            elif log.exists():
                log.unlink()  # a fresh build starts a fresh log
            result = trainer.fit(train, val)
            if not env.is_main:
                return False
            model, device = trainer.model, trainer.device
        else:
            log.unlink(missing_ok=True)  # post: pruned and evaluated, never trained
            device = resolve_device(opts.device, env)
        model = regime.finalize(model.cpu().to(memory_format=torch.contiguous_format).eval())
        _finish(
            job, out_dir, model, prepared, cfg, result, (train, val, test), parent_dir, device, t0
        )
        return True
    finally:
        if env.world > 1:
            torch.distributed.destroy_process_group()


def _finish(
    job: _Job, out_dir: Path, model, prepared, cfg, result, splits, parent_dir, device, t0: float
) -> None:
    """Evaluate the final model and write model.pt, the ONNX files and the manifest."""
    import torch

    from edgexai.train.data.datasets import class_names, data_record
    from edgexai.train.export.calibration import training_calibration
    from edgexai.train.export.onnx_export import export_build
    from edgexai.train.export.precision import make_build_variants
    from edgexai.train.models.checkpoint import save_model
    from edgexai.train.models.complexity import count_macs, count_params

    opts, spec, arch, source = job.opts, job.spec, job.arch, job.source
    train, val, test = splits
    log = out_dir / "train_log.jsonl"
    t_eval = time.time()
    metrics, parent_entry = evaluate_build(model, spec, val, test, result, opts, device, parent_dir)
    t_eval = time.time() - t_eval
    model_path = out_dir / "model.pt"
    save_model(model, arch, model_path)
    files = {"model": file_entry(out_dir, model_path)}
    if log.exists():
        files["train_log"] = file_entry(out_dir, log)
    cpu, cpu_flags = cpu_description()  # which machine trained it (bf16 or not, and its speed)
    manifest: dict[str, Any] = {
        "kind": "classifier",
        "name": job.name,
        "regime": opts.regime,
        "timing": opts.timing,
        "arch": arch,
        "arch_description": spec.description,
        "widths": model.widths(),
        "input_size": job.input_size,
        "mean": list(spec.mean),
        "std": list(spec.std),
        "cam_layer": spec.cam_layer,
        "classes": class_names(source),
        "seed": opts.seed,
        "preset": opts.preset,
        "regime_params": job.regime.parameters(prepared),
        "train_config": asdict(cfg) if cfg is not None else None,
        "params": count_params(model),
        "macs": count_macs(model, job.input_size),
        "metrics": metrics,
        "data": data_record(source, opts, splits),
        "parent": parent_entry,
        "files": files,
        "timing_s": {
            "total": round(time.time() - t0, 1),
            "train": round(result.seconds, 1) if result is not None else 0.0,
            "evaluate": round(t_eval, 1),
        },
        "versions": tool_versions(),
        "git": git_revision(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {
            "cpu": cpu,
            "cpu_flags": cpu_flags,
            "cpus": os.cpu_count(),
            "device": str(device),
            "torch_threads": torch.get_num_threads(),
        },
    }
    export_build(model, job.input_size, out_dir, manifest)  # model.onnx + manifest["onnx"]
    # every variant is made here, on the training machine: a Jetson only builds engines
    calibration = training_calibration(train, spec.mean, spec.std, opts.seed)
    make_build_variants(out_dir, manifest, calibration)
    write_manifest(out_dir, manifest)
    (out_dir / "checkpoint.pt").unlink(missing_ok=True)  # model.pt now holds the result
