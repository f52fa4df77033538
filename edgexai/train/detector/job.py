"""`edgexai detector train`: frames + ground truth → a detector build folder.

Steps: split the frames (train / calibration / held-out, by position in name order), decode
them, gather paste material (GTSRB ROI crops where GTSRB is at hand, the training frames' own
signs), train with a checkpoint at every evaluation, export the decoded ONNX and its fp16 / int8
variants, score the held-out frames once with the exported graph (what the vehicle runs), and
write the manifest. The folder is assembled under `<out>/<name>.partial/` and moved into place
when complete, so a crash never leaves a half-written build where a finished one was.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.arg_types import (
    frame_mod,
    frame_range,
    non_negative_int,
    positive_float,
    positive_int,
)
from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import BUILDS_ROOT
from edgexai.core.options import opt
from edgexai.train.build_staging import swap_in
from edgexai.train.data.gtsdb_frames import CALIBRATION_MOD, DEVELOPMENT, HELDOUT
from edgexai.train.train_precision import cpu_has_bf16

MODEL_FORMAT = "edgexai-detector/1"
INT8_CALIBRATION_FRAMES = 16


def multiple_of_32(text: str) -> int:
    """A size the detector's four stride-2 stages divide (strides 4 to 32): 64, 96, 128, …"""
    v = positive_int(text)
    if v < 64 or v % 32:
        raise argparse.ArgumentTypeError(f"expected a multiple of 32, at least 64, got {text!r}")
    return v


@dataclass
class DetectorBuildOptions:
    """What `edgexai detector train` decides; each field is also its command-line option
    (edgexai.core.options), so the defaults and help live here once."""

    out: str = opt(BUILDS_ROOT, "parent folder of build folders")
    name: str | None = opt(None, "build folder name (default: detector-sSEED)")
    frames: str | None = opt(
        None, "frames + gt.txt (default: GTSDB from --data-root)", metavar="DIR"
    )
    data_root: str | None = opt(
        None, "folder holding gtsdb/ or gtsdb-dev.tar and GTSRB (default: $EDGEXAI_DATA)"
    )
    # The GTSDB splits of edgexai.train.data.gtsdb_frames: frame positions used for training …
    train: tuple[int, int] = opt(
        (DEVELOPMENT.start, DEVELOPMENT.stop),
        "frame positions to train on (minus the calibration frames)",
        type=frame_range,
        metavar="START:STOP",
    )
    # … except those ≡ R mod M (calibration)
    calibrate: tuple[int, int] | None = opt(
        CALIBRATION_MOD,
        "of the --train range, the frames at positions ≡ R mod M are kept out of training to "
        "select the checkpoint and calibrate thresholds (none: no selection, the last step is "
        "kept)",
        type=frame_mod,
        metavar="M:R",
    )
    heldout: tuple[int, int] | None = opt(
        (HELDOUT.start, HELDOUT.stop),
        "frame positions scored once at the end (never trained on)",
        type=frame_range,
        metavar="START:STOP",
    )
    synthetic: bool = opt(True, "no pasted GTSRB signs (then GTSRB is not needed)")
    steps: int = opt(14000, "training steps", type=positive_int)  # the shipped recipe
    batch: int = opt(16, "crops per step", type=positive_int)
    crop: int = opt(
        256, "training crop size (px; a multiple of 32, at least 64)", type=multiple_of_32
    )
    lr: float = opt(2e-3, "peak AdamW learning rate", type=positive_float)
    seed: int = opt(0, "seed for init and sample draws", type=non_negative_int)
    input_w: int = 1344  # --input-size WxH (the command parses the pair)
    input_h: int = 800
    eval_every: int = opt(1000, "steps between evaluations and checkpoints", type=positive_int)
    bf16: str = opt(
        "off",
        "bfloat16 autocast on CPU (auto: where the CPU has native bf16; off by default so a "
        "build trains the same on every machine)",
        choices=("auto", "on", "off"),
    )
    threads: int | None = opt(None, "torch threads", type=positive_int)
    resume: bool = opt(False, "continue an interrupted run of the same options")
    force: bool = opt(
        False, "replace an existing build of that name (once the new one is complete)"
    )
    progress: bool = opt(True, "no progress bar")


def _validate(o: DetectorBuildOptions) -> None:
    for flag, v in (("--steps", o.steps), ("--batch", o.batch), ("--eval-every", o.eval_every)):
        if v < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {v})")
    if o.crop < 64 or o.crop % 32:
        raise EdgexaiError(f"--crop must be a multiple of 32, at least 64 (got {o.crop})")
    if not o.lr > 0 or not np.isfinite(o.lr):
        raise EdgexaiError(f"--lr must be a positive number (got {o.lr})")
    if o.bf16 not in ("auto", "on", "off"):
        raise EdgexaiError("--bf16 is auto, on or off")
    for flag, r in (("--train", o.train), ("--heldout", o.heldout)):
        if r is not None and not 0 <= r[0] < r[1]:
            raise EdgexaiError(f"{flag} must be START:STOP with 0 ≤ START < STOP (got {r})")
    if o.calibrate is not None and not 0 <= o.calibrate[1] < o.calibrate[0]:
        raise EdgexaiError("--calibrate must be M:R with 0 ≤ R < M")
    if o.train and o.heldout and o.train[0] < o.heldout[1] and o.heldout[0] < o.train[1]:
        raise EdgexaiError(
            f"--train {o.train[0]}:{o.train[1]} and --heldout "
            f"{o.heldout[0]}:{o.heldout[1]} overlap: held-out frames must never "
            "be trained on"
        )


