"""Explainers (VG/IG/SG/Grad-CAM via captum, the analytic CAM) and `edgexai explain`."""

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from support import run_cli
from torch import nn

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import read_manifest, verify_file
from edgexai.train.models import cam_models, create_model, get_spec
from edgexai.train.models.checkpoint import load_model
from edgexai.train.saliency.cam import analytic_gradcam
from edgexai.train.saliency.explainers import ExplainConfig, explain, list_methods


@pytest.mark.parametrize("arch", cam_models())
def test_analytic_cam_equals_captum_layer_gradcam(arch):
    """Acceptance 3: the in-graph CAM is autograd Grad-CAM, to 1e-5 of the map's maximum."""
    from captum.attr import LayerAttribution, LayerGradCam

    torch.manual_seed(0)
    spec = get_spec(arch)
    model = create_model(arch).eval()
    x = torch.randn(3, 3, spec.input_size, spec.input_size)
    with torch.no_grad():
        # logit − bias is the pre-ReLU CAM's mean: positive scores give non-zero maps to compare
        score = model(x) - model.fc.bias
    top2 = score.topk(2, dim=1).indices
    targets = top2[:, 0].clone()
    targets[1] = top2[1, 1]  # not only the predicted class
    reference = (
        LayerGradCam(model, getattr(model, spec.cam_layer))
        .attribute(x, target=targets, relu_attributions=True)
        .detach()
    )
    reference = LayerAttribution.interpolate(reference, (spec.input_size,) * 2, "bilinear")[:, 0]
    with torch.no_grad():
        _, cam = analytic_gradcam(model, x, targets, size=spec.input_size)
    for ref, ours in zip(reference, cam, strict=True):
        peak = float(ref.abs().max())
        assert peak > 0
        assert float((ref - ours).abs().max()) <= 1e-5 * peak
    # the registry's two names for Grad-CAM agree the same way
    a = explain(model, x, targets, "gradcam", ExplainConfig(cam_layer=spec.cam_layer))
    b = explain(model, x, targets, "cam")
    assert float((a - b).abs().max()) <= 1e-5 * float(a.abs().max())


