"""The run loop: capture → propose → reject → preprocess → infer (logits + CAM) → post → render → log.

One engine call per frame classifies every surviving proposal and returns each one's Grad-CAM;
on sampled frames one more call runs the faithfulness probe. Every exit path (end of source,
--max-frames, SIGINT/SIGTERM, a closed window, an error) writes the summary.
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

from edgexai.errors import EdgexaiError
from edgexai.pipeline.batching import extract_crops, make_batch, pad_boxes
from edgexai.pipeline.log import JsonlLog
from edgexai.pipeline.overlay import Display, draw
from edgexai.pipeline.proposals import ColourShapeProposer, Proposer, nms
from edgexai.pipeline.rejector import FEATURE_SIZE, Rejector, default_rejector
from edgexai.pipeline.session import InferenceSession, ModelInfo, open_model
from edgexai.pipeline.sources import FrameSource, Reader, SourceSpec, open_reader, parse_uri
from edgexai.pipeline.summary import Summary, format_summary, write_summary

# A survivor is reported as a sign when score = classifier confidence × rejector sign score reaches
# this; calibrated on GTSDB frames 0–399 (the rejector's validation frames, ≡ 3 mod 4) with the
# CPU default model (tools/score_gtsdb.py --calibrate; docs/RESULTS.md). The product measured
# better than either score alone or two separate thresholds.
DEFAULT_MIN_SCORE = 0.5
DEFAULT_MIN_CONFIDENCE = 0.0


@dataclass
class RunConfig:
    """Everything `edgexai run` decides (the CLI fills it; tests build it directly)."""

    source: str
    model: str | None = None
    backend: str = "auto"
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
    min_confidence: float | None = None    # None: DEFAULT_MIN_CONFIDENCE
    min_score: float | None = None         # None: DEFAULT_MIN_SCORE (confidence × sign score)
    refine: bool = True                    # use the rejector's box refiner when it has one
    rescore: bool = True                   # sign score = max(proposal crop, refined crop)
    sign_threshold: float | None = None    # None: the rejector's calibrated threshold
    no_rejector: bool = False
    max_classify: int = 64                 # at most this many crops per engine call
    nms_iou: float = 0.3
    live: bool | None = None               # None: by source kind
    stall_s: float = 5.0
    cv_threads: int = 1                    # OpenCV worker threads (0: OpenCV's default)
    propose_in_capture: bool = True        # propose in the capture thread (overlaps the engine)
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


def run(cfg: RunConfig, *, session: InferenceSession | None = None, info: ModelInfo | None = None,
        proposer: Proposer | None = None, rejector: Rejector | None | bool = True,
        opener=open_reader) -> dict[str, Any]:
    """Run the pipeline until the source ends, max_frames, a signal or a closed window; returns
    the summary (also written to cfg.summary_path() and as the log's last line)."""
    spec: SourceSpec = parse_uri(cfg.source, cfg.input_width, cfg.input_height, cfg.input_rate,
                                 cfg.loop)
    if session is None or info is None:
        if not cfg.model:
            raise EdgexaiError("no model: pass --model DIR")
        session, info = open_model(cfg.model, cfg.backend, cfg.engine_threads)
    if cfg.cv_threads > 0:
        import cv2

        # measured: OpenCV's own worker pool doubles the proposer's CPU time on 2 shared cores;
        # the capture thread already uses the second core
        cv2.setNumThreads(cfg.cv_threads)
    proposer = proposer or ColourShapeProposer()
    if rejector is True:
        rejector = None if cfg.no_rejector else default_rejector()
    rej: Rejector | None = rejector or None
    sign_thr = cfg.sign_threshold if cfg.sign_threshold is not None else (
        rej.threshold if rej else 0.0)
    min_conf = cfg.min_confidence if cfg.min_confidence is not None else DEFAULT_MIN_CONFIDENCE
    min_score = cfg.min_score if cfg.min_score is not None else DEFAULT_MIN_SCORE
    display = Display(window=not cfg.headless, output=cfg.output,
                      fps=cfg.input_rate or 15.0)
    log = JsonlLog(cfg.log, cfg.log_max_bytes, cfg.log_backups)
    summary = Summary(spec.uri, info.name, info.backend)
    stopper = _Stopper()
    source: FrameSource | None = None
    wd = _watchdog()
    reason = "end of source"
    names = info.classes
    size = info.input_size
    engine_max = getattr(session, "max_batch", None)  # a TensorRT profile's largest batch
    max_classify = min(cfg.max_classify, engine_max) if engine_max else cfg.max_classify
    result: dict[str, Any] = {}
    try:
        log.write({"event": "start", "time": time.time(), "source": spec.uri, "kind": spec.kind,
                   "model": info.name, "model_path": info.path, "backend": info.backend,
                   "input_size": size, "min_confidence": min_conf, "min_score": min_score,
                   "refine": bool(rej and rej.refines and cfg.refine),
                   "sign_threshold": sign_thr if rej else None,
                   "probe_every": cfg.probe_every})
        source = FrameSource(spec, opener=opener, live=cfg.live, on_event=log.write,
                             work=proposer.propose if cfg.propose_in_capture else None).start()
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

            if frame.work is not None:  # proposed in the capture thread, overlapped
                boxes, _ = frame.work
                st["propose"] = frame.work_ms
            else:
                t = time.perf_counter()
                boxes, _ = proposer.propose(img)
                st["propose"] = (time.perf_counter() - t) * 1000

            t = time.perf_counter()
            padded = pad_boxes(boxes, img.shape)
            crops = extract_crops(img, padded, FEATURE_SIZE if rej else size)
            t2 = time.perf_counter()
            st["preprocess"] = (t2 - t) * 1000
            if rej is not None and len(crops):
                feats = rej.standardised(crops)
                rscore = rej.score_x(feats)
                sel = np.where(rscore >= sign_thr)[0]
            else:
                feats = None
                rscore = np.ones(len(crops), np.float32)
                sel = np.arange(len(crops))
            if len(sel) > max_classify:
                sel = sel[np.argsort(-rscore[sel])[:max_classify]]
            sel_boxes = boxes[sel]
            refined = bool(rej is not None and rej.refines and cfg.refine and len(sel))
            if refined:
                sel_boxes = rej.refine_x(feats[sel], sel_boxes)
                h_img, w_img = img.shape[:2]
                sel_boxes[:, [0, 2]] = np.clip(sel_boxes[:, [0, 2]], 0, w_img)
                sel_boxes[:, [1, 3]] = np.clip(sel_boxes[:, [1, 3]], 0, h_img)
            t3 = time.perf_counter()
            st["reject"] = (t3 - t2) * 1000
            sel_score = rscore[sel]
            if refined:
                sel_padded = pad_boxes(sel_boxes, img.shape)
                sel_crops = extract_crops(img, sel_padded, size)
                if cfg.rescore:  # the refined crop is what gets classified: score that one
                    rc = sel_crops if size == FEATURE_SIZE else extract_crops(
                        img, sel_padded, FEATURE_SIZE)
                    sel_score = np.maximum(sel_score, rej.score(rc))
            else:
                sel_padded = padded[sel]
                sel_crops = crops[sel]
                if len(sel) and sel_crops.shape[1] != size:
                    sel_crops = extract_crops(img, sel_padded, size)
            batch = make_batch(sel_crops, info.mean, info.std)
            st["preprocess"] += (time.perf_counter() - t3) * 1000

            t = time.perf_counter()
            if len(sel):
                logits, cams = session.infer(batch)
                logits = np.asarray(logits, np.float64)
                cams = np.asarray(cams, np.float32)
            else:
                logits, cams = np.zeros((0, len(names))), np.zeros((0, size, size), np.float32)
            st["infer"] = (time.perf_counter() - t) * 1000

            t = time.perf_counter()
            dets: list[dict[str, Any]] = []
            det_idx = np.zeros(0, np.int64)
            if len(sel):
                p = softmax(logits)
                cls = p.argmax(1)
                conf = p[np.arange(len(p)), cls]
                score = conf * sel_score
                ok = np.where((conf >= min_conf) & (score >= min_score))[0]
                if len(ok):
                    order = nms(sel_boxes[ok], score[ok].astype(np.float32), cfg.nms_iou)
                    det_idx = ok[order]
                    ginis = _gini(cams[det_idx]) if len(det_idx) else []
                    for j, g in zip(det_idx, ginis, strict=True):
                        c = int(cls[j])
                        dets.append({"box": [round(float(v), 1) for v in sel_boxes[j]],
                                     "class_id": c, "class_name": names[c] if c < len(names) else str(c),
                                     "confidence": round(float(conf[j]), 4),
                                     "sign_score": round(float(sel_score[j]), 4),
                                     "score": round(float(score[j]), 4),
                                     "gini": round(float(g), 4)})
            st["post"] = (time.perf_counter() - t) * 1000

            t = time.perf_counter()
            if cfg.probe_every > 0 and frame.index % cfg.probe_every == 0 and len(det_idx):
                res = probe(session, batch[det_idx], cams[det_idx],
                            np.array([d["class_id"] for d in dets]),
                            np.array([d["confidence"] for d in dets]), cfg.probe_top_pct,
                            seed=frame.index, max_batch=engine_max)
                for d, r in zip(dets, res, strict=True):
                    d["probe"] = r
            st["probe"] = (time.perf_counter() - t) * 1000

            t = time.perf_counter()
            if display.active:
                shown = draw(img, dets, [cams[j] for j in det_idx],
                             [tuple(int(v) for v in sel_padded[j]) for j in det_idx])
                if not display.show(shown):
                    reason = "window closed"
                    st["render"] = (time.perf_counter() - t) * 1000
                    break
            st["render"] = (time.perf_counter() - t) * 1000

            t = time.perf_counter()
            rec: dict[str, Any] = {"time": round(time.time(), 4), "frame": frame.index,
                                   "source": spec.uri}
            if frame.name is not None:
                rec["file"] = frame.name
            rec["ms"] = {k: round(v, 3) for k, v in st.items()}
            rec["proposals"] = len(boxes)
            rec["classified"] = int(len(sel))
            rec["detections"] = dets
            log.write(rec)
            st["log"] = (time.perf_counter() - t) * 1000
            frame_ms = (time.perf_counter() - t_frame) * 1000 + frame.capture_ms + frame.work_ms
            summary.add(st, frame_ms, [d["class_name"] for d in dets], len(boxes), len(sel),
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


__all__ = ["RunConfig", "run", "probe", "DEFAULT_MIN_CONFIDENCE", "DEFAULT_MIN_SCORE", "Reader"]
