"""Issue 43's API cases: bad arguments to `edgexai.load` and `predict` are one `EdgexaiError`
line (never a traceback, never silently accepted), and a closed classifier says so, also when
`close()` comes from another thread while a `predict` runs."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from support.pipeline import write_onnx_build

import edgexai
from edgexai.core.errors import EdgexaiError

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_onnx_build(tmp_path_factory.mktemp("api-faults") / "tiny", input_size=32)


def _images(n: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (40, 36, 3), np.uint8) for _ in range(n)]


@pytest.mark.parametrize("threads", [1.5, -1, 0, True, "2"])
def test_load_refuses_threads_that_are_not_a_positive_count(build, threads):
    with pytest.raises(EdgexaiError, match="threads must be a positive integer"):
        edgexai.load(build, backend="ort", threads=threads)


def test_load_takes_numpy_integers_for_counts(build):
    with edgexai.load(build, backend="ort", threads=np.int64(1)) as m:
        (p,) = m.predict(_images(1), top_k=np.int64(3))
    assert len(p.top_k) == 3


@pytest.mark.parametrize("path", [None, 3, b"bytes"])
def test_load_refuses_a_build_dir_that_is_not_a_path(path):
    with pytest.raises(EdgexaiError, match="build_dir must be a path"):
        edgexai.load(path, backend="ort")


@pytest.mark.parametrize("top_k", [True, 0, 2.0, "3"])
def test_predict_refuses_a_top_k_that_is_not_a_positive_count(build, top_k):
    with edgexai.load(build, backend="ort") as m, pytest.raises(EdgexaiError, match="top_k"):
        m.predict(_images(1), top_k=top_k)


def test_logits_of_an_empty_batch_is_an_empty_array(build):
    with edgexai.load(build, backend="ort") as m:
        x = m.preprocess(_images(2))
        out = m.logits(x[:0])
    assert out.shape == (0, len(m.classes))


def test_predict_after_close_is_one_line(build):
    m = edgexai.load(build, backend="ort")
    m.close()
    m.close()  # twice is fine
    with pytest.raises(EdgexaiError, match="closed"):
        m.predict(_images(1))


def test_close_from_another_thread_waits_for_the_running_predict(build):
    """close() while predict runs elsewhere: the predict finishes with its answer, close
    returns after it, and the next predict is refused in one line."""
    m = edgexai.load(build, backend="ort")
    real = m.engine.infer
    started = threading.Event()

    def slow_infer(batch):
        started.set()
        time.sleep(0.3)
        return real(batch)

    m.engine.infer = slow_infer
    results: list = []
    worker = threading.Thread(target=lambda: results.append(m.predict(_images(2))))
    worker.start()
    assert started.wait(5)
    m.close()
    worker.join(5)
    assert len(results) == 1 and len(results[0]) == 2
    with pytest.raises(EdgexaiError, match="closed"):
        m.predict(_images(1))
