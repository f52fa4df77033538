"""Thread waiting that degrades in proportion when a vehicle computer runs other processes.

OpenMP workers that spin-wait at every barrier burn their share of a contended core while the
thread they wait for is descheduled: on 2 cores one competing CPU-bound process made two-thread
torch training ~30× slower (docs/RESULTS.md). Passive waiting (threads sleep at barriers) costs a
little alone and keeps a contended run near its fair share. Set before torch or ONNX Runtime load
their thread pools; a value the user exported wins. ONNX Runtime's own pools are set per session
(`allow_spinning`, edgexai.runtime.ort).
"""

from __future__ import annotations

import os

WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE"}


def contention_safe_threads() -> dict[str, str]:
    """Apply the wait policy to this process (unless already set); returns what is in force."""
    for key, value in WAIT_POLICY.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in WAIT_POLICY}
