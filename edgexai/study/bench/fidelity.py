"""CAM fidelity: is the explanation an engine shows on the device the one the study measured?

For every build with an in-graph CAM and every ort/trt session of the run (each precision), the
session's `cam` output is compared, image by image, with the fp32 PyTorch Grad-CAM of the build's
model.pt — captum's LayerGradCam, ReLU'd and bilinearly upsampled, as the explanation metrics
compute it — on the first `--fidelity-images` images the explanation metrics used.

Target class: the one the device shows. The graph explains its own predicted class (ArgMax), so
the reference is computed for the class that session predicted, image by image; both sides then
explain the same class, and `class_agreement` says how often that class is fp32 PyTorch's.

Figures per session: Pearson and Spearman correlation and the IoU of the top-20 % pixels, each
per image then averaged (Pearson also its minimum); and ROAD MoRF (mean over the bench's
percentages, the same imputation noise and tie-break seeds) of the deployed maps and of the
reference maps, both scored by the fp32 PyTorch model for that same target.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from edgexai.core.manifest import has_cam
from edgexai.core.metrics.agreement import pearson, spearman, top_fraction_iou

if TYPE_CHECKING:
    from edgexai.study.bench.bench_options import BenchOptions
    from edgexai.study.bench.select import BenchModel

FIDELITY_BACKENDS = ("ort", "trt")  # the deployed engines; torch is the reference itself
TOP_FRACTION = 0.2
NO_CAM = "no in-graph CAM"
INFER_BATCH = 32  # within TensorRT's classifier profile

OpenSessions = Callable[[list, Any, list], dict]


def row(model: BenchModel, backend: str | None, precision: str | None, **figures: Any) -> dict:
    """One entry of results.json's cam_fidelity; figures absent (a skipped build) are None."""
    keys = (
        "n_images",
        "class_agreement",
        "pearson_mean",
        "pearson_min",
        "spearman_mean",
        "iou_top20_mean",
        "morf_deployed",
        "morf_reference",
    )
    out: dict[str, Any] = {
        "cell": model.cell,
        "model": model.name,
        "seed": model.seed,
        "backend": backend,
        "precision": precision,
    }
    out.update({k: figures.get(k) for k in keys})
    out["note"] = figures.get("note")
    return out


def measure_fidelity(
    models: list[BenchModel],
    draw: Any,
    ids_by_model: dict[str, np.ndarray],
    opts: BenchOptions,
    open_sessions: OpenSessions,
) -> list[dict[str, Any]]:
    """cam_fidelity rows for every model × deployed (backend, precision) of the run.

    `draw` is the bench's TestDraw, `ids_by_model` the test indices each model explained, and
    `open_sessions` the bench's own session opener (so variants are made and options set the
    way the timed sessions get them).
    """
    from tqdm import tqdm

    backends = tuple(b for b in opts.backends if b in FIDELITY_BACKENDS)
    if opts.fidelity_images <= 0 or not backends:
        return []
    rows: list[dict[str, Any]] = []
    for model in tqdm(models, desc="CAM fidelity", disable=not opts.progress):
        if not has_cam(model.manifest):
            rows.append(row(model, None, None, n_images=0, note=NO_CAM))
            continue
        ids = np.asarray(ids_by_model[model.name])[: opts.fidelity_images]
        if not len(ids):
            rows.append(row(model, None, None, n_images=0, note="no explained image"))
            continue
        scratch: list[str] = []  # the bench already noted what it skipped
        sessions = open_sessions([model], replace(opts, backends=backends), scratch)
        try:
            rows += model_fidelity(model, draw.test.images[ids], ids, sessions, opts)
        finally:
            for s in sessions.values():
                s.close()
    return rows


