"""Thread waiting that degrades in proportion when a vehicle computer runs other processes.

OpenMP workers that spin-wait at every barrier burn their share of a contended core while the
thread they wait for is descheduled: on 2 cores one competing CPU-bound process made two-thread
torch training ~30× slower (docs/RESULTS.md, issue 17). Sleeping at once at every barrier
(passive) keeps a contended run near its fair share but pays a wake-up at each of a training
step's many barriers, which on a 2-vCPU Zen 4 VM made a `cpu` build 1.28× slower than a short
spin first (RESULTS, issue 19). So workers spin for a bounded count (libgomp's scale: about
100,000 per ms, so ~0.1 ms) and then sleep; contended/alone stayed within issue 17's 2.5.

Set before torch or ONNX Runtime load their thread pools. If the user exported either variable,
neither is set: an explicit spin count would override the user's wait policy. torch's libgomp
reads both; ONNX Runtime's own pools are set per session (`allow_spinning`, edgexai.deploy.runtime.ort).
"""

from __future__ import annotations

import os

WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"}


def contention_safe_threads() -> dict[str, str]:
    """Apply the wait policy to this process unless the user set one; returns what is in force."""
    if not any(key in os.environ for key in WAIT_POLICY):
        os.environ.update(WAIT_POLICY)
    return {key: os.environ[key] for key in WAIT_POLICY if key in os.environ}
