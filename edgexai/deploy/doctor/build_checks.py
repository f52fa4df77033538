"""Doctor's build-folder and engine checks: manifests, digests, class counts, TensorRT engines
and the ONNX Runtime path.

Why: a build folder copied half-way, or an engine built on another GPU or TensorRT version, makes
`edgexai run` fail or mislabel; each is checked against exactly what run would open.

Engine sidecar contract (written by `edgexai engine`, read here): `<build>/engines/<key>.engine`
next to `<key>.json` with the fields of runtime/engine_cache.py (SIDECAR_FIELDS). Never torch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from edgexai.core.digest import sha256_file
from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import BUILDS_ROOT, builds_root, read_manifest, verify_file
from edgexai.deploy.doctor.findings import FAIL, OK, SKIP, Check, Device
from edgexai.deploy.runtime.engine_cache import SIDECAR_FIELDS

SIDECAR_KEYS = SIDECAR_FIELDS  # what `edgexai engine` writes (runtime/engine_cache.py)


def find_build(model: str | None, builds: str | Path = BUILDS_ROOT) -> Path | None:
    """`--model DIR`, else the newest classifier build under builds/ (as `edgexai run` picks)."""
    from edgexai.core.manifest import newest_build

    return Path(model) if model else newest_build(builds_root(builds), "classifier")


def check_build(
    build: Path | None,
    builds: str | Path = BUILDS_ROOT,
    name: str = "build",
    kind: str = "classifier",
) -> tuple[Check, dict[str, Any] | None]:
    """The manifest follows the contract, is of `kind`, and every file it lists is present with
    its recorded sha256."""
    flag = "--model" if kind == "classifier" else "--detector"
    if build is None:
        return Check(
            name,
            FAIL,
            f"no {kind} build folder given and none under {builds}/",
            f"copy one over (rsync -a builds/NAME jetson:/opt/edgexai/builds/) or pass {flag} DIR",
        ), None
    try:
        manifest = read_manifest(build)
    except EdgexaiError as exc:
        return Check(
            name,
            FAIL,
            str(exc),
            "copy the whole build folder again (rsync -a), or rebuild it with this edgexai",
        ), None
    if manifest["kind"] != kind:
        return Check(
            name,
            FAIL,
            f"{build} is a {manifest['kind']} build, not a {kind}",
            f"pass a {kind} build folder with {flag}",
        ), None
    files = manifest["files"]
    problems = []
    for role in files:
        try:
            verify_file(build, manifest, role)
        except EdgexaiError as exc:
            problems.append(f"{role}: {exc}")
    if problems:
        return Check(
            name,
            FAIL,
            f"{build}: {len(problems)} of {len(files)} files fail their "
            "manifest digest — " + " | ".join(problems),
            "copy the build folder again from the training machine (rsync -a "
            "--checksum); never edit files inside a build folder",
        ), manifest
    if "onnx" not in files:
        return Check(
            name,
            FAIL,
            f"{build}: the manifest lists no ONNX graph (files: {', '.join(files) or 'none'})",
            "export the model on the training machine (model.onnx) and copy the folder again",
        ), manifest
    mismatched = class_count_problems(build, manifest)
    if mismatched:
        return Check(
            name,
            FAIL,
            " | ".join(mismatched),
            "the manifest's class list does not belong to this model: copy the build "
            "folder again from the training machine, or rebuild it",
        ), manifest
    variants = ", ".join(manifest["onnx"]["variants"])
    return Check(
        name,
        OK,
        f"{build}: {kind}, {len(files)} files match the manifest (ONNX variants: {variants})",
    ), manifest


def class_count_problems(build: Path, manifest: dict[str, Any]) -> list[str]:
    """A classifier's ONNX graphs (every variant listed) against its manifest's class names:
    the logits width each graph declares must be their number, or `run` shifts every label."""
    from edgexai.core.manifest import VARIANT_ROLES
    from edgexai.deploy.runtime.onnx_io import OnnxFormatError, output_width

    if manifest.get("kind") != "classifier":
        return []
    n = len(manifest["classes"])
    out = []
    for role, entry in manifest["files"].items():
        if role not in VARIANT_ROLES.values():
            continue
        path = Path(build) / entry["path"]  # verified (inside the folder, digest) by check_build
        try:
            width = output_width(path.read_bytes(), "logits")
        except (OSError, OnnxFormatError):
            continue  # not ONNX: the backend check that loads it says so
        if width is not None and width != n:
            out.append(
                f"{path} outputs {width} classes but {build}/manifest.json names {n}: "
                "every label would be wrong"
            )
    return out


def _norm_cc(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{int(value[0])}.{int(value[1])}"
    text = str(value).strip().lower().removeprefix("sm_")
    if re.fullmatch(r"\d\d+", text) and "." not in text:
        return f"{text[:-1]}.{text[-1]}"
    return text


def _norm_gpu(name: Any) -> str:
    """GPU names compared without case and a trailing '(...)' (nvidia-smi on Jetson: 'Orin (nvgpu)')."""
    return re.sub(r"\s*\(.*\)$", "", str(name).strip()).lower()


def engine_problems(
    build: Path, sidecar: Path, onnx_digests: set[str], trt_version: str | None, device: Device
) -> list[str]:
    """Why this engine cannot serve this build on this device ([] = it can).

    Comparisons that need TensorRT or a visible device are made only when those are known.
    """
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        return [f"sidecar unreadable ({exc})"]
    if not isinstance(meta, dict):
        return ["sidecar is not a JSON object"]
    missing = [k for k in SIDECAR_KEYS if k not in meta]
    if missing:
        return [f"sidecar lacks {', '.join(missing)}"]
    out = []
    engine = sidecar.with_suffix(".engine")
    if not engine.is_file():
        out.append(f"{engine.name} is missing")
    elif sha256_file(engine) != meta["engine_sha256"]:
        out.append(f"{engine.name} does not match its recorded sha256 (changed or truncated)")
    if meta["onnx_sha256"] not in onnx_digests:
        out.append("built from an ONNX that is not in this build's manifest (stale)")
    if trt_version is not None and str(meta["trt_version"]) != trt_version:
        out.append(f"built with TensorRT {meta['trt_version']}, this device has {trt_version}")
    if device.name is not None and _norm_gpu(meta["gpu_name"]) != _norm_gpu(device.name):
        out.append(f"built on GPU '{meta['gpu_name']}', this device is '{device.name}'")
    if device.compute_capability is not None and _norm_cc(meta["compute_capability"]) != _norm_cc(
        device.compute_capability
    ):
        out.append(
            f"built for compute capability {meta['compute_capability']}, this device "
            f"has {device.compute_capability}"
        )
    # AGX Orin, Orin NX and Orin Nano share name and compute capability; these tell them apart.
    if device.sm_count is not None and meta["sm_count"] != device.sm_count:
        out.append(f"built on a GPU with {meta['sm_count']} SMs, this one has {device.sm_count}")
    if device.memory_gib is not None and meta["memory_gib"] != device.memory_gib:
        out.append(
            f"built on a {meta['memory_gib']} GiB device, this one has {device.memory_gib} GiB"
        )
    return out


def _rebuild_hint(build: Path, precision: str, max_batch: int, default_batch: int) -> str:
    batch = f" --max-batch {max_batch}" if max_batch != default_batch else ""
    return (
        f"edgexai engine --model {build} --precision {precision} --backend trt{batch} "
        "(on this device, as the owner of the engines folder)"
    )


def check_engine(
    build: Path | None,
    manifest: dict[str, Any] | None,
    precision: str,
    max_batch: int | None,
    trt_version: str | None,
    device: Device,
    name: str = "engine",
    trt_module: Any = None,
) -> Check:
    """Exactly the engine `edgexai run --precision P` will open (same ONNX variant, GPU, TensorRT
    version, precision and batch profile, so the same cache key) is there and intact."""
    if build is None or manifest is None:
        return Check(name, SKIP, "no readable build folder")
    from edgexai.deploy.runtime.engine_cache import (
        EngineCache,
        EngineMismatch,
        engine_key,
        engine_profile,
        engine_target,
    )
    from edgexai.deploy.runtime.session import DEFAULT_MAX_BATCH

    default_batch = DEFAULT_MAX_BATCH[manifest["kind"]]
    batch = max_batch or default_batch
    hint = _rebuild_hint(build, precision, batch, default_batch)
    if trt_version is None or device.gpu is None:
        missing = " and ".join(
            w
            for w, v in (("TensorRT", trt_version), ("a working CUDA device", device.gpu))
            if v is None
        )
        return Check(name, SKIP, f"which engine `run` needs is known only with {missing}")
    from edgexai.core.manifest import VARIANT_ROLES
    from edgexai.deploy.runtime.trt import TensorRT

    variant = TensorRT(trt_module).onnx_variant(precision)
    entry = manifest["files"].get(VARIANT_ROLES[variant])
    if entry is None:
        return Check(
            name,
            FAIL,
            f"TensorRT {trt_version} builds {precision} from the {variant} "
            "ONNX, which this build lacks",
            "rebuild the folder on the training machine (every build ships its variants)",
        )
    target = engine_target(
        entry["sha256"], device.gpu, trt_version, precision, engine_profile(batch)
    )
    cache = EngineCache(build)
    key = engine_key(target)
    try:
        found = cache.load(target) is not None
    except EngineMismatch as exc:
        return Check(name, FAIL, f"engine {key} is there but unusable: {exc}", hint)
    if found:
        return Check(
            name,
            OK,
            f"{cache.paths(key)[0]}: {precision}, batch "
            f"{target['profile']['min']}–{target['profile']['max']}, TensorRT "
            f"{trt_version}, {device.name} — what `run --precision "
            f"{precision}` opens",
        )
    # engines of this build's other variants are not stale: they serve another precision
    digests = {e["sha256"] for r, e in manifest["files"].items() if r in VARIANT_ROLES.values()}
    others = [
        f"{sc.stem}: {'; '.join(p) or 'fits another precision or batch profile'}"
        for sc in sorted(cache.dir.glob("*.json"))
        if sc.stem != key
        for p in [engine_problems(build, sc, digests, trt_version, device)]
    ]
    detail = f"no engine {key} ({precision}, batch ≤ {batch}) in {cache.dir}"
    return Check(name, FAIL, detail + (f" (there: {' | '.join(others)})" if others else ""), hint)


def check_ort_path(
    build: Path | None, manifest: dict[str, Any] | None, precision: str, name: str = "ort-session"
) -> Check:
    """ONNX Runtime opens the precision's variant (digest verified) and runs one input."""
    if build is None or manifest is None:
        return Check(name, SKIP, "no readable build folder")
    try:
        import numpy as np

        from edgexai.deploy.runtime.ort import OrtSession

        with OrtSession(build, precision, threads=1) as session:
            shape = (1, *(int(d) for d in session.input.shape[1:]))
            out = session.run(np.zeros(shape, np.dtype(session.input.dtype)))
    except EdgexaiError as exc:
        return Check(
            name,
            FAIL,
            str(exc),
            f"edgexai engine --model {build} --precision "
            f"{precision} --backend ort (it says what is wrong)",
        )
    shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in out.items())
    return Check(
        name,
        OK,
        f"{build}: {precision} ({session.variant} variant) runs on ONNX Runtime → {shapes}",
    )
