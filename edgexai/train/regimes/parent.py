"""The natural parent of a post/tuned build: reused from <out>/ when it fits, else built.

"Fits" means the same arch, seed, preset, input size, augmentation and data (dataset kind and
digest, test set or split, ROI crop, per-class limit, validation split): a parent trained on other
data, or by a preset whose augmentation has changed since, would make the child's comparison
meaningless, so it is refused with a message rather than silently reused.
The child's manifest names the parent by name and model sha256, and carries the parent's clean
and robust accuracy at the child's ε.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import MANIFEST_NAME, read_manifest, verify_file

if TYPE_CHECKING:
    from edgexai.train.build_options import BuildOptions
    from edgexai.train.data.augment import AugmentConfig
    from edgexai.train.data.datasets import FolderSource
    from edgexai.train.data.locate import DataSource
    from edgexai.train.presets import Preset


def parent_name(arch: str, seed: int) -> str:
    return f"{arch}-natural-s{seed}"


def _mismatch(
    manifest: dict[str, Any], opts: BuildOptions, arch: str, source: DataSource | FolderSource
) -> str | None:
    from edgexai.train.data.datasets import FolderSource, dataset_kind, roi_margin
    from edgexai.train.presets import build_input_size, get_preset

    data = manifest.get("data", {})
    folder = source if isinstance(source, FolderSource) else None
    checks = [
        ("regime", manifest.get("regime"), "natural"),
        ("arch", manifest.get("arch"), arch),
        ("seed", manifest.get("seed"), opts.seed),
        ("preset", manifest.get("preset"), opts.preset),
        ("input size", manifest.get("input_size"), build_input_size(get_preset(opts.preset), arch)),
        ("dataset", dataset_kind(manifest), "folder" if folder else "gtsrb"),
        ("data digest", data.get("digest"), source.digest),
        ("test data digest", data.get("test_digest"), folder and folder.test_digest),
        (
            "test fraction",
            (data.get("test_split") or {}).get("fraction"),
            folder.test_fraction if folder and folder.test is None else None,
        ),
        ("roi crop", data.get("roi_crop"), opts.roi),
        ("roi margin", data.get("roi_margin"), roi_margin(opts.roi)),
        ("limit per class", data.get("limit_per_class"), opts.limit_per_class),
        ("validation fraction", data.get("val_split", {}).get("fraction"), opts.val_fraction),
    ]
    checks.append(("augmentation", *_augmentation_change(manifest, get_preset(opts.preset))))
    for what, have, want in checks:
        if have != want:
            return f"{what} is {have!r}, this build needs {want!r}"
    return None


def _augmentation_change(manifest: dict[str, Any], preset: Preset) -> tuple[Any, Any]:
    """(recorded, wanted) for the augmentation settings that differ, both empty when none do: a
    preset's augmentation changed since the parent was trained (issue 19's cast shadow) would
    otherwise pass as the same recipe. Compared as JSON, as the manifest holds them."""
    from dataclasses import asdict

    def as_json(cfg: AugmentConfig) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(cfg)))

    if not preset.augment:
        return {}, {}
    recorded = ((manifest.get("train_config") or {}).get("augmentation")) or {}
    # a setting added since the parent was built (shadow) counts as its default, which is what
    # that build did
    have = {**as_json(type(preset.augmentation)()), **recorded}
    want = as_json(preset.augmentation)
    keys = [k for k in want if have.get(k) != want[k]]
    return {k: have.get(k) for k in keys}, {k: want[k] for k in keys}


def _parent_resume(opts: BuildOptions, folder: Path) -> str | None:
    """A child asked to --resume continues a parent build it left unfinished on the way (its
    checkpoint in the parent's staging folder); otherwise the parent starts afresh."""
    from edgexai.train.build_staging import CHECKPOINT_NAME, staging_path

    staged = staging_path(folder) / CHECKPOINT_NAME
    return "auto" if opts.resume and staged.is_file() else None


def find_or_build_parent(
    opts: BuildOptions,
    arch: str,
    source: DataSource | FolderSource,
    build: Callable[[BuildOptions], Any],
) -> Path:
    """The parent's build folder under opts.out, made first with `build` when absent (the build
    passes itself down, so this module never imports it). That build goes through the same
    staging folder, lock and swap as any other."""
    from edgexai.train.distributed import dist_env

    folder = Path(opts.out).expanduser() / parent_name(arch, opts.seed)
    if not (folder / MANIFEST_NAME).is_file():
        if folder.exists() and any(folder.iterdir()):
            raise EdgexaiError(
                f"the natural parent {folder} exists but has no manifest (an "
                "unfinished build?); finish it with --resume or remove it"
            )
        if dist_env().world > 1:
            raise EdgexaiError(
                f"no natural parent at {folder}; build it first (edgexai build "
                f"--regime natural --arch {arch} --seed {opts.seed} --out {opts.out})"
            )
        build(
            replace(
                opts,
                regime="natural",
                timing=None,
                name=None,
                resume=_parent_resume(opts, folder),
                force=False,
                epochs=opts.parent_epochs,
                lr=None,
            )
        )
    manifest = read_manifest(folder)
    problem = _mismatch(manifest, opts, arch, source)
    if problem:
        raise EdgexaiError(
            f"the natural parent {folder} does not fit this build ({problem}); "
            "use another --out or rebuild the parent there"
        )
    return folder


def load_parent(folder: Path):
    """The parent's model (digest verified before deserialising) and its manifest."""
    from edgexai.train.models.checkpoint import load_model

    manifest = read_manifest(folder)
    return load_model(verify_file(folder, manifest, "model"), classes=manifest["classes"]), manifest


def parent_robustness(
    folder: Path, manifest: dict[str, Any], model, test, mean, std, cfg, device
) -> dict:
    """The parent's robust accuracy at `cfg`: from its manifest when it used the same settings,
    else computed once and cached beside it (robustness-<key>.json, outside the manifest)."""
    from edgexai.train.attacks import robust_accuracy

    recorded = manifest.get("metrics", {}).get("robust")
    if isinstance(recorded, dict) and recorded.get("key") == cfg.key():
        return recorded
    cache = folder / f"robustness-{cfg.key()}.json"
    sha = manifest["files"]["model"]["sha256"]
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("model_sha256") == sha:
            return cached["result"]
    result = robust_accuracy(model, test.images, test.labels, mean, std, cfg, device)
    try:
        tmp = cache.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"model_sha256": sha, "result": result}, indent=2))
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only parent folder only costs recomputation next time
    return result


def parent_record(folder: Path, manifest: dict[str, Any], robust: dict | None) -> dict[str, Any]:
    """The manifest's `parent` entry."""
    metrics = manifest.get("metrics", {})
    return {
        "name": manifest["name"],
        "path": str(folder.resolve()),
        "model_sha256": manifest["files"]["model"]["sha256"],
        "regime": manifest["regime"],
        "params": manifest.get("params"),
        "macs": manifest.get("macs"),
        "test_accuracy": metrics.get("test_accuracy"),
        "robust_accuracy": None if robust is None else robust["robust_accuracy"],
    }
