"""`edgexai.explain`: saliency maps and their metrics for your own images, from Python.

Training side (torch, the build's model.pt): the images get the build's own resize
(`preprocess.resize_square`), then `edgexai.study.explain_item.explain_model` — the code behind
`edgexai explain` — makes the maps and scores them, so the numbers are those the command would
give for these images, seed and settings.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.api.classifier import as_image_list, resized
from edgexai.core.errors import EdgexaiError
from edgexai.study.explain_options import DEFAULT_METHODS, ROAD_PERCENTAGES, ExplainOptions


@dataclass
class Explanation:
    """What `explain` gives; every per-image array follows `index` (the images explained).

    - `index`: positions in the `images` given (all of them with targets="all"; the correctly
      classified ones with targets="correct"), `labels` their labels (the maps' targets);
    - `predicted`: the model's class for every image given (length = len(images));
    - `maps[method]`: len(index)×S×S saliency maps at the model's input size S;
    - `gini[method]`: Gini per image; `gini_mean[method]` their mean;
    - `road[method]`: an `edgexai.core.metrics.road.ROADResult` — `percentages`,
      `accuracy`/`probability[order]` (means per percentage), `summary[order]` (mean, area),
      `per_image_correct`/`per_image_probability[order]` (len(index) × n_percentages);
      empty with road=False;
    - `result`: the method entries and settings as `edgexai explain` writes them in
      metrics.json (summary numbers, the per_image block, seconds).
    """

    index: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    maps: dict[str, np.ndarray]
    gini: dict[str, np.ndarray]
    road: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def gini_mean(self) -> dict[str, float]:
        return {m: float(np.mean(g)) if len(g) else float("nan") for m, g in self.gini.items()}

    def __repr__(self) -> str:
        return (
            f"Explanation(images={len(self.index)}, methods={list(self.maps)}, "
            f"gini_mean={ {m: round(v, 4) for m, v in self.gini_mean.items()} })"
        )


def _labels(labels: Any, n: int, n_classes: int) -> np.ndarray:
    """Class ids as int64; a fraction, NaN, bool or text is refused rather than truncated."""
    bad = "labels must be integer class ids, one per image"
    try:
        raw = np.asarray(labels).reshape(-1)
    except (TypeError, ValueError):
        raise EdgexaiError(bad) from None
    if raw.dtype.kind == "f":
        whole = np.isfinite(raw) & (raw == np.round(raw))
        if not whole.all():
            raise EdgexaiError(f"{bad}; got {raw[~whole][0]!r}")
    elif raw.dtype.kind not in "iu" and len(raw):
        raise EdgexaiError(f"{bad}; got {raw.dtype.name} values such as {raw[0]!r}")
    out = raw.astype(np.int64)
    if len(out) != n:
        raise EdgexaiError(f"got {len(out)} labels for {n} images; give one class id per image")
    if len(out) and (out.min() < 0 or out.max() >= n_classes):
        raise EdgexaiError(f"labels must be class ids 0…{n_classes - 1} of this build")
    return out


def explain(
    build_dir: str | Path,
    images: Any,
    labels: Any,
    methods: Sequence[str] = DEFAULT_METHODS,
    *,
    channels: str = "rgb",
    targets: str = "all",
    seed: int = 0,
    road: bool = True,
    percentages: Sequence[float] | None = None,
    orders: Sequence[str] = ("morf", "lerf"),
    noise_std: float = 0.01,
    ig_steps: int = 50,
    sg_samples: int = 25,
    workers: int = 0,
    device: str = "cpu",
    progress: bool = False,
) -> Explanation:
    """Maps (per method) and their Gini and ROAD MoRF/LeRF values for `images` (as for
    `Classifier.predict`: H×W×3 uint8 of any size, RGB or channels="bgr") with true `labels`.

    targets="all" explains every image for its label; "correct" (the paper's protocol, and
    `edgexai explain`'s default) only those the model classifies right. `workers` ROAD
    imputation processes (0: in this process). For a CAM-less build the default methods leave
    Grad-CAM out (with a warning); naming it is refused. See `Explanation` for what comes back.
    """
    from dataclasses import replace

    from edgexai.study.explain_item import explain_model
    from edgexai.study.explain_validation import validate
    from edgexai.train.saliency.explainers import usable_methods

    crops_rgb = as_image_list(images, channels)
    if isinstance(methods, str):  # "vg" or "vg,gradcam", as on the command line
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    opts = ExplainOptions(
        models=[str(build_dir)],
        methods=tuple(methods),
        limit=None,
        seed=seed,
        targets=targets,
        percentages=tuple(ROAD_PERCENTAGES if percentages is None else percentages),
        orders=tuple(orders),
        road=road,
        noise_std=noise_std,
        deletion_steps=0,
        ig_steps=ig_steps,
        sg_samples=sg_samples,
        workers=workers,
        device=device,
        update_manifest=False,
        progress=progress,
    )
    validate(opts)
    item = _load(build_dir)
    m = item.manifest
    kept, notes = usable_methods(opts.methods, [m], opts.methods != tuple(DEFAULT_METHODS))
    for note in notes:
        warnings.warn(note, stacklevel=2)
    opts = replace(opts, methods=kept)
    x = resized(crops_rgb, int(m["input_size"]))
    y = _labels(labels, len(x), len(m["classes"]))
    explain_model(item, x, y, np.arange(len(x)), opts)
    assert item.index is not None
    return Explanation(
        index=item.index,
        labels=y[item.index],
        predicted=np.asarray(item.predicted),
        maps=dict(item.maps),
        gini=dict(item.gini),
        road=dict(item.road),
        result=item.result,
    )


def _load(build_dir: str | Path) -> Any:
    """The build's PyTorch model (explanations need gradients: model.pt, not an ONNX file)."""
    from edgexai.core.manifest import read_manifest
    from edgexai.study.explain_item import ExplainItem

    path = Path(build_dir).expanduser()
    manifest = read_manifest(path)
    if manifest.get("kind") != "classifier":
        raise EdgexaiError(f"{path} is a {manifest.get('kind')} build; explain takes a classifier")
    if "model" not in (manifest.get("files") or {}):
        raise EdgexaiError(
            f"{path} has no model.pt (an inference-only copy?); explanations need the build "
            "folder `edgexai build` made, with its PyTorch model"
        )
    return ExplainItem.load(path)
