"""The deployed sessions the bench measures: one per (model, backend, precision) this machine can
open, each one's accuracy on the seeded accuracy draw, then every (session, batch) timed
interleaved in this one process (bench/latency.py)."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from edgexai.study.bench.bench_draw import TestDraw
from edgexai.study.bench.bench_options import BenchOptions
from edgexai.study.bench.latency import Case, case_row, time_interleaved
from edgexai.study.bench.select import BenchModel


def _trt_available() -> bool:
    return importlib.util.find_spec("tensorrt") is not None


def open_sessions(models: list[BenchModel], opts: BenchOptions, notes: list[str]):
    """{(model name, backend, precision): Session}; unavailable combinations become notes."""
    from edgexai.core.manifest import has_cam, no_cam_reason
    from edgexai.deploy.runtime import open_session
    from edgexai.deploy.runtime.session import variant_for
    from edgexai.train.export.precision import ensure_variant

    sessions = {}
    backends = usable_backends(opts, notes)
    for model in models:
        cam = has_cam(model.manifest)  # a CAM-less build: logits-only sessions
        if not cam:
            notes.append(
                f"{model.name}: {no_cam_reason(model.manifest)}; its latency is of the logits "
                "alone and it has no Grad-CAM rows"
            )
        for backend in backends:
            for precision in opts.precisions:
                if backend == "torch" and precision != "fp32":
                    continue
                if backend in ("ort", "trt"):
                    variant = variant_for("classifier", precision, cam, cam)
                    if variant != "fp32":
                        ensure_variant(model.dir, variant, opts.data_root)
                sessions[(model.name, backend, precision)] = open_session(
                    model.dir,
                    backend,
                    precision,
                    cam=cam,
                    **_session_kwargs(backend, opts.threads),
                )
    return sessions


def usable_backends(opts: BenchOptions, notes: list[str]) -> list[str]:
    """The asked-for backends this machine can time; what is skipped or changed becomes a note."""
    backends = list(opts.backends)
    if "trt" in backends and not _trt_available():
        notes.append(
            "trt: skipped — TensorRT is not importable on this machine (no TensorRT "
            "figure in this report)"
        )
        backends.remove("trt")
    if opts.threads != 1 and "ort" in backends:
        notes.append(
            "ort: intra-op spinning switched off — with more than one thread per "
            "session, the idle sessions' spinning threads would take the cores of the "
            "one being timed; a session alone in its process spins and runs faster at "
            "small batches (benchmarks/bench_export.py times that case)"
        )
    if "torch" in backends and any(p != "fp32" for p in opts.precisions):
        notes.append("torch: fp32 only (the reference backend has no fp16/int8 path)")
    return backends


def _session_kwargs(backend: str, threads: int) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if backend == "ort" and threads:
        kwargs["threads"] = threads
    if backend == "ort" and threads != 1:
        kwargs["spinning"] = False
    return kwargs


def session_accuracy(session, x: np.ndarray, labels: np.ndarray, batch: int = 256) -> float:
    preds = [session.infer(x[s : s + batch])[0].argmax(1) for s in range(0, len(x), batch)]
    return float((np.concatenate(preds) == labels).mean())


def accuracy_inputs(models: list[BenchModel], draw: TestDraw) -> dict[str, np.ndarray]:
    """Each model's normalised accuracy images (normalised once per (mean, std), not per model)."""
    from edgexai.core.preprocess import normalise

    inputs: dict[tuple, np.ndarray] = {}
    x_acc: dict[str, np.ndarray] = {}
    for m in models:
        key = (tuple(m.manifest["mean"]), tuple(m.manifest["std"]))
        if key not in inputs:
            inputs[key] = normalise(draw.test.images[draw.acc_ids], *key)
        x_acc[m.name] = inputs[key]
    return x_acc


def measure_sessions(
    models: list[BenchModel],
    draw: TestDraw,
    records: list[dict[str, Any]],
    opts: BenchOptions,
    notes: list[str],
) -> list[dict[str, Any]]:
    """Accuracy of every session, then every (session, batch) timed interleaved; adds both to
    the records and returns the latency rows."""
    import torch
    from tqdm import tqdm

    sessions = open_sessions(models, opts, notes)
    x_acc = accuracy_inputs(models, draw)
    by_name = {r["name"]: r for r in records}
    for (name, backend, precision), sess in tqdm(
        sessions.items(), desc="accuracy per session", disable=not opts.progress, leave=False
    ):
        acc = session_accuracy(sess, x_acc[name], draw.test.labels[draw.acc_ids])
        by_name[name]["figures"]["accuracy"][f"{backend}_{precision}"] = acc
    threads_before = torch.get_num_threads()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    try:
        cases = timed_cases(sessions, x_acc, opts.batches)
        timed = time_interleaved(cases, opts.rounds, opts.per_round, opts.warmup, opts.progress)
    finally:
        torch.set_num_threads(threads_before)
        for sess in sessions.values():
            sess.close()
    latency_rows = []
    for case, stats in timed.items():
        rec = by_name[case.model]
        rec["figures"].setdefault("latency", {})[
            f"{case.backend}_{case.precision}_b{case.batch}"
        ] = stats
        latency_rows.append({**case_row(case, stats), "cell": rec["cell"], "seed": rec["seed"]})
    return latency_rows


def timed_cases(sessions: dict, x_acc: dict[str, np.ndarray], batches: tuple[int, ...]) -> dict:
    """{Case: a call of one session on one batch}: the first images, repeated if too few."""
    cases = {}
    for (name, backend, precision), sess in sessions.items():
        x = x_acc[name]
        for b in batches:
            batch = np.ascontiguousarray(x[:b]) if b <= len(x) else np.resize(x, (b,) + x.shape[1:])
            cases[Case(name, backend, precision, b)] = lambda s=sess, xb=batch: s.infer(xb)
    return cases
