"""Regimes: PGD, unstructured and structured pruning, and every regime's build end to end."""

from __future__ import annotations

import re
import shutil

import pytest
import torch
from conftest import run_cli

from edgexai.build import BuildOptions, load_data, run_build
from edgexai.errors import EdgexaiError
from edgexai.evaluate import accuracy
from edgexai.manifest import read_manifest, verify_file
from edgexai.metrics.weights import weight_sparsity
from edgexai.models import create_model, get_spec
from edgexai.models.checkpoint import load_model
from edgexai.models.complexity import count_macs, count_params
from edgexai.regimes import RegimeSettings
from edgexai.regimes.adversarial import PGDConfig, PixelModel, pgd_attack
from edgexai.regimes.structured import LayeredConfig, apply_layered
from edgexai.regimes.unstructured import make_permanent, prune_global, prune_l1

EPS = 8 / 255


def _opts(data, out, **kw) -> BuildOptions:
    base = dict(data_root=str(data), out=str(out), epochs=1, limit_per_class=4, device="cpu",
                progress=False, parent_epochs=2, robust_images=64, robust_steps=3)
    return BuildOptions(**{**base, **kw})


# -- PGD -------------------------------------------------------------------------------------

def test_pgd_respects_epsilon_and_pixel_range_and_raises_the_loss():
    torch.manual_seed(0)
    spec = get_spec("resnet20")
    net = PixelModel(spec.build().eval(), spec.mean, spec.std)
    x = torch.rand(16, 3, 32, 32)
    x[:, :, :4] = 0.0  # pixels at the range limits must stay inside it
    x[:, :, -4:] = 1.0
    y = torch.randint(0, 43, (16,))
    gen = torch.Generator().manual_seed(1)
    adv = pgd_attack(net, x, y, PGDConfig(epsilon=EPS, steps=5), gen)
    assert (adv - x).abs().max() <= EPS + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    with torch.no_grad():
        clean_loss = torch.nn.functional.cross_entropy(net(x), y)
        adv_loss = torch.nn.functional.cross_entropy(net(adv), y)
    assert adv_loss > clean_loss
    assert all(p.grad is None for p in net.parameters())


# -- unstructured ----------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["resnet20", "resnet18"])
def test_unstructured_sparsity_equals_the_requested_amount(arch):
    """Real-size models (ResNet-18: 11 M weights): measured zeros = request ± 0.5 point."""
    torch.manual_seed(0)
    model = create_model(arch)
    info = prune_global(model, 0.2)
    assert abs(weight_sparsity(model)["weights"] - 0.2) <= 0.005
    make_permanent(model)
    assert not any(k.endswith(("_orig", "_mask")) for k in model.state_dict())
    assert abs(weight_sparsity(model)["weights"] - info["requested_sparsity"]) <= 0.005

    model = create_model(arch)
    info = prune_l1(model, 0.2, 0.1)
    s = weight_sparsity(model)
    assert abs(s["conv"] - 0.2) <= 0.005 and abs(s["linear"] - 0.1) <= 0.005
    assert abs(s["weights"] - info["requested_sparsity"]) <= 0.005
    make_permanent(model)
    assert abs(weight_sparsity(model)["weights"] - info["requested_sparsity"]) <= 0.005


# -- structured ------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["resnet20", "resnet18"])
def test_layered_half_channels_is_smaller_and_rebuilds_from_widths(arch):
    torch.manual_seed(0)
    model = create_model(arch)
    p0, m0 = count_params(model), count_macs(model, 32)
    info = apply_layered(model, arch, 32, LayeredConfig(amount=0.5))
    assert count_params(model) <= 0.30 * p0 and count_macs(model, 32) <= 0.35 * m0
    assert model.fc.out_features == 43 and info["dependency_groups"] > 0
    assert all(w % 8 == 0 for stage in model.widths()["stages"] for b in stage for w in b)
    rebuilt = create_model(arch, model.widths())
    rebuilt.load_state_dict(model.state_dict())  # strict: same layers, same shapes
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(model.eval()(x), rebuilt.eval()(x), atol=1e-5)


