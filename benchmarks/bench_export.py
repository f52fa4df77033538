"""Measure the export and runtime figures of docs/RESULTS.md ("Export and runtime (issue 5)").

EDGEXAI_DATA=../shared/data python benchmarks/bench_export.py --build builds/resnet20-natural-s0

Works on a copy of the build folder (--work), so the original is untouched: exports model.onnx if
the build predates the export step, makes the no-CAM / FP16 / INT8 variants, then reports
1. ORT vs PyTorch on 512 official test images (max |Δ| logits and CAM, top-1 agreement);
2. batch-1 ORT CPU latency with and without the in-graph CAM (median of interleaved rounds) and
   captum LayerGradCam on the same model and CPU (same output: CAM of the predicted class,
   upsampled, min-max normalised);
3. test accuracy of fp32 / FP16 / INT8 on the whole official test set, and INT8 latency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from edgexai.core.arg_types import csv_ints


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True)
    p.add_argument("--data-root", default=None)
    p.add_argument(
        "--calib-list", default=None, help="default: edgexai/train/export/data/gtsrb_calib.txt"
    )
    p.add_argument("--work", default="/tmp/edgexai-bench-export")
    p.add_argument("--n-diff", type=int, default=512)
    p.add_argument("--rounds", type=int, default=31)
    p.add_argument("--per-round", type=int, default=50)
    p.add_argument(
        "--threads",
        type=csv_ints,
        default=(1, 2),
        help="thread counts to time each candidate at (ORT intra-op and torch), "
        "comma-separated; default 1,2",
    )
    p.add_argument("--latency-only", action="store_true", help="skip the accuracy passes")
    p.add_argument("--json", default=None)
    args = p.parse_args()

    import torch
    from captum.attr import LayerGradCam

    from edgexai.core.manifest import read_manifest, write_manifest
    from edgexai.core.preprocess import normalise
    from edgexai.deploy.runtime import open_session
    from edgexai.study.bench import cam_cost
    from edgexai.study.bench.isolated import Candidate, time_in_processes
    from edgexai.train.data.gtsrb import load_split
    from edgexai.train.data.locate import locate_gtsrb
    from edgexai.train.export.onnx_export import export_build
    from edgexai.train.export.precision import ensure_variant
    from edgexai.train.models.checkpoint import load_model
    from edgexai.train.saliency.cam import CamModel, minmax_normalise, upsample

    src = Path(args.build)
    work = Path(args.work) / src.name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work, ignore=shutil.ignore_patterns("engines", "checkpoint.pt"))
    m = read_manifest(work)
    model = load_model(work / "model.pt")
    if "onnx" not in m.get("files", {}):
        export_build(model, int(m["input_size"]), work, m)
        write_manifest(work, {k: v for k, v in m.items() if k != "format"})
    t = time.time()
    for v in ("nocam", "fp16", "int8"):
        ensure_variant(work, v, args.data_root, args.calib_list)
    variants_s = time.time() - t
    m = read_manifest(work)
    test = load_split(locate_gtsrb(args.data_root), "test", int(m["input_size"]), progress=False)
    x_all = normalise(test.images, m["mean"], m["std"])
    out: dict = {
        "build": str(src),
        "regime": m["regime"],
        "arch": m["arch"],
        "manifest_test_accuracy": m["metrics"]["test_accuracy"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "variants_seconds": round(variants_s, 1),
        "onnx_sizes": {f.name: f.stat().st_size for f in work.glob("model*.onnx")},
    }

    # 1. ORT vs PyTorch on the first n official test images
    n = min(args.n_diff, len(x_all))
    cam_model = CamModel(model, int(m["input_size"])).eval()
    with torch.no_grad():
        ref = [cam_model(torch.from_numpy(x_all[i : i + 64])) for i in range(0, n, 64)]
    ref_l = torch.cat([r[0] for r in ref]).numpy()
    ref_c = torch.cat([r[1] for r in ref]).numpy()
    with open_session(work, "ort") as s:
        res = [s.infer(x_all[i : i + 64]) for i in range(0, n, 64)]
    ol = np.concatenate([r[0] for r in res])
    oc = np.concatenate([r[1] for r in res])
    out["ort_vs_torch"] = {
        "images": n,
        "logits_max_abs_diff": float(np.abs(ol - ref_l).max()),
        "cam_max_abs_diff": float(np.abs(oc - ref_c).max()),
        "top1_agreement": float((ol.argmax(1) == ref_l.argmax(1)).mean()),
    }
    print(json.dumps(out["ort_vs_torch"]))

    # 3. accuracy per precision on the whole test set
    acc: dict[str, float] = {}
    for precision in () if args.latency_only else ("fp32", "fp16", "int8"):
        with open_session(work, "ort", precision) as s:
            pred = np.concatenate(
                [s.infer(x_all[i : i + 256])[0].argmax(1) for i in range(0, len(x_all), 256)]
            )
        acc[precision] = float((pred == test.labels).mean())
    if acc:
        with torch.no_grad():
            tpred = np.concatenate(
                [
                    model(torch.from_numpy(x_all[i : i + 256])).argmax(1).numpy()
                    for i in range(0, len(x_all), 256)
                ]
            )
        acc["torch_fp32"] = float((tpred == test.labels).mean())
        out["test_accuracy"] = {
            "images": len(x_all),
            **acc,
            "int8_minus_fp32_points": round(100 * (acc["int8"] - acc["fp32"]), 3),
            "fp16_minus_fp32_points": round(100 * (acc["fp16"] - acc["fp32"]), 3),
        }
        print(json.dumps(out["test_accuracy"]))

    # 2. latency: every candidate in its own worker process, rounds interleaved across them
    #    (several multi-threaded runtimes in one process slow each other down by spin-waiting)
    xb = torch.from_numpy(x_all[:32])  # captum's CAM equals the graph's `cam`?
    with open_session(work, "ort") as s:
        b_logits, b_cam = s.infer(x_all[:32])
    captum = LayerGradCam(model, getattr(model, m["cam_layer"]))
    attr = captum.attribute(xb, target=torch.from_numpy(b_logits.argmax(1)), relu_attributions=True)
    ref = minmax_normalise(upsample(attr.squeeze(1).detach(), int(m["input_size"]))).numpy()
    out["captum_vs_ort_cam_max_abs_diff_32"] = float(np.abs(ref - b_cam).max())
    x1_path, x64_path = work / "latency_image_b1.npy", work / "latency_images_b64.npy"
    np.save(x1_path, x_all[:1])
    np.save(x64_path, x_all[:64])
    out["loadavg_before"] = os.getloadavg()
    cost = cam_cost.measure(
        str(work),
        str(x1_path),
        threads=args.threads,
        rounds=args.rounds,
        per_round=args.per_round,
        progress=True,
    )
    out["batch1"] = cost
    lat64 = time_in_processes(
        {
            f"{v}_t{t}": Candidate(
                f"{cam_cost.FACTORY}:ort_call",
                {"build": str(work), "image": str(x64_path), "precision": v, "threads": t},
            )
            for t in args.threads
            for v in ("fp32", "int8", "fp16")
        },
        max(5, args.rounds // 3),
        5,
    )
    out["latency_batch64_ms"] = {k: round(1000 * statistics.median(v), 3) for k, v in lat64.items()}
    out["loadavg_after"] = os.getloadavg()
    print(
        json.dumps(
            {
                k: out[k]
                for k in (
                    "batch1",
                    "captum_vs_ort_cam_max_abs_diff_32",
                    "latency_batch64_ms",
                    "loadavg_before",
                    "loadavg_after",
                )
            },
            indent=1,
        )
    )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
