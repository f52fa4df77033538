"""`edgexai build --regime natural` end to end on tiny data, determinism and bad input."""

import json

import pytest
import torch
from support import run_cli

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import read_manifest, verify_file
from edgexai.train.builder import BuildOptions, run_build
from edgexai.train.models.checkpoint import load_model

REQUIRED_KEYS = {
    "name",
    "regime",
    "timing",
    "arch",
    "input_size",
    "mean",
    "std",
    "classes",
    "seed",
    "params",
    "macs",
    "metrics",
    "parent",
    "files",
    "versions",
    "git",
}


def _opts(data, out, **kw):
    base = dict(
        data_root=str(data), out=str(out), epochs=2, limit_per_class=4, device="cpu", progress=False
    )
    return BuildOptions(**{**base, **kw})


def test_build_writes_a_complete_build_folder(fake_gtsrb, tmp_path):
    out_dir = run_build(_opts(fake_gtsrb, tmp_path))
    manifest = read_manifest(out_dir)
    assert REQUIRED_KEYS <= set(manifest)
    assert {"test_accuracy", "val_accuracy"} <= set(manifest["metrics"])
    assert manifest["data"]["val_split"]["by"] == "track"
    payload = torch.load(verify_file(out_dir, manifest, "model"), weights_only=True)
    assert payload["arch"] == "resnet20"
    assert len(json.loads((out_dir / "train_log.jsonl").read_text().splitlines()[-1])) > 3
    assert not (out_dir / "checkpoint.pt").exists()


