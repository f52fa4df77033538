"""Issue 17 items 3, 4 and 10 (build side): a finished build is never destroyed by a rebuild, two
builds of one folder cannot mix, and bad input is refused before anything is written.

Self-contained beyond conftest's `fake_gtsrb` (no import of modules added by the fix, its own CLI
runner), so the same file runs against the code before it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import torch

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import read_manifest, verify_file
from edgexai.train.builder import BuildOptions, run_build

NAME = "resnet20-natural-s0"
REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: int = 300):
    """`python -m edgexai ARGS` in a subprocess, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "edgexai", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        cwd=REPO,
    )


def _opts(data, out, **kw):
    base = dict(
        data_root=str(data),
        out=str(out),
        epochs=1,
        limit_per_class=2,
        device="cpu",
        progress=False,
        robust=False,
    )
    return BuildOptions(**{**base, **kw})


def _digests_hold(folder) -> bool:
    """doctor's digest check: every file the manifest lists is there with its sha256."""
    manifest = read_manifest(folder)
    for role in manifest["files"]:
        verify_file(folder, manifest, role)
    return True


def _weights(folder):
    from edgexai.train.models.checkpoint import load_model

    return load_model(folder / "model.pt").state_dict()


def _one_line(proc) -> str:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


# -- item 3: a rebuild never destroys the finished build ---------------------------------------


def test_a_finished_build_is_refused_without_force_and_left_untouched(fake_gtsrb, tmp_path):
    first = run_build(_opts(fake_gtsrb, tmp_path))
    before = {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()}
    with pytest.raises(EdgexaiError, match="already holds a finished build; pass --force"):
        run_build(_opts(fake_gtsrb, tmp_path))
    after = {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()}
    assert after == before and _digests_hold(first)
    line = _one_line(
        run_cli(
            "build",
            "--data-root",
            str(fake_gtsrb),
            "--out",
            str(tmp_path),
            "--epochs",
            "1",
            "--limit-per-class",
            "2",
            "--device",
            "cpu",
            "--no-progress",
            "--no-robust",
        )
    )
    assert "already holds a finished build" in line


def test_an_interrupted_forced_rebuild_keeps_the_old_build_then_resumes(
    fake_gtsrb, tmp_path, monkeypatch
):
    """Killed mid-training, a --force rebuild leaves the finished build whole (digests match,
    no stray checkpoint); --resume continues the staged checkpoint to the same weights."""
    from edgexai.train.regimes.train_loop import Trainer

    first = run_build(_opts(fake_gtsrb, tmp_path, epochs=2))
    original = Trainer._end_epoch

    def crash_after_first(self, epoch, *args):
        original(self, epoch, *args)
        if epoch == 0:
            raise RuntimeError("simulated crash")

    monkeypatch.setattr(Trainer, "_end_epoch", crash_after_first)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_build(_opts(fake_gtsrb, tmp_path, epochs=2, force=True))
    monkeypatch.setattr(Trainer, "_end_epoch", original)
    assert _digests_hold(first) and not (first / "checkpoint.pt").exists()
    assert len((first / "train_log.jsonl").read_text().splitlines()) == 2
    staged = tmp_path / f"{NAME}.partial"
    assert (staged / "checkpoint.pt").is_file()
    resumed = run_build(_opts(fake_gtsrb, tmp_path, epochs=2, force=True, resume="auto"))
    assert resumed == first and _digests_hold(resumed) and not staged.exists()
    assert not (resumed / "checkpoint.pt").exists()
    log = (resumed / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2]
    assert not [p for p in tmp_path.iterdir() if ".old-" in p.name]


def test_the_matrix_resumes_a_staged_checkpoint(tmp_path, monkeypatch):
    from edgexai.study.regime_matrix import MatrixOptions, plan, run_cell

    (cell,) = plan(MatrixOptions(out=str(tmp_path), cells=("natural",)))
    staged = cell.folder.with_name(cell.folder.name + ".partial")
    staged.mkdir(parents=True)
    (staged / "checkpoint.pt").write_text("{}")
    runs = []

    def fake_run(argv, stdout, **kwargs):
        runs.append(argv)
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    (tmp_path / "logs").mkdir()
    assert run_cell(cell, tmp_path / "logs") and runs[0][-1] == "--resume"


# -- item 4: one build per folder at a time ------------------------------------------------------


def test_a_second_build_of_the_same_folder_refuses_in_one_line(fake_gtsrb, tmp_path, monkeypatch):
    """The first build is held after its first epoch; a second `edgexai build` to the same
    --out meanwhile refuses, and the first ends with its own log only."""
    from edgexai.train.regimes.train_loop import Trainer

    original = Trainer._end_epoch
    paused, release = threading.Event(), threading.Event()

    def hold_after_first(self, epoch, *args):
        original(self, epoch, *args)
        if epoch == 0:
            paused.set()
            release.wait(300)

    monkeypatch.setattr(Trainer, "_end_epoch", hold_after_first)
    outcome: dict = {}

    def first_build():
        try:
            outcome["folder"] = run_build(_opts(fake_gtsrb, tmp_path, epochs=2))
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    worker = threading.Thread(target=first_build)
    worker.start()
    try:
        assert paused.wait(300), outcome
        second = run_cli(
            "build",
            "--data-root",
            str(fake_gtsrb),
            "--out",
            str(tmp_path),
            "--epochs",
            "1",
            "--limit-per-class",
            "2",
            "--device",
            "cpu",
            "--no-progress",
            "--no-robust",
        )
    finally:
        release.set()
        worker.join(300)
    assert "another build" in _one_line(second)
    assert "error" not in outcome, outcome.get("error")
    folder = outcome["folder"]
    assert _digests_hold(folder)
    log = (folder / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2]