def test_layered_global_scope_respects_the_layer_cap():
    torch.manual_seed(0)
    model = create_model("resnet20")
    before = model.widths()
    apply_layered(model, "resnet20", 32, LayeredConfig(amount=0.5, scope="global",
                                                       max_layer_amount=0.5))
    after = model.widths()
    for s0, s1 in zip(before["stages"], after["stages"], strict=True):
        for b0, b1 in zip(s0, s1, strict=True):
            assert all(w1 >= 0.5 * w0 for w0, w1 in zip(b0, b1, strict=True))
    assert count_params(model) < count_params(create_model("resnet20"))


def test_layered_mask_mode_zeroes_whole_filters_without_removing_them():
    torch.manual_seed(0)
    model = create_model("resnet20")
    p0 = count_params(model)
    apply_layered(model, "resnet20", 32, LayeredConfig(mode="mask"))
    make_permanent(model)
    assert count_params(model) == p0
    conv = model.layer3[0].conv1
    dead = (conv.weight.flatten(1).abs().sum(1) == 0).sum().item()
    assert dead == round(0.1 * conv.out_channels)


# -- builds end to end -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def regime_out(fake_gtsrb, tmp_path_factory):
    """An out folder holding a tiny natural parent (built once, reused by post/tuned builds)."""
    out = tmp_path_factory.mktemp("regimes")
    run_build(_opts(fake_gtsrb, out, epochs=2))
    return out


# ONNX export has its own tests; here it runs for the cells whose models differ in kind (masks
# folded in, channels removed) and is skipped elsewhere to keep this file within its time budget.
EXPORTED = {("l1", "tuned"), ("layered", "tuned")}


def _maybe_skip_export(monkeypatch, regime: str, timing: str | None, extra: dict) -> None:
    if (regime, timing) in EXPORTED and not extra:
        return
    import edgexai.export.onnx_export as onnx_export
    import edgexai.export.precision as precision

    def record_no_graph(model, input_size, build_dir, manifest):
        """The I/O the export would record, with no file: the manifest stays valid."""
        n = model.fc.out_features
        manifest["onnx"] = {
            "opset": onnx_export.OPSET, "exporter": "skipped in tests/test_regimes.py",
            "backbone_outputs": ["logits"], "variants": {},
            "inputs": [{"name": "images", "shape": ["N", 3, input_size, input_size],
                        "dtype": "float32"}],
            "outputs": [{"name": "logits", "shape": ["N", n], "dtype": "float32"},
                        {"name": "cam", "shape": ["N", input_size, input_size],
                         "dtype": "float32"}]}

    monkeypatch.setattr(onnx_export, "export_build", record_no_graph)
    monkeypatch.setattr(precision, "make_build_variants", lambda *args, **kwargs: None)


CELLS = [("adversarial", None, {}), ("adversarial", "tuned", {"adv_fraction": 0.5}),
         ("l1", "pre", {}), ("l1", "post", {}), ("l1", "tuned", {}),
         ("global", "pre", {}), ("global", "post", {}), ("global", "tuned", {}),
         ("layered", "pre", {}), ("layered", "post", {}), ("layered", "tuned", {}),
         ("layered", "tuned", {"layered_mode": "mask"})]


@pytest.mark.parametrize("regime,timing,extra", CELLS,
                         ids=["-".join(map(str, [r, t, *e.values()])) for r, t, e in CELLS])
