"""The run loop: source → find signs → classify + CAM → decide → probe → render → log.

`run_pipeline` reads like jetson-inference's imagenet.py: open the stages, then move each frame through
them. The stages live in stages.py, each with its own timing; `FrameLoop` owns the source, the
signals, the watchdog and the summary, which it writes on every exit path (end of source,
--max-frames, SIGINT/SIGTERM, a closed window, an error). Errors travel as exceptions.
"""

from __future__ import annotations

import json
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.pipeline.capture_thread import Frame, FrameSource
from edgexai.deploy.pipeline.config import FINDERS, RunConfig
from edgexai.deploy.pipeline.finders import ColourFinder, SignFinder
from edgexai.deploy.pipeline.frame_readers import open_reader
from edgexai.deploy.pipeline.live_stage import LiveStage, open_live
from edgexai.deploy.pipeline.log import JsonlLog
from edgexai.deploy.pipeline.overlay import Display
from edgexai.deploy.pipeline.source_uri import SourceSpec, parse_uri
from edgexai.deploy.pipeline.stages import (
    ClassifyStage,
    DecideStage,
    FindStage,
    FrameClock,
    LogStage,
    ProbeStage,
    RenderStage,
)
from edgexai.deploy.pipeline.summary import Summary, format_summary, write_summary
from edgexai.deploy.pipeline.track_stage import TrackStage
from edgexai.deploy.pipeline.writable import check_outputs
from edgexai.deploy.sign_classifier import SignClassifier
from edgexai.deploy.sign_detector import SignDetector


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
        from edgexai.deploy.pipeline.watchdog import Notifier
    except ImportError:
        return None
    return Notifier()


def make_finder(cfg: RunConfig) -> SignFinder:
    """The configured sign finder: the detector (its own session, same backend and precision as
    the classifier) or the colour cascade."""
    if cfg.finder == "colour":
        from edgexai.core.detection.hog_rejector import default_rejector

        return ColourFinder(
            rejector=default_rejector() if cfg.rejector else None,
            sign_threshold=cfg.sign_threshold,
            refine=cfg.refine,
            max_candidates=cfg.max_classify,
        )
    if cfg.finder != "detector":
        raise EdgexaiError(f"unknown finder {cfg.finder!r}; choose one of {', '.join(FINDERS)}")
    from edgexai.deploy.pipeline.finders import default_detector_dir

    build = Path(cfg.detector) if cfg.detector else default_detector_dir()
    return SignDetector.open(
        build,
        cfg.backend,
        cfg.precision,
        cfg.engine_threads,
        min_score=cfg.candidate_threshold,
        max_candidates=cfg.max_classify,
    )


@dataclass
class Stages:
    """The per-frame stages, in order, opened for one run."""

    find: FindStage
    classify: ClassifyStage
    decide: DecideStage
    probe: ProbeStage
    track: TrackStage | None  # None: --tracker none
    render: RenderStage
    live: LiveStage | None  # None: no --serve
    log: LogStage
    events: JsonlLog | None = None  # --events

    def close(self) -> None:
        """End the open tracks (their events), then close the outputs; runs on every exit."""
        try:
            if self.track is not None:
                self.track.finish()
        finally:
            if self.live is not None:
                self.live.live.close()
            if self.events is not None:
                self.events.close()
            self.render.display.close()


