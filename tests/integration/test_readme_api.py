"""README's "Python API" example (between <!-- api-example --> markers) runs as written: against
the tiny trained build (its path put in for the README's), on three PNG files in a scratch
folder, in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
from support import REPO

README_BUILD = '"builds/resnet20-natural-s0"'


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(
        r"<!-- api-example -->\s*```python\n(.*?)```\s*<!-- /api-example -->", text, re.S
    )
    assert found, "README.md has no <!-- api-example --> python block"
    return found.group(1)


def test_readme_python_api_example_runs(tiny_build, tmp_path):
    import cv2

    code = readme_example()
    assert README_BUILD in code
    code = code.replace(README_BUILD, repr(str(tiny_build)))
    rng = np.random.default_rng(0)
    for i in (1, 2, 3):
        cv2.imwrite(
            str(tmp_path / f"sign{i}.png"), rng.integers(0, 256, (30 + 7 * i, 40, 3), np.uint8)
        )
    (tmp_path / "example.py").write_text(code)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert len(lines) == 3 + 4, out.stdout
    assert all("(32, 32)" in line for line in lines[:3])  # class, name, confidence, cam shape
    assert "'vg'" in lines[3] and "'mean'" in lines[3]
    assert lines[4] == "(3, 10)"  # images × the default ten percentages