def test_same_seed_gives_identical_weights_and_accuracy(fake_gtsrb, tmp_path):
    a = run_build(_opts(fake_gtsrb, tmp_path / "a", seed=3))
    b = run_build(_opts(fake_gtsrb, tmp_path / "b", seed=3))
    c = run_build(_opts(fake_gtsrb, tmp_path / "c", seed=4))
    sa, sb, sc = (load_model(d / "model.pt").state_dict() for d in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    ma, mb = read_manifest(a), read_manifest(b)
    assert ma["metrics"]["test_accuracy"] == mb["metrics"]["test_accuracy"]


def test_resume_after_a_crash_ends_with_the_same_weights(fake_gtsrb, tmp_path, monkeypatch):
    """A build killed after epoch 2 and resumed ends exactly where an uninterrupted one does."""
    from edgexai.train.regimes.train_loop import Trainer

    full = run_build(_opts(fake_gtsrb, tmp_path / "full", epochs=3))
    original = Trainer._end_epoch

    def crash_after_second(self, epoch, *args):
        original(self, epoch, *args)
        if epoch == 1:
            raise RuntimeError("simulated crash")

    monkeypatch.setattr(Trainer, "_end_epoch", crash_after_second)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_build(_opts(fake_gtsrb, tmp_path / "part", epochs=3))
    monkeypatch.setattr(Trainer, "_end_epoch", original)
    part_dir = tmp_path / "part" / "resnet20-natural-s0.partial"  # the staging folder
    assert (part_dir / "checkpoint.pt").exists() and not (part_dir / "model.pt").exists()
    assert not (tmp_path / "part" / "resnet20-natural-s0").exists()
    resumed = run_build(_opts(fake_gtsrb, tmp_path / "part", epochs=3, resume="auto"))
    sa, sb = (load_model(d / "model.pt").state_dict() for d in (full, resumed))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    log = (resumed / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2, 3]


@pytest.mark.slow
def test_paper_scale_resnet18_trains_an_epoch_and_evaluates(fake_gtsrb, tmp_path):
    out_dir = run_build(_opts(fake_gtsrb, tmp_path, preset="paper", epochs=1, limit_per_class=2))
    manifest = read_manifest(out_dir)
    assert manifest["arch"] == "resnet18" and manifest["params"] > 11_000_000
    assert 0.0 <= manifest["metrics"]["test_accuracy"] <= 1.0
    assert manifest["data"]["test_images"] == 43 * 2


def _assert_one_line_error(proc, pattern):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert pattern in lines[0], lines[0]


def test_bad_input_gives_one_line_errors(fake_gtsrb, tmp_path):
    corrupt = tmp_path / "gtsrb.tar.gz"
    corrupt.write_bytes(b"garbage" * 100)
    common = [
        "build",
        "--epochs",
        "1",
        "--limit-per-class",
        "2",
        "--no-progress",
        "--device",
        "cpu",
    ]
    _assert_one_line_error(
        run_cli(*common, "--data-root", str(corrupt), "--out", str(tmp_path / "o")),
        "not a tar archive",
    )
    _assert_one_line_error(
        run_cli(*common, "--data-root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")),
        "does not exist",
    )
    _assert_one_line_error(run_cli(*common, "--regime", "bogus"), "invalid choice: 'bogus'")
    _assert_one_line_error(run_cli(*common, "--arch", "resnet99"), "invalid choice: 'resnet99'")
    _assert_one_line_error(
        run_cli(*common, "--regime", "natural", "--timing", "pre"), "natural takes none"
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    _assert_one_line_error(
        run_cli(*common, "--data-root", str(fake_gtsrb), "--out", str(blocker)),
        "cannot write there",
    )
    _assert_one_line_error(run_cli(*common, "--epochs", "0"), "--epochs must be at least 1")


def test_resume_with_a_checkpoint_of_another_arch_is_refused(fake_gtsrb, tmp_path):
    from edgexai.train.models import get_spec
    from edgexai.train.regimes.train_loop import TrainConfig, Trainer

    spec = get_spec("resnet18")
    trainer = Trainer(
        spec.build(),
        "resnet18",
        TrainConfig(epochs=1),
        spec.mean,
        spec.std,
        tmp_path,
        progress=False,
    )
    trainer.save_checkpoint(0)
    proc = run_cli(
        "build",
        "--epochs",
        "1",
        "--limit-per-class",
        "2",
        "--no-progress",
        "--device",
        "cpu",
        "--data-root",
        str(fake_gtsrb),
        "--out",
        str(tmp_path / "o"),
        "--resume",
        str(tmp_path / "checkpoint.pt"),
    )
    _assert_one_line_error(proc, "checkpoint of arch 'resnet18', not 'resnet20'")


def test_build_flags_give_build_options_with_their_defaults_written_once():
    """The CLI generates its options from BuildOptions and RegimeSettings and builds them back."""
    from edgexai.train.build_options import add_build_arguments, options_from_args
    from edgexai.train.regimes import RegimeSettings

    def parse(*argv):
        import argparse

        parser = argparse.ArgumentParser()
        add_build_arguments(parser)
        return options_from_args(parser.parse_args(list(argv)))

    assert parse() == BuildOptions()
    opts = parse(
        "--regime",
        "layered",
        "--timing",
        "pre",
        "--no-progress",
        "--no-robust",
        "--no-random-start",
        "--resume",
        "--roi",
        "--amount",
        "0.3",
        "--epochs",
        "2",
    )
    assert opts == BuildOptions(
        regime="layered",
        timing="pre",
        progress=False,
        robust=False,
        resume="auto",
        roi=True,
        epochs=2,
        settings=RegimeSettings(random_start=False, amount=0.3),
    )
    assert parse("--resume", "x.pt").resume == "x.pt"
    assert parse("--no-roi").roi is False and parse().roi is None  # None: the preset's framing


def test_build_help_keeps_its_flags_groups_and_switch_defaults():
    proc = run_cli("build", "--help")
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 0
    for text in (
        "--regime {natural,adversarial,l1,global,layered} training regime (default: natural)",
        "--no-progress no progress bars --parent-epochs",
        "--resume [CHECKPOINT]",
        "pruning (l1, global, layered):",
        "adversarial training and robust evaluation (PGD, L-infinity):",
        "--robust-steps ROBUST_STEPS robust accuracy: PGD steps (default: 20)",
    ):
        assert text in out, text


@pytest.mark.parametrize(("native", "used"), [(False, "fp32"), (True, "bf16")])
def test_a_build_records_the_training_precision_it_used(
    fake_gtsrb, tmp_path, monkeypatch, native, used
):
    """auto falls back to fp32 where bf16 is not native (a monkeypatched capability report);
    with it, the build trains in bf16 autocast; either way train_config.precision says which."""
    from edgexai.train import train_precision

    monkeypatch.setattr(train_precision, "cpu_has_bf16", lambda: native)
    out_dir = run_build(_opts(fake_gtsrb, tmp_path, epochs=1, robust=False))
    assert read_manifest(out_dir)["train_config"]["precision"] == used


def test_select_last_keeps_the_final_epoch_and_best_val_the_best_one(fake_gtsrb, tmp_path):
    """The cpu preset keeps its annealed last epoch; best_val keeps the best validation epoch
    (a build records which in metrics.best_epoch); an unknown selection is refused."""
    from edgexai.train.builder import load_data
    from edgexai.train.models import get_spec
    from edgexai.train.regimes.train_loop import TrainConfig, Trainer

    spec = get_spec("resnet20")
    _, train, val, _ = load_data(_opts(fake_gtsrb, tmp_path), spec.input_size)
    for select in ("best_val", "last"):
        torch.manual_seed(0)
        cfg = TrainConfig(epochs=3, lr=0.05, select=select, precision="fp32")
        (tmp_path / select).mkdir()
        trainer = Trainer(
            spec.build(), "resnet20", cfg, spec.mean, spec.std, tmp_path / select, progress=False
        )
        result = trainer.fit(train, val)
        vals = [row["val_accuracy"] for row in result.history]
        if select == "last":
            assert result.best_epoch == 2 and result.best_val_accuracy == pytest.approx(
                vals[-1], abs=1e-5
            )
        else:
            assert result.best_val_accuracy == pytest.approx(max(vals), abs=1e-5)
    with pytest.raises(EdgexaiError, match="unknown epoch selection"):
        Trainer(
            spec.build(),
            "resnet20",
            TrainConfig(epochs=1, select="median"),
            spec.mean,
            spec.std,
            tmp_path / "x",
            progress=False,
        )


def test_a_build_without_a_validation_split_reports_no_validation_accuracy(fake_gtsrb, tmp_path):
    """--val-fraction 0 (every track trains) with --limit-per-class: the empty split stays empty,
    the build completes, and metrics.val_accuracy is null rather than the kept epoch's index."""
    out_dir = run_build(_opts(fake_gtsrb, tmp_path, epochs=1, val_fraction=0.0, robust=False))
    manifest = read_manifest(out_dir)
    assert manifest["data"]["val_images"] == 0
    assert manifest["metrics"]["val_accuracy"] is None