def test_a_lock_left_by_a_killed_build_does_not_block_the_next(fake_gtsrb, tmp_path):
    """flock, not a pid file: the kernel drops the lock of a process killed with -9."""
    lock = tmp_path / f".{NAME}.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nos.write(fd, b'%d' % os.getpid())\n"
            "print('locked', flush=True)\ntime.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        held = run_cli(
            "build",
            "--data-root",
            str(fake_gtsrb),
            "--out",
            str(tmp_path),
            "--epochs",
            "1",
            "--limit-per-class",
            "2",
            "--device",
            "cpu",
            "--no-progress",
            "--no-robust",
        )
        assert f"another build (pid {holder.pid})" in _one_line(held)
    finally:
        holder.kill()  # SIGKILL: no chance to clean up
        holder.wait()
    assert lock.exists()
    assert _digests_hold(run_build(_opts(fake_gtsrb, tmp_path)))


# -- item 10: checks before writing; what a refusal says ------------------------------------------


def test_build_and_demo_check_data_and_device_before_creating_the_output(fake_gtsrb, tmp_path):
    common = ["--epochs", "1", "--limit-per-class", "2", "--no-progress"]
    missing = str(tmp_path / "no-data")
    line = _one_line(
        run_cli(
            "build",
            *common,
            "--device",
            "cpu",
            "--data-root",
            missing,
            "--out",
            str(tmp_path / "o1"),
        )
    )
    assert "does not exist" in line and not (tmp_path / "o1").exists()
    if not torch.cuda.is_available():
        line = _one_line(
            run_cli(
                "build",
                *common,
                "--device",
                "cuda",
                "--data-root",
                str(fake_gtsrb),
                "--out",
                str(tmp_path / "o2"),
            )
        )
        assert "no CUDA device" in line and not (tmp_path / "o2").exists()
    line = _one_line(
        run_cli(
            "demo",
            "--out",
            str(tmp_path / "d"),
            "--data-root",
            missing,
            "--limit-per-class",
            "2",
            "--no-progress",
        )
    )
    assert "does not exist" in line and not (tmp_path / "d").exists()


def test_bench_checks_pipeline_summaries_before_loading_any_model(tmp_path, monkeypatch):
    import edgexai.study.bench.bench_job as bench_run
    from edgexai.study.bench.bench_job import run_bench
    from edgexai.study.bench.bench_options import BenchOptions

    def no_models(opts):
        raise AssertionError("models were loaded before the summaries were checked")

    monkeypatch.setattr(bench_run, "select_models", no_models)
    bad = tmp_path / "summary.json"
    bad.write_text("{not json")
    for path in (tmp_path / "missing.json", bad):
        with pytest.raises(EdgexaiError, match="pipeline.summary"):
            run_bench(
                BenchOptions(
                    models=[str(tmp_path / "m")],
                    pipeline_summaries=[str(path)],
                    report=str(tmp_path / "r"),
                )
            )


def test_a_malicious_archive_is_refused_as_such_not_as_corrupt(tmp_path):
    from edgexai.train.data.locate import locate_gtsrb

    evil = tmp_path / "gtsrb.tar.gz"
    payload = tmp_path / "payload.txt"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="../escaped.txt")
    with pytest.raises(EdgexaiError) as info:
        locate_gtsrb(evil)
    message = str(info.value)
    assert "refused" in message and "outside" in message
    assert "corrupt or truncated" not in message and "copy it again" not in message
    assert not (tmp_path.parent / "escaped.txt").exists()


class _NotATensor:
    pass


def test_the_weights_only_refusal_never_suggests_weights_only_false(tmp_path):
    from edgexai.train.models.checkpoint import load_model

    pickled = tmp_path / "model.pt"
    torch.save({"format": "edgexai-model/1", "obj": _NotATensor()}, pickled)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"garbage" * 100)
    for path in (pickled, garbage):
        with pytest.raises(EdgexaiError) as info:
            load_model(path)
        message = str(info.value)
        assert "not a weights-only file" in message and "refused" in message, message
        for advice in ("False", "can still be loaded", "trust", "safe_globals"):
            assert advice not in message, message