class _MaxPoolHead(nn.Module):
    """A ResNet-shaped model whose pooling is max, not average: CAM would be an approximation."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.avgpool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(8, 43)

    def features(self, x):
        return torch.relu(self.conv(x))

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


class _MLPHead(_MaxPoolHead):
    def __init__(self) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 43))


@pytest.mark.parametrize("model_cls", [_MaxPoolHead, _MLPHead])
def test_analytic_cam_refuses_a_head_that_is_not_gap_linear(model_cls):
    """Acceptance 4."""
    x = torch.randn(2, 3, 16, 16)
    with pytest.raises(EdgexaiError, match="no global-average-pool → linear head"):
        explain(model_cls().eval(), x, torch.tensor([0, 1]), "cam")


def test_every_method_gives_one_finite_nonnegative_map_per_image():
    torch.manual_seed(1)
    model = create_model("resnet20").eval()
    x = torch.randn(5, 3, 32, 32)
    cfg = ExplainConfig(ig_steps=4, sg_samples=3)
    for method in list_methods():
        maps = explain(model, x, torch.tensor([0, 1, 2, 3, 4]), method, cfg, batch_size=2)
        assert maps.shape == (5, 32, 32), method
        assert torch.isfinite(maps).all() and (maps >= 0).all(), method
    with pytest.raises(EdgexaiError, match="unknown explanation method 'lime'"):
        explain(model, x, torch.zeros(5, dtype=torch.long), "lime")


def test_fused_copy_gives_the_same_logits_and_input_gradients():
    from edgexai.train.saliency.explainers import fused_copy

    torch.manual_seed(2)
    model = create_model("resnet20").eval()
    for m in model.modules():  # non-trivial BatchNorm statistics, so folding matters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    fast = fused_copy(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(
            fast(x.contiguous(memory_format=torch.channels_last)), model(x), atol=1e-4, rtol=1e-4
        )
    t = torch.tensor([1, 2, 3, 4])
    a, b = (
        explain(model, x, t, "vg"),
        explain(fast, x.contiguous(memory_format=torch.channels_last), t, "vg"),
    )
    # Not bit-equal: float32 rounding flips a few ReLU gates whose input is ~0, which moves
    # single gradient pixels (the float32 original differs from float64 just as much).
    assert float((a - b).norm() / a.norm()) < 2e-2


def _spearman_per_image(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    import warnings

    from scipy.stats import spearmanr

    with warnings.catch_warnings():  # an all-zero CAM has no ranking: nan, counted as 0 below
        warnings.simplefilter("ignore")
        return np.array(
            [
                spearmanr(p.flatten().numpy(), q.flatten().numpy())[0]
                for p, q in zip(a, b, strict=True)
            ]
        )


def test_randomised_weights_change_the_maps(tiny_build, fake_gtsrb):
    """Acceptance 5 (Adebayo et al. 2018): the methods see the model, not just the image."""
    from edgexai.train.data.gtsrb import load_split
    from edgexai.train.data.locate import locate_gtsrb
    from edgexai.train.evaluate import to_input

    manifest = read_manifest(tiny_build)
    trained = load_model(verify_file(tiny_build, manifest, "model"))
    torch.manual_seed(123)
    randomised = create_model(manifest["arch"], manifest["widths"]).eval()
    test = load_split(locate_gtsrb(str(fake_gtsrb)), "test", manifest["input_size"], progress=False)
    idx = np.arange(0, len(test), 4)[:24]
    x = to_input(test.images[idx], manifest["mean"], manifest["std"])
    targets = torch.as_tensor(test.labels[idx])
    for method in ("gradcam", "vg"):
        rho = _spearman_per_image(
            explain(trained, x, targets, method), explain(randomised, x, targets, method)
        )
        rho = np.nan_to_num(rho, nan=0.0)
        assert rho.mean() < 0.5, (method, rho.mean())
        # and the same model twice gives the same maps (the test could not pass by noise alone)
        again = _spearman_per_image(
            explain(trained, x, targets, method), explain(trained, x, targets, method)
        )
        assert np.nanmin(again) > 0.999


def test_explain_command_writes_metrics_plots_and_manifest(tiny_build, fake_gtsrb, tmp_path):
    model_dir = tmp_path / tiny_build.name
    shutil.copytree(tiny_build, model_dir)  # the fixture is shared: never write into it
    out = tmp_path / "report"
    proc = run_cli(
        "explain",
        "--model",
        str(model_dir),
        "--data-root",
        str(fake_gtsrb),
        "--limit",
        "30",
        "--targets",
        "all",
        "--methods",
        "vg,ig,sg,gradcam,cam",
        "--ig-steps",
        "4",
        "--sg-samples",
        "2",
        "--percentages",
        "10,50,90",
        "--deletion-steps",
        "4",
        "--workers",
        "0",
        "--seed",
        "3",
        "--no-progress",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "gradcam" in proc.stdout and "ROAD morf" in proc.stdout
    for name in ("metrics.json", "metrics.csv", "road_curves.csv", "grid.png", "road.png"):
        assert (out / name).is_file(), name
    assert (out / "grid.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((out / "metrics.json").read_text())
    model = report["models"][0]
    assert model["n_drawn"] == 30 and model["n_explained"] == 30
    assert report["config"]["seed"] == 3 and report["config"]["percentages"] == [10, 50, 90]
    for method in ("vg", "ig", "sg", "gradcam", "cam"):
        r = model["methods"][method]
        assert 0 <= r["gini"]["mean"] <= 1
        assert set(r["road"]["accuracy"]) == {"morf", "lerf"}
        assert len(r["road"]["accuracy"]["morf"]) == 3
        assert {"morf", "lerf", "gap"} <= set(r["road"]["summary"])
        assert 0 <= r["deletion_auc"]["mean"] <= 1 and 0 <= r["insertion_auc"]["mean"] <= 1
    # Grad-CAM and the analytic CAM are the same maps (to float rounding), so the metrics agree
    gc, cam = model["methods"]["gradcam"], model["methods"]["cam"]
    assert gc["gini"]["mean"] == pytest.approx(cam["gini"]["mean"], abs=1e-4)
    assert np.allclose(gc["road"]["accuracy"]["morf"], cam["road"]["accuracy"]["morf"], atol=0.1)
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == ["vg", "ig", "sg", "gradcam", "cam"]
    with open(out / "road_curves.csv") as f:
        assert len(list(csv.DictReader(f))) == 5 * 2 * 3
    manifest = read_manifest(model_dir)
    merged = manifest["metrics"]["explanations"]
    assert set(merged["methods"]) == {"vg", "ig", "sg", "gradcam", "cam"}
    assert merged["seed"] == 3 and merged["n_explained"] == 30
    assert "road_morf_mean" in merged["methods"]["vg"]
    assert (
        manifest["metrics"]["test_accuracy"]
        == read_manifest(tiny_build)["metrics"]["test_accuracy"]
    )
    verify_file(model_dir, manifest, "model")  # the merge leaves the file digests valid


def test_explain_command_bad_input_is_one_line(tiny_build, tmp_path, capsys):
    from edgexai.cli import main

    for args, pattern in (
        (["--model", str(tmp_path / "nope")], "not a build folder"),
        (["--model", str(tiny_build), "--methods", "vg,lime"], "unknown method 'lime'"),
        (["--model", str(tiny_build), "--limit", "some"], "expected a number or 'all'"),
        (["--model", str(tiny_build), "--percentages", "0,50"], "strictly between 0 and 100"),
    ):
        try:
            code = main(["explain", *args, "--no-progress", "--out", str(tmp_path / "o")])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        assert code != 0 and len(lines) == 1 and pattern in lines[0], err


def test_explain_options_agree_with_the_registries_they_mirror():
    """explain/options.py writes two lists out to stay light; they must match their sources."""
    from edgexai.core.metrics.road import DEFAULT_PERCENTAGES
    from edgexai.study.explain_options import METHODS, ROAD_PERCENTAGES

    assert METHODS == tuple(list_methods())
    assert ROAD_PERCENTAGES == tuple(float(p) for p in DEFAULT_PERCENTAGES)


def test_explain_flags_come_from_explain_options(monkeypatch, capsys):
    import edgexai.study.explain_job as explain_run
    from edgexai.cli import main
    from edgexai.study.explain_options import ExplainOptions

    got = []

    def capture(opts):
        got.append(opts)
        raise KeyError

    monkeypatch.setattr(explain_run, "run_explain", capture)
    with pytest.raises(KeyError):
        main(["explain", "--model", "a", "--model", "b"])
    assert got[0] == ExplainOptions(models=["a", "b"])
    with pytest.raises(KeyError):
        main(
            [
                "explain",
                "--model",
                "a",
                "--limit",
                "all",
                "--no-road",
                "--no-manifest",
                "--workers",
                "0",
                "--percentages",
                "10,50",
            ]
        )
    assert got[1].limit is None and not got[1].road and not got[1].update_manifest
    assert got[1].workers == 0 and got[1].percentages == (10.0, 50.0)
    for args in (
        ["--limit", "0"],
        ["--workers", "-1"],
        ["--deletion-steps", "-1"],
        ["--ig-steps", "0"],
        ["--grid-images", "-1"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(["explain", "--model", "a", *args])
        err = capsys.readouterr().err.strip().splitlines()
        assert exc.value.code == 2 and len(err) == 1 and args[0] in err[0], err
