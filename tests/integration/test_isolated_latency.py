"""Timing in one worker process per candidate (edgexai.study.bench.isolated) and the CAM-cost summary."""

from __future__ import annotations

import numpy as np
import pytest

from edgexai.core.errors import EdgexaiError
from edgexai.study.bench import cam_cost
from edgexai.study.bench.isolated import Candidate, resolve, time_in_processes


def test_each_candidate_gets_every_call_timed_in_its_own_process():
    cands = {
        "fast": Candidate("support.latency_factories:sleeper", {"seconds": 0.001}),
        "slow": Candidate("support.latency_factories:sleeper", {"seconds": 0.012}),
    }
    times = time_in_processes(cands, rounds=3, per_round=4, warmup=1, settle_s=0.0)
    assert {k: len(v) for k, v in times.items()} == {"fast": 12, "slow": 12}
    assert min(times["fast"]) >= 0.001 and min(times["slow"]) >= 0.012
    assert np.median(times["slow"]) > np.median(times["fast"]) + 0.008


def test_worker_failures_are_clear_errors():
    with pytest.raises(EdgexaiError, match="'bad' failed: RuntimeError: no such model here"):
        time_in_processes(
            {
                "ok": Candidate("support.latency_factories:sleeper", {"seconds": 0.0}),
                "bad": Candidate("support.latency_factories:broken_factory"),
            },
            1,
            1,
            0,
            0.0,
        )
    with pytest.raises(EdgexaiError, match="'call' failed: ValueError: bad input shape"):
        time_in_processes(
            {"call": Candidate("support.latency_factories:fails_on_call")}, 1, 1, 0, 0.0
        )


def test_bad_arguments_are_refused():
    with pytest.raises(EdgexaiError, match="module:function"):
        resolve("no_colon_here")
    with pytest.raises(EdgexaiError, match="at least 1"):
        time_in_processes(
            {"x": Candidate("support.latency_factories:sleeper", {"seconds": 0})}, 0, 1
        )
    with pytest.raises(EdgexaiError, match="nothing to time"):
        time_in_processes({}, 1, 1)


def test_summary_compares_each_side_at_its_fastest_thread_count():
    ms = {
        "ort_cam_t1": 0.76,
        "ort_nocam_t1": 0.74,
        "captum_t1": 5.8,
        "ort_cam_t2": 0.44,
        "ort_nocam_t2": 0.41,
        "captum_t2": 6.4,
    }
    s = cam_cost.summarise({k: [v / 1000.0] * 3 for k, v in ms.items()}, (1, 2))
    assert s["best_vs_best"] == {
        "ort_threads": 2,
        "ort_cam_ms": 0.44,
        "captum_threads": 1,
        "captum_ms": 5.8,
        "captum_over_ort_cam": round(5.8 / 0.44, 2),
    }
    assert s["per_threads"][1]["captum_over_ort_cam"] == round(5.8 / 0.76, 2)
    assert s["cam_overhead_max_pct"] == round(100 * (0.44 / 0.41 - 1), 2)


@pytest.mark.slow
def test_cam_cost_runs_on_a_build(tiny_build, tmp_path):
    """ORT with and without the CAM and captum, each in its own process, on a real build folder."""
    import shutil

    from edgexai.train.export.precision import ensure_variant

    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    ensure_variant(build, "nocam", None)
    image = tmp_path / "x.npy"
    np.save(image, np.zeros((1, 3, 32, 32), np.float32))
    r = cam_cost.measure(str(build), str(image), threads=(1,), rounds=1, per_round=2, extras=False)
    assert set(r["median_ms"]) == {"ort_cam_t1", "ort_nocam_t1", "captum_t1"}
    assert all(v > 0 for v in r["median_ms"].values())
    assert r["best_vs_best"]["captum_over_ort_cam"] > 0