def test_each_regime_builds_loads_and_evaluates(fake_gtsrb, regime_out, regime, timing, extra,
                                                monkeypatch):
    _maybe_skip_export(monkeypatch, regime, timing, extra)
    settings = RegimeSettings(pgd_steps=2, **extra)
    name = "-".join(filter(None, [regime, timing, *map(str, extra.values())]))
    out_dir = run_build(_opts(fake_gtsrb, regime_out, regime=regime, timing=timing,
                              settings=settings, name=name))
    m = read_manifest(out_dir)
    payload = torch.load(verify_file(out_dir, m, "model"), weights_only=True)
    assert not any(k.endswith(("_orig", "_mask")) for k in payload["state_dict"])
    model = load_model(out_dir / "model.pt")
    spec = get_spec("resnet20")
    _, _, _, test = load_data(_opts(fake_gtsrb, regime_out), spec.input_size)
    assert accuracy(model, test.images, test.labels, spec.mean, spec.std) == pytest.approx(
        m["metrics"]["test_accuracy"], abs=1e-6)

    metrics = m["metrics"]
    assert 0 <= metrics["robust_accuracy"] <= 1 and metrics["robust"]["steps"] == 3
    assert metrics["robust"]["epsilon"] == pytest.approx(EPS)
    assert m["regime_params"]["regime"] == regime and m["timing"] == (timing or None)
    assert m["params"] == count_params(model) and m["macs"] > 0
    if timing in ("post", "tuned"):
        parent = read_manifest(regime_out / "resnet20-natural-s0")
        assert m["parent"]["model_sha256"] == parent["files"]["model"]["sha256"]
        assert m["parent"]["name"] == "resnet20-natural-s0"
        assert m["parent"]["robust_accuracy"] is not None
    else:
        assert m["parent"] is None
    if timing == "post":
        assert m["train_config"] is None and "train_log" not in m["files"]
    sparsity = metrics["weight_sparsity"]["weights"]
    if regime in ("l1", "global"):
        want = m["regime_params"]["pruning"]["requested_sparsity"]
        assert abs(sparsity - want) <= 0.005
    if regime == "layered" and extra.get("layered_mode") != "mask":
        assert m["params"] <= 0.30 * count_params(create_model("resnet20"))
        assert m["widths"]["stem"] == 8
        assert create_model("resnet20", m["widths"]).load_state_dict(payload["state_dict"])
    if (regime, timing) in EXPORTED and not extra:
        verify_file(out_dir, m, "onnx")
    if regime == "adversarial":
        attack = m["regime_params"]["attack"]
        assert attack["units"] == "pixel [0,1]" and attack["steps"] == 2


def test_natural_build_records_robust_accuracy_and_sparsity(regime_out):
    m = read_manifest(regime_out / "resnet20-natural-s0")
    assert m["metrics"]["robust"]["images"] == 64
    assert m["metrics"]["weight_sparsity"]["weights"] < 0.01
    assert m["regime_params"] == {"regime": "natural", "timing": None}


def test_missing_parent_is_built_then_reused(fake_gtsrb, tmp_path, monkeypatch):
    _maybe_skip_export(monkeypatch, "global", "post", {})
    first = run_build(_opts(fake_gtsrb, tmp_path, regime="global", timing="post", robust=False))
    parent_dir = tmp_path / "resnet20-natural-s0"
    sha = read_manifest(parent_dir)["files"]["model"]["sha256"]
    assert read_manifest(first)["parent"]["model_sha256"] == sha
    stamp = (parent_dir / "model.pt").stat().st_mtime_ns
    run_build(_opts(fake_gtsrb, tmp_path, regime="l1", timing="post", robust=False))
    assert (parent_dir / "model.pt").stat().st_mtime_ns == stamp


def test_a_parent_trained_on_other_data_is_refused(fake_gtsrb, regime_out, tmp_path):
    shutil.copytree(regime_out / "resnet20-natural-s0", tmp_path / "resnet20-natural-s0")
    with pytest.raises(EdgexaiError, match="limit per class is 4, this build needs 3"):
        run_build(_opts(fake_gtsrb, tmp_path, regime="l1", timing="post", limit_per_class=3))


@pytest.mark.parametrize("kw,message", [
    (dict(regime="natural", timing="post"), "natural takes none"),
    (dict(regime="adversarial", timing="pre"), "does not apply to adversarial"),
    (dict(regime="l1", settings=RegimeSettings(amount=1.5)), "--amount must be in [0, 1)"),
    (dict(regime="adversarial", settings=RegimeSettings(epsilon=8)), "--epsilon must be in (0, 1]"),
    (dict(regime="layered", settings=RegimeSettings(max_layer_amount=1)), "--max-layer-amount"),
    (dict(regime="layered", settings=RegimeSettings(layered_mode="bogus")), "--layered-mode"),
])
def test_bad_regime_options_are_refused_before_any_work(tmp_path, kw, message):
    with pytest.raises(EdgexaiError, match=re.escape(message)):
        run_build(_opts(tmp_path / "missing-data", tmp_path / "out", **kw))
    assert not (tmp_path / "out").exists()


def test_bad_regime_option_is_one_line_on_the_command_line(tmp_path):
    proc = run_cli("build", "--regime", "l1", "--amount", "1.5", "--out", str(tmp_path),
                   "--data-root", str(tmp_path / "missing"))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and len(lines) == 1 and "--amount must be in" in lines[0], proc.stderr