class FrameLoop:
    """The source and everything around the frames: start line, signals, --max-frames, stalls,
    the watchdog, and the summary on every exit path."""

    def __init__(
        self,
        cfg: RunConfig,
        spec: SourceSpec,
        finder: SignFinder,
        log: JsonlLog,
        summary: Summary,
        opener,
    ) -> None:
        self.cfg, self.spec, self.finder, self.log, self.summary = cfg, spec, finder, log, summary
        self.opener = opener
        self.source: FrameSource | None = None
        self.stopper = _Stopper()
        self.watchdog = _watchdog()
        self.reason = "end of source"
        self.result: dict[str, Any] = {}

    def start(self, start_record: dict[str, Any]) -> None:
        self.log.start(start_record)
        work = self.finder.prepare if self.cfg.prepare_in_capture else None
        self.source = FrameSource(
            self.spec, opener=self.opener, live=self.cfg.live, on_event=self.log.write, work=work
        ).start()
        self.stopper.install()
        if self.watchdog:
            self.watchdog.ready(f"running on {self.spec.uri}")

    def frames(self) -> Iterator[Frame]:
        """Frames until the source ends, a signal, or --max-frames; stalls are logged once."""
        done, waited_since, stall_logged = 0, time.perf_counter(), False
        while True:
            if self.stopper.event.is_set():
                self.reason = self.stopper.reason or "signal"
                return
            if self.cfg.max_frames is not None and done >= self.cfg.max_frames:
                self.reason = "max frames"
                return
            try:
                frame = self.source.get(timeout=0.2)
            except queue.Empty:
                waited = time.perf_counter() - waited_since
                if waited > self.cfg.stall_s and not stall_logged:
                    self.log.write(
                        {"event": "stall", "time": time.time(), "waited_s": round(waited, 2)}
                    )
                    stall_logged = True
                continue
            if frame is None:
                if self.source.error is not None:
                    raise self.source.error
                return
            stall_logged = False
            yield frame
            if self.watchdog:
                self.watchdog.ping()
            done += 1
            waited_since = time.perf_counter()

    def __enter__(self) -> FrameLoop:
        return self

    def __exit__(self, kind, exc, _tb) -> bool:
        if isinstance(exc, KeyboardInterrupt):
            self.reason = str(exc) or "SIGINT"
        elif isinstance(exc, EdgexaiError):
            self.reason = "error"
        elif exc is not None:
            self.reason = f"error: {type(exc).__name__}: {exc}"
        self._finish()
        return isinstance(exc, KeyboardInterrupt)  # a forced stop still ends with a summary

    def _finish(self) -> None:
        if self.watchdog:
            self.watchdog.stopping()
        self.stopper.restore()
        if self.source is None:  # it never started (the source did not open): no summary
            self.log.write({"event": "error", "time": time.time(), "reason": "source did not open"})
            self.log.close()
            return
        self.source.stop()
        self.result = self.summary.result(self.reason, self.source.stats)
        # what the run wrote, so a report can show a frame of it (the bench's pipeline section)
        self.result["files"] = {
            "log": str(Path(self.cfg.log).resolve()),
            "output": str(Path(self.cfg.output).resolve()) if self.cfg.output else None,
        }
        if self.log.failed:
            self.result["log_error"] = self.log.failed
        self.log.write(self.result)  # a no-op once the log has failed
        self.log.close()
        try:
            write_summary(self.cfg.summary_path(), self.result)
        except OSError as exc:  # e.g. the same full disk: the summary is not lost, it is printed
            print(
                f"edgexai: cannot write the summary {self.cfg.summary_path()} "
                f"({exc.strerror or exc}); here it is:\n{json.dumps(self.result)}",
                file=sys.stderr,
            )
        if not self.cfg.quiet:
            print(format_summary(self.result), file=sys.stderr)


def open_stages(
    cfg: RunConfig,
    classifier: SignClassifier,
    finder: SignFinder,
    log: JsonlLog,
    summary: Summary,
    uri: str,
    live=None,
) -> Stages:
    """The stages for one run, with the engine's batch limit (a TensorRT profile) applied;
    `live`: a started edgexai.deploy.live.live_view.LiveView (--serve)."""
    engine_max = classifier.max_batch
    limit = min(cfg.max_classify, engine_max) if engine_max else cfg.max_classify
    decision = finder.decision.override(cfg.min_score, cfg.min_confidence)
    display = Display(
        window=not cfg.headless, output=cfg.output, fps=cfg.input_rate or 15.0, quiet=cfg.quiet
    )
    events = None
    if cfg.events and cfg.tracking is not None:
        events = JsonlLog(cfg.events, max_bytes=0, fresh=not cfg.append)
    track = None
    if cfg.tracking is not None:
        summary.tracking = {"tracker": cfg.tracker, **asdict(cfg.tracking)}
        track = TrackStage(
            cfg.tracking,
            classifier.info.classes,
            [log] + ([events] if events else []),
            summary,
            cfg.warning_hold,
            thumbs=live is not None,
        )
    return Stages(
        FindStage(finder, limit),
        ClassifyStage(classifier),
        DecideStage(decision, classifier.info.classes, cfg.nms_iou),
        ProbeStage(classifier, cfg.probe_every, cfg.probe_top_pct),
        track,
        RenderStage(display, live, track),
        None if live is None else LiveStage(live, track, summary),
        LogStage(log, summary, uri),
        events,
    )