def deployed_maps(session, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted classes N, cam N×H×W) of one session on normalised images."""
    preds, cams = [], []
    for s in range(0, len(x), INFER_BATCH):
        logits, cam = session.infer(np.ascontiguousarray(x[s : s + INFER_BATCH]))
        preds.append(np.asarray(logits).argmax(1))
        cams.append(np.asarray(cam, np.float32))
    return np.concatenate(preds), np.concatenate(cams)


class Reference:
    """fp32 PyTorch Grad-CAM of one build (the explanation metrics' path), per (image, class),
    computed once for each pair a session asks for; and its classifier for ROAD."""

    def __init__(self, model_dir, x: np.ndarray) -> None:
        from edgexai.train.build_folder import load_build
        from edgexai.train.saliency.explainers import ExplainConfig, fused_copy

        build = load_build(model_dir)  # verifies model.pt's digest
        m = build.manifest
        self.model = build.model.cpu().eval()
        self.fast = fused_copy(self.model)
        self.cfg = ExplainConfig(cam_layer=m.get("cam_layer"), std=tuple(m["std"]))
        self.x = x
        self.maps: dict[tuple[int, int], np.ndarray] = {}
        self.pred = self.predict(x).argmax(1)  # fp32 PyTorch's classes, for class_agreement

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """fp32 logits (BN folded: the same function, faster), the ROAD classifier."""
        import torch

        out = []
        with torch.inference_mode():
            for s in range(0, len(batch), 512):
                xb = torch.from_numpy(np.ascontiguousarray(batch[s : s + 512], np.float32))
                out.append(self.fast(xb).float().numpy())
        return np.concatenate(out)

    def for_targets(self, targets: np.ndarray) -> np.ndarray:
        """Grad-CAM maps N×H×W, image i for class targets[i]."""
        import torch

        from edgexai.train.saliency.explainers import explain

        todo = [i for i, t in enumerate(targets) if (i, int(t)) not in self.maps]
        if todo:
            got = explain(
                self.model,
                torch.from_numpy(self.x[todo]),
                torch.as_tensor(targets[todo]),
                "gradcam",
                self.cfg,
            ).numpy()
            for i, cam in zip(todo, got, strict=True):
                self.maps[i, int(targets[i])] = cam
        return np.stack([self.maps[i, int(t)] for i, t in enumerate(targets)])


def model_fidelity(
    model: BenchModel,
    images: np.ndarray,
    ids: np.ndarray,
    sessions: dict,
    opts: BenchOptions,
) -> list[dict[str, Any]]:
    """The rows of one build: agreement per session, then ROAD per group of equal targets."""
    from edgexai.core.metrics.perturbation import tiebreak_keys
    from edgexai.core.preprocess import normalise

    x = normalise(images, tuple(model.manifest["mean"]), tuple(model.manifest["std"]))
    ref = Reference(model.dir, x)
    h, w = x.shape[-2:]
    tiebreak = tiebreak_keys(opts.seed, ids, h * w)  # the ROAD ranking's keys, for the IoU too
    measured = []
    for (_, backend, precision), sess in sessions.items():
        targets, cams = deployed_maps(sess, x)
        refs = ref.for_targets(targets)
        p = pearson(cams, refs)
        measured.append(
            {
                "key": (backend, precision),
                "targets": targets,
                "deployed": cams,
                "figures": {
                    "n_images": int(len(ids)),
                    "class_agreement": float(np.mean(targets == ref.pred)),
                    "pearson_mean": float(p.mean()),
                    "pearson_min": float(p.min()),
                    "spearman_mean": float(spearman(cams, refs).mean()),
                    "iou_top20_mean": float(
                        top_fraction_iou(cams, refs, TOP_FRACTION, tiebreak).mean()
                    ),
                },
            }
        )
    if opts.road:
        add_morf(measured, ref, x, ids, tiebreak, opts)
    return [row(model, *m["key"], **m["figures"]) for m in measured]


def add_morf(
    measured: list[dict[str, Any]],
    ref: Reference,
    x: np.ndarray,
    ids: np.ndarray,
    tiebreak: np.ndarray,
    opts: BenchOptions,
) -> None:
    """ROAD MoRF of each session's maps and of the reference maps for the same targets, with the
    bench's percentages, noise σ and seeds; sessions that predict the same classes share one
    ROAD run (and its reference score)."""
    import torch

    from edgexai.core.metrics.imputation import noise_for
    from edgexai.core.metrics.road import ROAD
    from edgexai.study.explain_options import ExplainOptions

    road_opts = ExplainOptions(models=[])  # the bench explains with these ROAD defaults
    cores = os.cpu_count() or 1
    workers = max(1, cores - 1)  # as `edgexai explain` (and so the bench) sizes its workers
    road = ROAD(
        road_opts.percentages,
        ("morf",),
        road_opts.noise_std,
        workers=workers,
        progress=opts.progress,
    )
    noise = noise_for(opts.seed, ids, tuple(x.shape[1:])) if road_opts.noise_std > 0 else None
    groups: dict[bytes, list[dict[str, Any]]] = {}
    for m in measured:
        groups.setdefault(np.asarray(m["targets"], np.int64).tobytes(), []).append(m)
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, min(threads, cores - workers)))  # workers and classifier share
    try:
        for members in groups.values():
            targets = members[0]["targets"]
            maps = {"reference": ref.for_targets(targets)}
            maps.update({f"{i}": m["deployed"] for i, m in enumerate(members)})
            got = road.run(ref.predict, x, maps, targets, noise, tiebreak)
            for i, m in enumerate(members):
                m["figures"]["morf_deployed"] = got[f"{i}"].summary["morf"]["mean"]
                m["figures"]["morf_reference"] = got["reference"].summary["morf"]["mean"]
    finally:
        torch.set_num_threads(threads)
