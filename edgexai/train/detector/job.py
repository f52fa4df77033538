"""`edgexai detector train`: frames + ground truth → a detector build folder.

Steps: split the frames (train / calibration / held-out, by position in name order), decode
them, gather paste material (GTSRB ROI crops where GTSRB is at hand, the training frames' own
signs), train with a checkpoint at every evaluation, export the decoded ONNX and its fp16 / int8
variants, score the held-out frames once with the exported graph (what the vehicle runs), and
write the manifest. The folder is assembled under `<out>/<name>.partial/` and moved into place
when complete, so a crash never leaves a half-written build where a finished one was.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.train.build_staging import after_failure, build_folder, swap_in
from edgexai.train.detector.detector_options import DetectorBuildOptions, validate_options
from edgexai.train.train_precision import cpu_has_bf16

MODEL_FORMAT = "edgexai-detector/1"
INT8_CALIBRATION_FRAMES = 16


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
    final = build_folder(o.out, name)  # one folder inside --out, never --out itself or beyond
    out, partial = final.parent, final.with_name(f"{name}.partial")
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
    """The DetectorNet stored by save_detector (after the caller verified its digest)."""
    from edgexai.train.detector.model import DetectorConfig, DetectorNet
    from edgexai.train.models.checkpoint import read_weights_only

    payload = read_weights_only(path, MODEL_FORMAT, "detector file")
    net = DetectorNet(DetectorConfig.from_dict(payload["config"]))
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


@dataclass
class _Material:
    """What training reads: the frames split by role and the sign patches pasted into them."""

    folder: Path
    origin: str
    gt: dict[str, list]
    parts: dict[str, list[Path]]
    train: Any = None  # FrameSet of the training frames
    calib: Any = None  # FrameSet of the calibration frames
    bank_gtsrb: list = field(default_factory=list)
    gtsrb_info: dict[str, Any] | None = None
    bank_real: list = field(default_factory=list)


def _split_source(o: DetectorBuildOptions) -> _Material:
    """The frame folder, its ground truth and its train / calibrate / held-out split."""
    from edgexai.train.data.gtsdb_frames import frame_files, read_gt

    folder, origin = _frames_source(o)
    gt = read_gt(folder)
    parts = split_frames(frame_files(folder), o)
    _check_ground_truth(o, folder, gt, parts)
    return _Material(folder, origin, gt, parts)


def _check_ground_truth(
    o: DetectorBuildOptions, folder: Path, gt: dict[str, list], parts: dict[str, list[Path]]
) -> None:
    """Refuse ground truth a detector cannot learn from (a detector trained on no sign finds
    nothing and scores AP nan), and say when --heldout leaves the build without a score."""
    from edgexai.train.data.gtsdb_frames import gt_without_frames

    missing = gt_without_frames(folder, gt)
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise EdgexaiError(
            f"{folder}/gt.txt names {len(missing)} frame(s) that are not in the folder ({shown})"
        )
    if not any(gt.get(f.stem) for f in parts["train"]):
        raise EdgexaiError(
            f"no training frame (--train {o.train[0]}:{o.train[1]}) has a sign in "
            f"{folder}/gt.txt; a detector needs ground-truth boxes to learn from"
        )
    if o.heldout and not parts["heldout"]:
        print(
            f"edgexai: note: --heldout {o.heldout[0]}:{o.heldout[1]} selects no frame of "
            f"{folder}: the build will have no held-out score",
            file=sys.stderr,
        )
    elif parts["heldout"] and not any(gt.get(f.stem) for f in parts["heldout"]):
        raise EdgexaiError(
            f"the held-out frames (--heldout {o.heldout[0]}:{o.heldout[1]}) hold no sign in "
            "gt.txt, so their AP is undefined; choose frames with signs, or leave --heldout out"
        )


def _gtsrb_bank(o: DetectorBuildOptions, dcfg) -> tuple[list, dict[str, Any] | None]:
    """GTSRB ROI crops to paste (with --synthetic), and how the manifest names them."""
    from edgexai.train.data.locate import locate_gtsrb
    from edgexai.train.detector.data import gtsrb_patches

    source = locate_gtsrb(o.data_root, download=False)
    bank = gtsrb_patches(source, dcfg.gtsrb_per_class, seed=0)
    # names, not this machine's paths: the manifest travels (the digests identify the data)
    info = {
        "origin": Path(source.origin).name,
        "digest": source.digest,
        "patches": len(bank),
        "per_class": dcfg.gtsrb_per_class,
    }
    return bank, info


def _load_material(o: DetectorBuildOptions, m: _Material, dcfg) -> None:
    """Decode the training and calibration frames and gather the paste material, in place."""
    from edgexai.train.detector.data import load_frames, real_sign_patches

    m.train = load_frames(m.parts["train"], m.gt, o.progress)
    if o.synthetic:
        m.bank_gtsrb, m.gtsrb_info = _gtsrb_bank(o, dcfg)
    m.bank_real = real_sign_patches(m.train)
    m.calib = load_frames(m.parts["calibrate"], m.gt, o.progress)


def _calibration_scorer(m: _Material, cfg) -> Callable[[Any], dict[str, Any]]:
    """The checkpoint selector: AP and finder recall on the calibration frames ({} without)."""
    from edgexai.core.preprocess import resize_frame
    from edgexai.train.detector.detector_eval import score_frames
    from edgexai.train.detector.detector_training import predict_frames

    calib_in = [resize_frame(f, cfg.input_w, cfg.input_h) for f in m.calib.images]
    calib_hw = [f.shape[:2] for f in m.calib.images]

    def evaluate(net) -> dict[str, Any]:
        if not calib_in:
            return {}
        res = score_frames(predict_frames(net, calib_in), m.calib.names, calib_hw, m.gt)
        return {
            "ap": res["ap"],
            "proposer_recall": res["proposer"]["recall"],
            "proposer_per_frame": res["proposer"]["per_frame"],
        }

    return evaluate


def _train(o: DetectorBuildOptions, m: _Material, cfg, tcfg, dcfg, work: Path, evaluate):
    """Seeded init, then training (resumed from the staging folder's checkpoint with --resume);
    returns the trainer and the selected network."""
    import torch

    from edgexai.train.detector.data import SampleMaker
    from edgexai.train.detector.detector_training import DetectorTrainer
    from edgexai.train.detector.model import DetectorNet

    torch.manual_seed(o.seed)
    net = DetectorNet(cfg)
    maker = SampleMaker(
        m.train, m.bank_gtsrb, m.bank_real, dcfg, (cfg.input_w, cfg.input_h), cfg.stride, o.seed
    )
    trainer = DetectorTrainer(net, maker, tcfg, work, evaluate, o.progress)
    if o.resume and trainer.checkpoint_path.is_file():
        trainer.resume(trainer.checkpoint_path)
    elif trainer.log_path.exists():
        trainer.log_path.unlink()
    return trainer, trainer.fit()


def _export(net, work: Path, log_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """model.pt and the decoded model.onnx; the manifest's `files` and `onnx` entries."""
    from edgexai.core.manifest import file_entry
    from edgexai.train.detector.export import BACKBONE_OUTPUTS, export_detector
    from edgexai.train.export.onnx_export import describe_io

    save_detector(net, work / "model.pt")
    export_detector(net, work / "model.onnx")
    files_entry = {
        "model": file_entry(work, work / "model.pt"),
        "onnx": file_entry(work, work / "model.onnx"),
        "train_log": file_entry(work, log_path),
    }
    onnx_info = {
        **describe_io(work / "model.onnx"),
        "exporter": "torch.onnx (dynamo)",
        "backbone_outputs": list(BACKBONE_OUTPUTS),
        "variants": {"fp32": {"file_role": "onnx"}},
    }
    return files_entry, onnx_info


def _score_heldout(o: DetectorBuildOptions, m: _Material, cfg, work: Path) -> dict[str, Any]:
    """The held-out frames scored once, through the exported graph (what the vehicle runs)."""
    from edgexai.core.preprocess import resize_frame
    from edgexai.train.detector.data import load_frames
    from edgexai.train.detector.detector_eval import onnx_outputs, score_frames

    held = load_frames(m.parts["heldout"], m.gt, o.progress)
    outs = onnx_outputs(
        str(work / "model.onnx"),
        [resize_frame(f, cfg.input_w, cfg.input_h) for f in held.images],
        o.threads,
    )
    return score_frames(outs, held.names, [f.shape[:2] for f in held.images], m.gt)


def _data_record(o: DetectorBuildOptions, m: _Material) -> dict[str, Any]:
    """The manifest's `data`: where the frames came from, how they were split, what was pasted."""
    from edgexai.core.digest import sha256_file

    return {
        "origin": m.origin,
        "gt_sha256": sha256_file(m.folder / "gt.txt"),
        "split": {
            "train": list(o.train),
            "calibrate_mod": list(o.calibrate or []),
            "heldout": list(o.heldout or []),
        },
        "counts": {
            k: {"frames": len(v), "signs": sum(len(m.gt.get(p.stem, [])) for p in v)}
            for k, v in m.parts.items()
        },
        "gtsrb": m.gtsrb_info,
        "real_patches": len(m.bank_real),
    }


def _host_record(bf16: bool) -> dict[str, Any]:
    """The manifest's `host`: what the training ran on (threads, CPU kernels, bf16)."""
    import torch

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "bf16": bf16,
    }