def test_a_rebuild_stays_bit_identical(fake_gtsrb, tmp_path):
    """The staging changes where files are written, not what: same seed, same weights."""
    a = run_build(_opts(fake_gtsrb, tmp_path / "a", seed=2))
    b = run_build(_opts(fake_gtsrb, tmp_path / "b", seed=2, name="other"))
    sa, sb = _weights(a), _weights(b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not list((tmp_path / "a").glob("*.partial")) + list((tmp_path / "b").glob("*.partial"))


# -- issue 43 items 3 and 4: a build never reaches outside --out ----------------------------------


def _tree(root):
    """Every path under `root` with its bytes (folders as None)."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def test_a_name_outside_out_is_refused_and_touches_nothing(fake_gtsrb, tmp_path):
    """`--name ../victim --force` replaced the folder beside --out, `--name . --force` all of
    --out, an absolute name wrote anywhere: now one line each, when the command line is parsed."""
    out, victim = tmp_path / "X", tmp_path / "victim"
    run_build(_opts(fake_gtsrb, out, name="b1"))
    (out / "notes.txt").write_text("mine")
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    before = _tree(tmp_path)
    common = ["--data-root", str(fake_gtsrb), "--epochs", "1", "--limit-per-class", "2"]
    common += ["--device", "cpu", "--no-progress", "--no-robust", "--out", str(out), "--force"]
    for name in ("../victim", "."):  # an absolute name: tests/unit/test_build_names.py
        line = _one_line(run_cli("build", *common, "--name", name))
        assert "argument --name" in line and "one folder name inside --out" in line, line
        assert "--force" not in line  # the refusal never suggests forcing it
    assert _tree(tmp_path) == before


def test_detector_train_name_dot_is_one_line_and_moves_nothing(tmp_path):
    """Item 4: `detector train --name . --force` was a traceback and --out vanished into a hidden
    `.out.old-PID/`."""
    from support.pipeline import write_gt_frames

    frames = write_gt_frames(tmp_path / "frames", 4)
    out = tmp_path / "out"
    (out / "other-build").mkdir(parents=True)
    (out / "other-build" / "manifest.json").write_text("{}")
    before = _tree(tmp_path)
    line = _one_line(
        run_cli(
            "detector", "train", "--frames", str(frames), "--out", str(out), "--name", ".",
            "--force", "--steps", "1", "--train", "0:2", "--heldout", "2:4", "--no-synthetic",
        )
    )  # fmt: skip
    assert "argument --name" in line and "one folder name inside --out" in line, line
    assert _tree(tmp_path) == before


# -- issue 43 (small things): a failed build does not leave <name>.partial/ behind ---------------


def test_a_build_that_fails_before_a_checkpoint_removes_its_staging_folder(tmp_path):
    """A --dataset image that cannot be decoded fails the build after staging began: one line,
    and no `<name>.partial/` is left (nothing in it could be resumed)."""
    from support.data import make_image_folder

    data = make_image_folder(tmp_path / "signs", ("a", "b"), per_class=3)
    (data / "00000" / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    line = _one_line(
        run_cli(
            "build", "--dataset", str(data), "--out", str(out), "--epochs", "1",
            "--device", "cpu", "--no-progress", "--no-robust",
        )
    )  # fmt: skip
    assert "cannot decode" in line, line
    assert not [p.name for p in out.iterdir() if not p.name.endswith(".lock")], list(out.iterdir())


def test_a_detector_build_that_fails_removes_its_staging_folder(tmp_path):
    from support.pipeline import write_gt_frames

    frames = write_gt_frames(tmp_path / "frames", 4)
    out = tmp_path / "out"
    line = _one_line(
        run_cli(
            "detector", "train", "--frames", str(frames), "--out", str(out), "--steps", "1",
            "--train", "100:200", "--heldout", "0:2", "--no-synthetic",
        )
    )  # fmt: skip
    assert "selects no frame" in line, line
    assert not list(out.glob("*.partial")), list(out.iterdir())


def test_a_failed_build_with_a_checkpoint_keeps_it_and_says_how_to_resume(
    fake_gtsrb, tmp_path, monkeypatch, capsys
):
    """Past its first epoch a failing build keeps `<name>.partial/` for --resume, and says so: in
    the error's one line, or on stderr after a crash; --resume then finishes it."""
    from edgexai.train.regimes.train_loop import Trainer

    original = Trainer._end_epoch
    staged = tmp_path / f"{NAME}.partial"
    for error in (EdgexaiError("the disk is full"), RuntimeError("simulated crash")):

        def fail_after_first(self, epoch, *args, error=error):
            original(self, epoch, *args)
            if epoch == 0:
                raise error

        monkeypatch.setattr(Trainer, "_end_epoch", fail_after_first)
        with pytest.raises(type(error)) as info:
            run_build(_opts(fake_gtsrb, tmp_path, epochs=2))
        assert (staged / "checkpoint.pt").is_file()
        if isinstance(error, EdgexaiError):  # the one line the command prints
            message = str(info.value)
            assert message.startswith("the disk is full; ") and "\n" not in message, message
        else:  # a crash: the traceback follows this line on stderr
            message = capsys.readouterr().err
        assert f"kept in {staged}" in message and "--resume" in message, message
    monkeypatch.setattr(Trainer, "_end_epoch", original)
    folder = run_build(_opts(fake_gtsrb, tmp_path, epochs=2, resume="auto"))
    assert _digests_hold(folder) and not staged.exists()
