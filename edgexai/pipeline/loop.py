"""The run loop: source → find signs → classify + CAM → decide → probe → render → log.

Each stage is a small object with its own timing; the loop below only moves a frame through them.
Finding signs is a `SignFinder` (the learned detector by default, the colour cascade for
comparison); whichever it is, one classifier engine call per frame classifies every candidate and
returns each one's Grad-CAM, and on sampled frames one more call runs the faithfulness probe.
Every exit path (end of source, --max-frames, SIGINT/SIGTERM, a closed window, an error) writes
the summary; errors travel as exceptions.
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.detect.boxes import nms
from edgexai.errors import EdgexaiError
from edgexai.pipeline.batching import extract_crops, make_batch, pad_boxes
from edgexai.pipeline.decision import Decision
from edgexai.pipeline.finders import ColourFinder, DetectorFinder, SignFinder
from edgexai.pipeline.log import JsonlLog
from edgexai.pipeline.overlay import Display, draw
from edgexai.pipeline.session import InferenceSession, ModelInfo, open_model
from edgexai.pipeline.sources import FrameSource, Reader, SourceSpec, open_reader, parse_uri
from edgexai.pipeline.summary import Summary, format_summary, write_summary

FINDERS = ("detector", "colour")


@dataclass
class RunConfig:
    """Everything `edgexai run` decides (the CLI fills it; tests build it directly)."""

    source: str
    model: str | None = None
    backend: str = "auto"
    precision: str = "fp32"
    finder: str = "detector"               # detector | colour
    detector: str | None = None            # detector build folder (None: the packaged one)
    headless: bool = True
    output: str | None = None
    log: str = "edgexai-run.jsonl"
    log_max_bytes: int = 50 * 2**20
    log_backups: int = 5
    summary: str | None = None            # default: LOG with .summary.json
    probe_every: int = 0
    probe_top_pct: float = 20.0
    input_width: int | None = None
    input_height: int | None = None
    input_rate: float | None = None
    loop: bool = False
    max_frames: int | None = None
    min_confidence: float | None = None    # None: the finder's calibrated decision
    min_score: float | None = None         # None: the finder's calibrated decision
    candidate_threshold: float | None = None  # detector score a box needs to be classified
    refine: bool = True                    # colour: use the rejector's box refiner
    sign_threshold: float | None = None    # colour: None = the rejector's calibrated threshold
    no_rejector: bool = False              # colour: classify every proposal
    max_classify: int = 64                 # at most this many crops per engine call
    nms_iou: float = 0.3
    live: bool | None = None               # None: by source kind
    stall_s: float = 5.0
    cv_threads: int = 1                    # OpenCV worker threads (0: OpenCV's default)
    prepare_in_capture: bool = True        # the finder's prepare step in the capture thread
    engine_threads: int | None = None      # ONNX Runtime intra-op threads (None: its default)
    quiet: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def summary_path(self) -> Path:
        return Path(self.summary) if self.summary else Path(str(self.log) + ".summary.json")


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _gini(cams: np.ndarray) -> np.ndarray:
    from edgexai.metrics.sparsity import gini

    return np.atleast_1d(np.asarray(gini(cams), np.float64))


def probe(session: InferenceSession, batch: np.ndarray, cams: np.ndarray, classes: np.ndarray,
          conf: np.ndarray, top_pct: float, seed: int,
          max_batch: int | None = None) -> list[dict[str, float]]:
    """On-device faithfulness probe: remove each crop's top-k % CAM pixels (fill = the dataset
    mean, i.e. 0 after normalisation) and, as a control, the same number of random pixels; one
    engine call for all copies; report the confidence drop of the predicted class for both.
    A faithful CAM makes `drop` clearly larger than `drop_random`."""
    from edgexai.metrics.perturbation import count_removed, keep_mask, rank_pixels

    n, _, h, w = batch.shape
    k = count_removed(top_pct, h * w)
    rng = np.random.default_rng(seed)
    morf = keep_mask(rank_pixels(cams.reshape(n, -1)), k, "morf", (h, w))
    rand = keep_mask(np.argsort(rng.random((n, h * w)), 1), k, "morf", (h, w))
    copies = np.concatenate([batch * morf[:, None], batch * rand[:, None]]).astype(np.float32)
    step = max_batch or len(copies)  # one call, unless the engine's profile is smaller
    logits = np.concatenate([np.asarray(session.infer(copies[i:i + step])[0])
                             for i in range(0, len(copies), step)])
    p = softmax(np.asarray(logits, np.float64))
    idx = np.concatenate([classes, classes])
    pc = p[np.arange(2 * n), idx]
    return [{"top_pct": top_pct, "conf_removed": round(float(pc[i]), 4),
             "drop": round(float(conf[i] - pc[i]), 4),
             "drop_random": round(float(conf[i] - pc[n + i]), 4)} for i in range(n)]


@dataclass
class Classified:
    """The classify stage's result for one frame's candidates."""

    padded: np.ndarray   # crop boxes (frame px, int)
    batch: np.ndarray    # the engine input
    logits: np.ndarray
    cams: np.ndarray


class ClassifyStage:
    """Pad every candidate like a GTSRB image, crop, normalise, one engine call → logits + CAMs."""

    def __init__(self, session: InferenceSession, info: ModelInfo, max_batch: int) -> None:
        self.session, self.info, self.max_batch = session, info, max_batch

    def __call__(self, image: np.ndarray, boxes: np.ndarray, st: dict[str, float]) -> Classified:
        t = time.perf_counter()
        size = self.info.input_size
        padded = pad_boxes(boxes, image.shape)
        batch = make_batch(extract_crops(image, padded, size), self.info.mean, self.info.std)
        t1 = time.perf_counter()
        st["preprocess"] = st.get("preprocess", 0.0) + (t1 - t) * 1000
        if len(batch):
            logits, cams = self.session.infer(batch)
            logits, cams = np.asarray(logits, np.float64), np.asarray(cams, np.float32)
        else:
            logits = np.zeros((0, len(self.info.classes)))
            cams = np.zeros((0, size, size), np.float32)
        st["infer"] = (time.perf_counter() - t1) * 1000
        return Classified(padded, batch, logits, cams)


class DecideStage:
    """Confidence × sign score against the decision's thresholds, then NMS → detections."""

    def __init__(self, decision: Decision, classes: list[str], nms_iou: float) -> None:
        self.decision, self.classes, self.nms_iou = decision, classes, nms_iou

    def __call__(self, boxes: np.ndarray, sign_scores: np.ndarray, c: Classified,
                 st: dict[str, float]) -> tuple[list[dict[str, Any]], np.ndarray]:
        t = time.perf_counter()
        dets: list[dict[str, Any]] = []
        idx = np.zeros(0, np.int64)
        if len(c.logits):
            p = softmax(c.logits)
            cls = p.argmax(1)
            conf = p[np.arange(len(p)), cls]
            score = self.decision.score(sign_scores, conf)
            ok = np.where(self.decision.accepts(sign_scores, conf, score))[0]
            if len(ok):
                idx = ok[nms(boxes[ok], score[ok].astype(np.float32), self.nms_iou)]
                for j, g in zip(idx, _gini(c.cams[idx]), strict=True):
                    k = int(cls[j])
                    dets.append({"box": [round(float(v), 1) for v in boxes[j]], "class_id": k,
                                 "class_name": self.classes[k],
                                 "confidence": round(float(conf[j]), 4),
                                 "sign_score": round(float(sign_scores[j]), 4),
                                 "score": round(float(score[j]), 4), "gini": round(float(g), 4)})
        st["post"] = (time.perf_counter() - t) * 1000
        return dets, idx


