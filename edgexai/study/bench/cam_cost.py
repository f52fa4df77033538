"""What the in-graph Grad-CAM costs: against the same graph without it, and against captum.

Every candidate returns the same thing for one image — the predicted class's Grad-CAM, upsampled
to the input and min-max normalised — except `--no-cam` (logits only), and each is timed in its
own worker process (`isolated.time_in_processes`) at each thread count asked for. The captum path
is what a user writes to get that output: a no-grad forward for the predicted class, then
`LayerGradCam(model, cam_layer).attribute(x, target, relu_attributions=True)`, upsampled and
normalised. "Best against best" divides captum's fastest setting by ONNX Runtime's fastest, so
neither side is held to a thread count that suits only the other.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.study.bench.isolated import Candidate, time_in_processes

FACTORY = "edgexai.study.bench.cam_cost"


def ort_call(
    build: str, image: str, precision: str = "fp32", cam: bool = True, threads: int = 1
) -> Callable[[], Any]:
    from edgexai.deploy.runtime import open_session

    session = open_session(build, "ort", precision, cam, threads=threads)
    x = np.load(image)
    return lambda: session.infer(x)


def _torch_model(build: str, threads: int):
    import torch

    from edgexai.core.manifest import read_manifest
    from edgexai.train.models.checkpoint import load_model

    torch.set_num_threads(threads)
    manifest = read_manifest(Path(build))
    return torch, manifest, load_model(Path(build) / "model.pt")


def captum_call(
    build: str, image: str, threads: int = 1, attribute_only: bool = False
) -> Callable[[], Any]:
    """captum LayerGradCam on the build's PyTorch model; `attribute_only` knows the target in
    advance (no prediction forward), which isolates the cost of the explanation itself."""
    from captum.attr import LayerGradCam

    from edgexai.train.saliency.cam import minmax_normalise, upsample

    torch, manifest, model = _torch_model(build, threads)
    size = int(manifest["input_size"])
    explainer = LayerGradCam(model, getattr(model, manifest["cam_layer"]))
    x = torch.from_numpy(np.load(image))
    with torch.no_grad():
        known = model(x).argmax(1)

    def run():
        if attribute_only:
            target = known
        else:
            with torch.no_grad():
                target = model(x).argmax(1)
        attr = explainer.attribute(x, target=target, relu_attributions=True)
        return minmax_normalise(upsample(attr.squeeze(1).detach(), size))

    return run


def torch_analytic_call(build: str, image: str, threads: int = 1) -> Callable[[], Any]:
    """The in-graph CAM's own math run eagerly in PyTorch (no ONNX Runtime)."""
    from edgexai.train.saliency.cam import CamModel

    torch, manifest, model = _torch_model(build, threads)
    cam_model = CamModel(model, int(manifest["input_size"])).eval()
    x = torch.from_numpy(np.load(image))

    def run():
        with torch.no_grad():
            return cam_model(x)

    return run


def candidates(
    build: str, image: str, threads: tuple[int, ...], extras: bool = True
) -> dict[str, Candidate]:
    """ORT with and without the CAM and captum at every thread count; with `extras`, also the
    INT8 and FP16 graphs, captum's attribute call alone and the eager analytic CAM."""
    out: dict[str, Candidate] = {}
    for t in threads:
        common = {"build": build, "image": image, "threads": t}
        out[f"ort_cam_t{t}"] = Candidate(f"{FACTORY}:ort_call", {**common, "cam": True})
        out[f"ort_nocam_t{t}"] = Candidate(f"{FACTORY}:ort_call", {**common, "cam": False})
        out[f"captum_t{t}"] = Candidate(f"{FACTORY}:captum_call", common)
        if extras:
            out[f"ort_int8_t{t}"] = Candidate(
                f"{FACTORY}:ort_call", {**common, "precision": "int8"}
            )
            out[f"ort_fp16_t{t}"] = Candidate(
                f"{FACTORY}:ort_call", {**common, "precision": "fp16"}
            )
            out[f"captum_attribute_only_t{t}"] = Candidate(
                f"{FACTORY}:captum_call", {**common, "attribute_only": True}
            )
            out[f"torch_analytic_t{t}"] = Candidate(f"{FACTORY}:torch_analytic_call", common)
    return out


def summarise(times: dict[str, list[float]], threads: tuple[int, ...]) -> dict[str, Any]:
    """Medians in ms, the CAM overhead per thread count, captum ÷ in-graph per thread count and
    best against best."""
    med = {k: statistics.median(v) * 1000.0 for k, v in times.items()}
    per_threads = {}
    for t in threads:
        cam, nocam, cap = med[f"ort_cam_t{t}"], med[f"ort_nocam_t{t}"], med[f"captum_t{t}"]
        per_threads[t] = {
            "cam_overhead_pct": round(100.0 * (cam / nocam - 1.0), 2),
            "captum_over_ort_cam": round(cap / cam, 2),
        }
    best_ort = min(threads, key=lambda t: med[f"ort_cam_t{t}"])
    best_captum = min(threads, key=lambda t: med[f"captum_t{t}"])
    ratio = med[f"captum_t{best_captum}"] / med[f"ort_cam_t{best_ort}"]
    return {
        "median_ms": {k: round(v, 4) for k, v in med.items()},
        "calls": {k: len(v) for k, v in times.items()},
        "per_threads": per_threads,
        "best_vs_best": {
            "ort_threads": best_ort,
            "ort_cam_ms": round(med[f"ort_cam_t{best_ort}"], 4),
            "captum_threads": best_captum,
            "captum_ms": round(med[f"captum_t{best_captum}"], 4),
            "captum_over_ort_cam": round(ratio, 2),
        },
        "cam_overhead_max_pct": max(v["cam_overhead_pct"] for v in per_threads.values()),
    }


def measure(
    build: str,
    image: str,
    threads: tuple[int, ...] = (1, 2),
    rounds: int = 31,
    per_round: int = 50,
    extras: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    times = time_in_processes(
        candidates(build, image, threads, extras), rounds, per_round, progress=progress
    )
    return {
        **summarise(times, threads),
        "settings": {
            "threads": list(threads),
            "rounds": rounds,
            "per_round": per_round,
            "isolation": "one spawned process per candidate, rounds interleaved",
        },
    }
