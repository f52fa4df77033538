"""The deployment side's floor, DDP, and the CLI's shape."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli

TESTS = Path(__file__).resolve().parent


def _python_without_torch(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{REPO}"}
    return subprocess.run([sys.executable, "-c", "import blocktorch\n" + code],
                          capture_output=True, text=True, env=env, timeout=120, cwd=REPO)


def test_import_and_help_work_without_torch():
    proc = _python_without_torch(
        "import sys, edgexai, edgexai.cli\n"
        "try:\n    import torch\nexcept ModuleNotFoundError:\n    pass\n"
        "else:\n    sys.exit('torch was importable')\n"
        "edgexai.cli.main(['--help'])\n")
    assert proc.returncode == 0, proc.stderr
    assert "build" in proc.stdout


def test_training_command_without_torch_says_what_to_install():
    proc = _python_without_torch("import sys, edgexai.cli\n"
                                 "sys.exit(edgexai.cli.main(['build', '--epochs', '1']))\n")
    assert proc.returncode == 1
    assert "pip install 'edgexai[train]'" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_every_build_option():
    proc = run_cli("build", "--help")
    assert proc.returncode == 0
    for flag in ("--regime", "--arch", "--preset", "--epochs", "--seed", "--data-root", "--out",
                 "--device", "--limit-per-class", "--resume"):
        assert flag in proc.stdout


@pytest.mark.slow
def test_two_process_ddp_step_with_gloo(fake_gtsrb, tmp_path):
    """torchrun with two CPU processes (gloo) trains one step and writes one build folder."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "edgexai", "build", "--epochs", "1", "--limit-per-class", "2", "--device", "cpu",
         "--no-progress", "--data-root", str(fake_gtsrb), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    log = (tmp_path / "resnet20-natural-s0" / "train_log.jsonl").read_text().splitlines()
    assert len(log) == 1 and json.loads(log[0])["epoch"] == 1
    assert (tmp_path / "resnet20-natural-s0" / "manifest.json").exists()