def _frames_source(o: DetectorBuildOptions) -> tuple[Path, str]:
    """The frame folder and how the manifest names it (no machine paths: gt_sha256 identifies
    the data)."""
    from edgexai.train.data.gtsdb_frames import locate_gtsdb

    if o.frames:
        folder = Path(o.frames).expanduser()
        if not (folder / "gt.txt").is_file():
            raise EdgexaiError(
                f"--frames {folder}: no gt.txt there (one line per sign: file;x1;y1;x2;y2;class)"
            )
        return folder, f"frames folder {folder.name}/"
    folder = locate_gtsdb(o.data_root)
    if folder is None:
        raise EdgexaiError(
            "no frames: pass --frames DIR (images + gt.txt) or --data-root / "
            "EDGEXAI_DATA holding gtsdb/ or gtsdb-dev.tar"
        )
    return folder, "GTSDB development frames"


def split_frames(files: list[Path], o: DetectorBuildOptions) -> dict[str, list[Path]]:
    """Frame positions → train / calibrate / heldout lists (positions in name order)."""
    lo, hi = o.train
    train = [f for i, f in enumerate(files) if lo <= i < hi]
    calib: list[Path] = []
    if o.calibrate is not None:
        m, r = o.calibrate
        calib = [f for i, f in enumerate(files) if lo <= i < hi and i % m == r]
        train = [f for f in train if f not in set(calib)]
    held = [f for i, f in enumerate(files) if o.heldout and o.heldout[0] <= i < o.heldout[1]]
    if not train:
        raise EdgexaiError(f"--train {lo}:{hi} selects no frame (the folder has {len(files)})")
    return {"train": train, "calibrate": calib, "heldout": held}


def _prepare_dirs(o: DetectorBuildOptions, name: str) -> tuple[Path, Path]:
    out = Path(o.out).expanduser()
    final, partial = out / name, out / f"{name}.partial"
    if final.exists() and not o.force:
        raise EdgexaiError(
            f"{final} already holds a build; pass --force to replace it (the old "
            "one stays until the new one is complete) or choose --name"
        )
    if partial.exists() and not o.resume:
        shutil.rmtree(partial)
    try:
        partial.mkdir(parents=True, exist_ok=True)
        (partial / ".write-test").write_text("ok")
        (partial / ".write-test").unlink()
    except OSError as exc:
        raise EdgexaiError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return final, partial


def save_detector(net, path: Path) -> None:
    """model.pt: config + state dict (torch.load(weights_only=True) reads it), atomically."""
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "format": MODEL_FORMAT,
            "config": net.cfg.to_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        },
        tmp,
    )
    os.replace(tmp, path)


def load_detector(path: Path):
    """The SignDetector stored by save_detector (after the caller verified its digest)."""
    from edgexai.train.detector.model import DetectorConfig, SignDetector
    from edgexai.train.models.checkpoint import read_weights_only

    payload = read_weights_only(path, MODEL_FORMAT, "detector file")
    net = SignDetector(DetectorConfig.from_dict(payload["config"]))
    net.load_state_dict(payload["state_dict"])
    return net.eval()


def calibration_frames(
    train, cfg, seed: int, n: int = INT8_CALIBRATION_FRAMES
) -> tuple[np.ndarray, dict[str, Any]]:
    """INT8 calibration input: a seeded draw of training frames at the detector's input size."""
    from edgexai.core.preprocess import resize_frame

    pick = np.sort(np.random.default_rng(seed).permutation(len(train))[:n])
    batch = np.stack([resize_frame(train.images[i], cfg.input_w, cfg.input_h) for i in pick])
    return batch, {
        "frames": [train.names[i] for i in pick],
        "seed": seed,
        "source": "training frames",
    }