def run_pipeline(
    cfg: RunConfig,
    *,
    classifier: SignClassifier | None = None,
    finder: SignFinder | None = None,
    opener=open_reader,
) -> dict[str, Any]:
    """Run the pipeline until the source ends, max_frames, a signal or a closed window; returns
    the summary (also written to cfg.summary_path() and as the log's last line)."""
    spec = parse_uri(cfg.source, cfg.input_width, cfg.input_height, cfg.input_rate, cfg.loop)
    check_outputs(cfg, spec)
    if classifier is None:
        if not cfg.model:
            raise EdgexaiError("no model: pass --model DIR")
        classifier = SignClassifier.open(cfg.model, cfg.backend, cfg.precision, cfg.engine_threads)
    info = classifier.info
    if not info.cam and cfg.probe_every and not cfg.quiet:
        print(
            f"edgexai: note: {info.name} has no in-graph CAM: no heatmap, CAM Gini or "
            "faithfulness probe (--probe-every is ignored)",
            file=sys.stderr,
        )
    finder = finder or make_finder(cfg)
    if cfg.cv_threads > 0:
        import cv2

        # measured: OpenCV's own worker pool doubles the proposer's CPU time on 2 shared cores;
        # the capture thread already uses the second core
        cv2.setNumThreads(cfg.cv_threads)
    live = open_live(cfg)
    try:
        log = JsonlLog(cfg.log, cfg.log_max_bytes, cfg.log_backups, fresh=not cfg.append)
        summary = Summary(spec.uri, info.name, info.backend)
        stages = open_stages(cfg, classifier, finder, log, summary, spec.uri, live)
    except BaseException:
        if live is not None:
            live.close()
        raise
    with FrameLoop(cfg, spec, finder, log, summary, opener) as loop:
        try:
            loop.start(
                {
                    "event": "start",
                    "time": time.time(),
                    "source": spec.uri,
                    "kind": spec.kind,
                    "model": info.name,
                    "model_path": info.path,
                    "backend": info.backend,
                    "input_size": info.input_size,
                    "cam": info.cam,  # false: a CAM-less build (no heatmap, Gini or probe)
                    **finder.describe(),
                    "decision": stages.decide.decision.describe(),
                    "probe_every": cfg.probe_every,
                    "tracker": summary.tracking,
                }
            )
            for frame in loop.frames():
                clock = FrameClock.start(frame)
                found = stages.find(frame, clock)  # find signs
                classified = stages.classify(frame, found, clock)  # + Grad-CAM, one engine call
                decided = stages.decide(found, classified, clock)  # confidence × score, NMS
                decided = stages.probe(frame, classified, decided, clock)  # on sampled frames
                if stages.track:
                    decided = stages.track(frame, classified, decided, clock)  # tracks, events
                if not stages.render(frame, classified, decided, clock):
                    loop.reason = "window closed"
                    break
                if stages.live:
                    stages.live(frame.index, clock)  # the live page's state, 5× a second
                stages.log(frame, found, decided, clock)  # the frame's record and the summary
        finally:
            stages.close()
    stats = loop.result.get("source_stats", {})
    if loop.result.get("frames") == 0 and stats.get("corrupt"):
        raise EdgexaiError(
            f"no frame of {spec.uri} decoded ({stats['corrupt']} undecodable); "
            "the summary is in " + str(cfg.summary_path())
        )
    return loop.result


__all__ = ["FrameLoop", "Stages", "make_finder", "open_live", "open_stages", "run_pipeline"]
