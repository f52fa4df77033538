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