class _Stopper:
    """SIGINT/SIGTERM → a clean stop after the current frame; a second signal forces it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: str | None = None
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:
        name = signal.Signals(signum).name
        if self.event.is_set():
            raise KeyboardInterrupt(name)
        self.reason = name
        self.event.set()

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _watchdog():
    try:
        from edgexai.pipeline.watchdog import Notifier
    except ImportError:
        return None
    return Notifier()


def make_finder(cfg: RunConfig) -> SignFinder:
    """The configured sign finder: the detector (its own session, same backend and precision as
    the classifier) or the colour cascade."""
    if cfg.finder == "colour":
        from edgexai.pipeline.rejector import default_rejector

        return ColourFinder(rejector=None if cfg.no_rejector else default_rejector(),
                            sign_threshold=cfg.sign_threshold, refine=cfg.refine,
                            max_candidates=cfg.max_classify)
    if cfg.finder != "detector":
        raise EdgexaiError(f"unknown finder {cfg.finder!r}; choose one of {', '.join(FINDERS)}")
    from edgexai.pipeline.finders import default_detector_dir
    from edgexai.pipeline.session import open_detector

    build = Path(cfg.detector) if cfg.detector else default_detector_dir()
    session = open_detector(build, cfg.backend, cfg.precision, cfg.engine_threads)
    return DetectorFinder(session, build, cfg.candidate_threshold,
                          max_candidates=cfg.max_classify)


def run(cfg: RunConfig, *, session: InferenceSession | None = None, info: ModelInfo | None = None,
        finder: SignFinder | None = None, opener=open_reader) -> dict[str, Any]:
    """Run the pipeline until the source ends, max_frames, a signal or a closed window; returns
    the summary (also written to cfg.summary_path() and as the log's last line)."""
    spec: SourceSpec = parse_uri(cfg.source, cfg.input_width, cfg.input_height, cfg.input_rate,
                                 cfg.loop)
    if session is None or info is None:
        if not cfg.model:
            raise EdgexaiError("no model: pass --model DIR")
        session, info = open_model(cfg.model, cfg.backend, cfg.engine_threads, cfg.precision)
    finder = finder or make_finder(cfg)
    if cfg.cv_threads > 0:
        import cv2

        # measured: OpenCV's own worker pool doubles the proposer's CPU time on 2 shared cores;
        # the capture thread already uses the second core
        cv2.setNumThreads(cfg.cv_threads)
    decision = finder.decision.override(cfg.min_score, cfg.min_confidence)
    engine_max = getattr(session, "max_batch", None)  # a TensorRT profile's largest batch
    max_classify = min(cfg.max_classify, engine_max) if engine_max else cfg.max_classify
    classify = ClassifyStage(session, info, max_classify)
    decide = DecideStage(decision, info.classes, cfg.nms_iou)
    display = Display(window=not cfg.headless, output=cfg.output, fps=cfg.input_rate or 15.0)
    log = JsonlLog(cfg.log, cfg.log_max_bytes, cfg.log_backups)
    summary = Summary(spec.uri, info.name, info.backend)
    stopper = _Stopper()
    source: FrameSource | None = None
    wd = _watchdog()
    reason = "end of source"
    result: dict[str, Any] = {}
    try:
        log.write({"event": "start", "time": time.time(), "source": spec.uri, "kind": spec.kind,
                   "model": info.name, "model_path": info.path, "backend": info.backend,
                   "input_size": info.input_size, **finder.describe(),
                   "decision": decision.describe(), "probe_every": cfg.probe_every})
        source = FrameSource(spec, opener=opener, live=cfg.live, on_event=log.write,
                             work=finder.prepare if cfg.prepare_in_capture else None).start()
        stopper.install()
        if wd:
            wd.ready(f"running on {spec.uri}")
        n_done = 0
        waited_since = time.perf_counter()
        stall_logged = False
        while True:
            if stopper.event.is_set():
                reason = stopper.reason or "signal"
                break
            if cfg.max_frames is not None and n_done >= cfg.max_frames:
                reason = "max frames"
                break
            try:
                frame = source.get(timeout=0.2)
            except queue.Empty:
                waited = time.perf_counter() - waited_since
                if waited > cfg.stall_s and not stall_logged:
                    log.write({"event": "stall", "time": time.time(), "waited_s": round(waited, 2)})
                    stall_logged = True
                continue
            if frame is None:
                if source.error is not None:
                    raise source.error
                break
            t_frame = time.perf_counter()
            c_frame = time.thread_time()
            stall_logged = False
            img = frame.image
            st: dict[str, float] = {"capture": round(frame.capture_ms, 3)}

            cand = finder.find(img, frame.work, frame.work_ms)          # find signs
            st.update(cand.ms)
            top = np.argsort(-cand.scores, kind="stable")[:max_classify]  # an engine's limit
            boxes, sign_scores = cand.boxes[top], cand.scores[top]
            c = classify(img, boxes, st)                                 # classify + CAM
            dets, det_idx = decide(boxes, sign_scores, c, st)            # decide

            t = time.perf_counter()                                      # probe
            if cfg.probe_every > 0 and frame.index % cfg.probe_every == 0 and len(det_idx):
                res = probe(session, c.batch[det_idx], c.cams[det_idx],
                            np.array([d["class_id"] for d in dets]),
                            np.array([d["confidence"] for d in dets]), cfg.probe_top_pct,
                            seed=frame.index, max_batch=engine_max)
                for d, r in zip(dets, res, strict=True):
                    d["probe"] = r
            st["probe"] = (time.perf_counter() - t) * 1000

            t = time.perf_counter()                                      # render
            if display.active:
                shown = draw(img, dets, [c.cams[j] for j in det_idx],
                             [tuple(int(v) for v in c.padded[j]) for j in det_idx])
                if not display.show(shown):
                    reason = "window closed"
                    st["render"] = (time.perf_counter() - t) * 1000
                    break
            st["render"] = (time.perf_counter() - t) * 1000

            t = time.perf_counter()                                      # log
            rec: dict[str, Any] = {"time": round(time.time(), 4), "frame": frame.index,
                                   "source": spec.uri}
            if frame.name is not None:
                rec["file"] = frame.name
            rec["ms"] = {k: round(v, 3) for k, v in st.items()}
            rec["proposals"] = cand.proposals
            rec["classified"] = int(len(boxes))
            rec["detections"] = dets
            log.write(rec)
            st["log"] = (time.perf_counter() - t) * 1000
            frame_ms = (time.perf_counter() - t_frame) * 1000 + frame.capture_ms + frame.work_ms
            summary.add(st, frame_ms, [d["class_name"] for d in dets], cand.proposals, len(boxes),
                        cpu_main=(time.thread_time() - c_frame) * 1000, cpu_capture=frame.cpu_ms)
            if wd:
                wd.ping()
            n_done += 1
            waited_since = time.perf_counter()
    except KeyboardInterrupt as exc:
        reason = str(exc) or "SIGINT"
    except EdgexaiError:
        reason = "error"
        raise
    except Exception as exc:
        reason = f"error: {type(exc).__name__}: {exc}"
        raise
    finally:
        if wd:
            wd.stopping()
        stopper.restore()
        display.close()
        if source is None:  # it never started (the source did not open): no summary to give
            log.write({"event": "error", "time": time.time(), "reason": "source did not open"})
            log.close()
        else:
            source.stop()
            result = summary.result(reason, source.stats)
            log.write(result)
            log.close()
            write_summary(cfg.summary_path(), result)
            if not cfg.quiet:
                print(format_summary(result), file=sys.stderr)
    return result


__all__ = ["RunConfig", "run", "probe", "FINDERS", "Reader"]