def build_detector(o: DetectorBuildOptions) -> Path:
    """Train, export, score and write one detector build folder; returns it."""
    _validate(o)
    import torch

    from edgexai.core.digest import sha256_file
    from edgexai.core.manifest import file_entry, git_revision, tool_versions, write_manifest
    from edgexai.core.preprocess import resize_frame
    from edgexai.train.data.gtsdb_frames import frame_files, read_gt
    from edgexai.train.detector.data import (
        DataConfig,
        SampleMaker,
        gtsrb_patches,
        load_frames,
        real_sign_patches,
    )
    from edgexai.train.detector.detector_eval import onnx_outputs, score_frames
    from edgexai.train.detector.detector_training import (
        DetectorTrainer,
        TrainConfig,
        predict_frames,
    )
    from edgexai.train.detector.export import BACKBONE_OUTPUTS, export_detector
    from edgexai.train.detector.model import DetectorConfig, SignDetector, count_params
    from edgexai.train.export.onnx_export import describe_io
    from edgexai.train.export.precision import make_build_variants

    t0 = time.time()
    name = o.name or f"detector-s{o.seed}"
    final, work = _prepare_dirs(o, name)
    if o.threads:
        torch.set_num_threads(o.threads)
    folder, origin = _frames_source(o)
    gt = read_gt(folder)
    files = frame_files(folder)
    parts = split_frames(files, o)
    cfg = DetectorConfig(input_w=o.input_w, input_h=o.input_h).check()
    bf16 = o.bf16 == "on" or (o.bf16 == "auto" and cpu_has_bf16())
    tcfg = TrainConfig(steps=o.steps, lr=o.lr, eval_every=o.eval_every, seed=o.seed, bf16=bf16)
    dcfg = DataConfig(crop=o.crop, batch=o.batch)

    train = load_frames(parts["train"], gt, o.progress)
    bank_gtsrb, gtsrb_info = [], None
    if o.synthetic:
        from edgexai.train.data.locate import locate_gtsrb

        source = locate_gtsrb(o.data_root, download=False)
        bank_gtsrb = gtsrb_patches(source, dcfg.gtsrb_per_class, seed=0)
        # names, not this machine's paths: the manifest travels (the digests identify the data)
        gtsrb_info = {
            "origin": Path(source.origin).name,
            "digest": source.digest,
            "patches": len(bank_gtsrb),
            "per_class": dcfg.gtsrb_per_class,
        }
    bank_real = real_sign_patches(train)
    calib = load_frames(parts["calibrate"], gt, o.progress)
    calib_in = [resize_frame(f, cfg.input_w, cfg.input_h) for f in calib.images]
    calib_hw = [f.shape[:2] for f in calib.images]

    def evaluate(net) -> dict[str, Any]:
        if not calib_in:
            return {}
        res = score_frames(predict_frames(net, calib_in), calib.names, calib_hw, gt)
        return {
            "ap": res["ap"],
            "proposer_recall": res["proposer"]["recall"],
            "proposer_per_frame": res["proposer"]["per_frame"],
        }

    torch.manual_seed(o.seed)
    net = SignDetector(cfg)
    maker = SampleMaker(
        train, bank_gtsrb, bank_real, dcfg, (cfg.input_w, cfg.input_h), cfg.stride, o.seed
    )
    trainer = DetectorTrainer(net, maker, tcfg, work, evaluate, o.progress)
    if o.resume and trainer.checkpoint_path.is_file():
        trainer.resume(trainer.checkpoint_path)
    elif trainer.log_path.exists():
        trainer.log_path.unlink()
    net = trainer.fit()
    t_train = trainer.seconds

    save_detector(net, work / "model.pt")
    export_detector(net, work / "model.onnx")
    files_entry = {
        "model": file_entry(work, work / "model.pt"),
        "onnx": file_entry(work, work / "model.onnx"),
        "train_log": file_entry(work, trainer.log_path),
    }
    onnx_info = {
        **describe_io(work / "model.onnx"),
        "exporter": "torch.onnx (dynamo)",
        "backbone_outputs": list(BACKBONE_OUTPUTS),
        "variants": {"fp32": {"file_role": "onnx"}},
    }
    metrics: dict[str, Any] = {
        "best_step": trainer.best_step,
        "calibration": evaluate(net) if calib_in else None,
    }
    if parts["heldout"]:
        held = load_frames(parts["heldout"], gt, o.progress)
        outs = onnx_outputs(
            str(work / "model.onnx"),
            [resize_frame(f, cfg.input_w, cfg.input_h) for f in held.images],
            o.threads,
        )
        metrics["heldout"] = score_frames(outs, held.names, [f.shape[:2] for f in held.images], gt)
    manifest: dict[str, Any] = {
        "kind": "detector",
        "name": name,
        "seed": o.seed,
        "detector": cfg.to_dict(),
        "categories": list(cfg.categories),
        "decision": None,
        "params": count_params(net),
        "train_config": asdict(tcfg),
        "data_config": dcfg.to_dict(),
        "data": {
            "origin": origin,
            "gt_sha256": sha256_file(folder / "gt.txt"),
            "split": {
                "train": list(o.train),
                "calibrate_mod": list(o.calibrate or []),
                "heldout": list(o.heldout or []),
            },
            "counts": {
                k: {"frames": len(v), "signs": sum(len(gt.get(p.stem, [])) for p in v)}
                for k, v in parts.items()
            },
            "gtsrb": gtsrb_info,
            "real_patches": len(bank_real),
        },
        "metrics": metrics,
        "files": files_entry,
        "onnx": onnx_info,
        "timing_s": {"train": round(t_train, 1), "total": round(time.time() - t0, 1)},
        "versions": tool_versions(),
        "git": git_revision(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "bf16": bf16,
        },
    }
    make_build_variants(work, manifest, calibration_frames(train, cfg, o.seed))
    write_manifest(work, manifest)
    (work / "checkpoint.pt").unlink(missing_ok=True)
    swap_in(work, final)
    return final