def build_detector(o: DetectorBuildOptions) -> Path:
    """Train, export, score and write one detector build folder; returns it. A failed build
    removes its staging folder unless --resume can continue its checkpoint (then it says so)."""
    validate_options(o)
    t0 = time.time()
    name = o.name or f"detector-s{o.seed}"
    final, work = _prepare_dirs(o, name)
    try:
        _build_into(o, name, work, t0)
    except BaseException as exc:
        after_failure(work, exc)
        raise
    swap_in(work, final)
    return final


def _build_into(o: DetectorBuildOptions, name: str, work: Path, t0: float) -> None:
    """Everything of the build folder, written into the staging folder `work`."""
    import torch

    from edgexai.core.manifest import git_revision, tool_versions, write_manifest
    from edgexai.train.detector.data import DataConfig
    from edgexai.train.detector.detector_training import TrainConfig
    from edgexai.train.detector.model import DetectorConfig, count_params
    from edgexai.train.export.precision import make_build_variants

    if o.threads:
        torch.set_num_threads(o.threads)
    material = _split_source(o)
    cfg = DetectorConfig(input_w=o.input_w, input_h=o.input_h).check()
    bf16 = o.bf16 == "on" or (o.bf16 == "auto" and cpu_has_bf16())
    tcfg = TrainConfig(steps=o.steps, lr=o.lr, eval_every=o.eval_every, seed=o.seed, bf16=bf16)
    dcfg = DataConfig(crop=o.crop, batch=o.batch)
    _load_material(o, material, dcfg)
    evaluate = _calibration_scorer(material, cfg)
    trainer, net = _train(o, material, cfg, tcfg, dcfg, work, evaluate)
    files_entry, onnx_info = _export(net, work, trainer.log_path)
    metrics: dict[str, Any] = {
        "best_step": trainer.best_step,
        "calibration": evaluate(net) if material.calib.images else None,
    }
    if material.parts["heldout"]:
        metrics["heldout"] = _score_heldout(o, material, cfg, work)
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
        "data": _data_record(o, material),
        "metrics": metrics,
        "files": files_entry,
        "onnx": onnx_info,
        "timing_s": {"train": round(trainer.seconds, 1), "total": round(time.time() - t0, 1)},
        "versions": tool_versions(),
        "git": git_revision(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": _host_record(bf16),
    }
    make_build_variants(work, manifest, calibration_frames(material.train, cfg, o.seed))
    write_manifest(work, manifest)
    (work / "checkpoint.pt").unlink(missing_ok=True)
