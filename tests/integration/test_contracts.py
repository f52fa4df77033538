"""The file contracts (manifest, engine sidecar, results.json): the published schemas are the ones
the code derives, every build folder the tests make validates against them, and a manifest that
breaks the contract is refused with one line naming the field."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from support import REPO, run_cli

jsonschema = pytest.importorskip("jsonschema")
sys.path.insert(0, str(REPO / "tools"))

from write_schemas import SCHEMAS, render  # noqa: E402

from edgexai.core.manifest import ManifestError, parse, read_manifest  # noqa: E402


def _validator(name: str):
    schema = json.loads((REPO / "docs" / "schemas" / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_published_schemas_are_the_ones_the_code_derives():
    for name, make in SCHEMAS.items():
        committed = (REPO / "docs" / "schemas" / name).read_text()
        assert committed == render(make), (
            f"docs/schemas/{name} is stale: run tools/write_schemas.py"
        )


def test_classifier_and_detector_builds_validate(tiny_build, tmp_path):
    from support.pipeline import write_onnx_build

    v = _validator("manifest.schema.json")
    builds = [tiny_build, write_onnx_build(tmp_path / "tiny-onnx")]
    packaged = REPO / "edgexai" / "deploy" / "pipeline" / "data" / "detector"
    if (packaged / "manifest.json").is_file():
        builds.append(packaged)
    for build in builds:
        manifest = json.loads((build / "manifest.json").read_text())
        errors = [e.message for e in v.iter_errors(manifest)]
        assert not errors, (build, errors[:3])
        parse(manifest)
    assert json.loads((tiny_build / "manifest.json").read_text())["kind"] == "classifier"


def test_the_detector_build_of_the_detector_tests_validates(tmp_path):
    from support.pipeline import write_gt_frames

    pytest.importorskip("torch")
    from edgexai.train.detector.detector_options import DetectorBuildOptions
    from edgexai.train.detector.job import build_detector

    frames = write_gt_frames(tmp_path / "f", 6)
    build = build_detector(
        DetectorBuildOptions(
            out=str(tmp_path / "out"),
            frames=str(frames),
            train=(0, 4),
            calibrate=None,
            heldout=(4, 6),
            synthetic=False,
            steps=2,
            batch=2,
            crop=64,
            eval_every=2,
            input_w=96,
            input_h=64,
            progress=False,
            threads=1,
        )
    )
    manifest = json.loads((build / "manifest.json").read_text())
    assert not list(_validator("manifest.schema.json").iter_errors(manifest))
    assert manifest["kind"] == "detector"


def test_engine_sidecars_validate():
    from edgexai.deploy.runtime.cuda_mem import GpuInfo
    from edgexai.deploy.runtime.engine_cache import EngineCache, engine_profile, engine_target

    def store(tmp: Path) -> Path:
        target = engine_target(
            "ab" * 32, GpuInfo("Orin", "8.7", 16, 61, "test"), "10.3.0", "fp16", engine_profile(32)
        )
        return EngineCache(tmp).store(target, b"engine").with_suffix(".json")

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sidecar = json.loads(store(Path(tmp)).read_text())
    assert not list(_validator("engine.schema.json").iter_errors(sidecar))


def test_published_bench_results_validate():
    results = json.loads((REPO / "docs" / "bench" / "results.json").read_text())
    assert not [e.message for e in _validator("results.schema.json").iter_errors(results)]


@pytest.mark.parametrize("drop", ["classes", "mean", "files", "kind", "onnx"])
def test_a_manifest_missing_a_field_is_one_line_naming_it(tiny_build, tmp_path, drop):
    import shutil

    build = tmp_path / "b"
    shutil.copytree(tiny_build, build)
    manifest = json.loads((build / "manifest.json").read_text())
    manifest.pop(drop)
    (build / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match=f"'{drop}'"):
        read_manifest(build)
    proc = run_cli("doctor", "--model", str(build), "--proposer", "colour", "--json")
    check = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}["build"]
    assert check["status"] == "fail" and f"'{drop}'" in check["detail"]
    proc = run_cli(
        "run",
        "--source",
        str(tmp_path),
        "--model",
        str(build),
        "--headless",
        "--proposer",
        "colour",
        "--log",
        str(tmp_path / "l.jsonl"),
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"'{drop}'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_wrong_types_and_paths_leaving_the_folder_are_refused(tiny_build):
    manifest = json.loads((tiny_build / "manifest.json").read_text())
    bad = {**manifest, "input_size": "32"}
    with pytest.raises(ManifestError, match="input_size must be an integer"):
        parse(bad)
    bad = {**manifest, "files": {**manifest["files"], "onnx": {"path": "../x.onnx", "sha256": "0"}}}
    with pytest.raises(ManifestError, match="inside its build folder"):
        parse(bad)
    with pytest.raises(ManifestError, match="edgexai-manifest/1"):
        parse({**manifest, "format": "edgexai-manifest/1"})


def test_class_names_must_match_the_model_outputs(tiny_build, tmp_path):
    """Issue 17 #5 (checked on load): 42 names for a 43-output model would shift every label."""
    import shutil

    pytest.importorskip("onnxruntime")
    from edgexai.core.errors import EdgexaiError
    from edgexai.deploy.runtime import open_session

    build = tmp_path / "b"
    shutil.copytree(tiny_build, build)
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["classes"] = manifest["classes"][:-1]
    (build / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EdgexaiError, match="42 classes but the model has 43 outputs"):
        open_session(build, "ort")


def test_commands_share_one_list_of_precisions_and_backends_and_one_auto():
    """Issue 13 #11: run, engine and doctor offer the same precisions and resolve `auto` the same
    way (doctor used to default to trt while run used auto)."""
    from edgexai.cli import make_parser
    from edgexai.core.manifest import PRECISIONS
    from edgexai.deploy.runtime.factory import BACKEND_CHOICES

    sub = next(a for a in make_parser()._actions if a.dest == "command").choices

    def option(cmd: str, flag: str):
        return next(a for a in sub[cmd]._actions if flag in a.option_strings)

    for cmd in ("run", "engine", "doctor"):
        assert tuple(option(cmd, "--precision").choices) == PRECISIONS
        assert option(cmd, "--backend").default == "auto"
        assert set(option(cmd, "--backend").choices) <= set(BACKEND_CHOICES)
