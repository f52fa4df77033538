"""The bench report's figures from a small synthetic results dict: no two texts overlap, all text
is inside the figure, fonts are legible at the width report.html shows them, one colour per
regime cell in every figure; and what the Pareto plot leaves out is said, never dropped."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text

from edgexai.study.bench import figure_data, plot_style, plots
from edgexai.train.regimes import regime_registry as registry

CELLS = list(registry.cells())
PAGE_PX = 1200  # report.html's column at a 1280-px-wide window (document.py's CSS)
METHODS = ("vg", "gradcam")
PCT = [1, 31, 61, 91]


def _results() -> dict:
    """Eleven cells: layered-post collapsed (accuracy 0.005), adversarial without latency."""
    rng = np.random.default_rng(0)
    cells, models = {}, []
    for i, c in enumerate(CELLS):
        fast = 0.35 if c.startswith("layered") else 0.8 + 0.005 * i
        mean = {"accuracy.clean_test": 0.005 if c == "layered-post" else 0.97 + 0.002 * (i % 5)}
        if c != "adversarial":
            for (prec, k), batch in itertools.product((("fp32", 1.0), ("fp16", 1.2)), (1, 8)):
                p50 = fast * k * (1 if batch == 1 else 6)
                mean[f"latency.ort_{prec}_b{batch}.p50_ms"] = p50
                mean[f"latency.ort_{prec}_b{batch}.p90_ms"] = p50 * 1.2
        cells[c] = {"mean": mean}
        curves = {}
        for m in METHODS:
            morf = (rng.random((12, len(PCT))) < np.linspace(0.9, 0.1, len(PCT))).astype(float)
            lerf = (rng.random((12, len(PCT))) < np.linspace(1.0, 0.6, len(PCT))).astype(float)
            curves[m] = {
                "percentages": PCT,
                "morf": list(morf.mean(0)),
                "lerf": list(lerf.mean(0)),
                "per_image_correct": {"morf": morf.tolist(), "lerf": lerf.tolist()},
            }
        models.append({"cell": c, "road_curves": curves})
    return {"cells": cells, "models": models}


@pytest.fixture(scope="module")
def figs(tmp_path_factory):
    """Every figure function run once; {name: the matplotlib Figure it saved}."""
    saved = {}

    def keep(fig, path):
        saved[path.stem] = fig
        fig.savefig(path, dpi=plot_style.DPI)
        return path

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plots, "_save", keep)
        _draw_all(tmp_path_factory.mktemp("figures"))
    return saved


def _draw_all(tmp_path) -> None:
    r = _results()
    points, label, notes = figure_data.tradeoff_points(r, CELLS)
    plots.tradeoff_pareto(tmp_path / "tradeoff.png", points, label, notes)
    plots.latency_dots(tmp_path / "latency.png", figure_data.latency_rows(r, CELLS), CELLS)
    curves, notes = figure_data.road_curves(r, CELLS, METHODS)
    plots.road_bands(tmp_path / "road.png", curves, list(METHODS), {"vg": "Vanilla"}, notes)
    images = np.random.default_rng(1).integers(0, 255, (3, 32, 32, 3), np.uint8)
    maps = {c: np.random.default_rng(2).random((3, 32, 32)) for c in CELLS}
    maps["layered-post"] = None
    captions = ["#12 Speed limit (30km/h)", "#40 Stop", "#7 No entry"]
    plots.saliency_grid(tmp_path / "grid.png", images, captions, CELLS, maps, "Grad-CAM")
    stages = {k: {"p50": v, "p99": 2 * v} for k, v in (("capture", 3.0), ("infer", 9.0))}
    plots.stage_bars(tmp_path / "stages.png", stages, "Where a frame's time goes")
    plots.class_bars(tmp_path / "classes.png", {"Stop": 4, "Yield": 2}, "Detections per class")
    frame = np.zeros((120, 200, 3), np.uint8)
    plots.frame_image(tmp_path / "frame.png", frame, "frame 3: 2 detection(s)")


def _texts(fig) -> list[Text]:
    """Every text the figure draws: titles, axis and tick labels (of the ticks in view),
    annotations, legends, the figure's own texts (as saved: savefig drew them)."""
    out = list(fig.texts) + [t for t in (fig._suptitle, fig._supxlabel, fig._supylabel) if t]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        out += [ax.title, ax._left_title, ax._right_title] + list(ax.texts)
        if ax.get_legend() is not None:
            out += list(ax.get_legend().get_texts())
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                out.append(axis.label)
                for tick in axis._update_ticks():
                    out += [tick.label1, tick.label2]
    for legend in fig.legends:
        out += list(legend.get_texts())
    unique = {id(t): t for t in out}  # a figure's supxlabel is among its texts too
    return [t for t in unique.values() if t.get_visible() and t.get_text().strip()]


def test_no_two_texts_overlap_and_all_text_is_inside_the_figure(figs):
    assert set(figs) == {"tradeoff", "latency", "road", "grid", "stages", "classes", "frame"}
    for name, fig in figs.items():
        r = fig.canvas.get_renderer()
        texts = _texts(fig)
        boxes = [(t, t.get_window_extent(r)) for t in texts]
        whole = fig.bbox
        for t, b in boxes:
            assert b.x0 >= -0.5 and b.y0 >= -0.5, (name, t.get_text())
            assert b.x1 <= whole.x1 + 0.5 and b.y1 <= whole.y1 + 0.5, (name, t.get_text())
        for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
            assert not b1.overlaps(b2), (name, t1.get_text(), t2.get_text())


def test_fonts_are_at_least_9_pt_at_the_width_the_page_shows(figs):
    for name, fig in figs.items():
        width_px = fig.get_figwidth() * plot_style.DPI
        shown = min(1.0, PAGE_PX / width_px)  # wider figures are scaled down to the column
        for t in _texts(fig):
            assert t.get_fontsize() * shown >= 9, (name, t.get_text(), t.get_fontsize())


def test_eleven_distinct_colours_one_per_regime_in_every_figure(figs):
    colours = plot_style.cell_colours()
    assert list(colours) == CELLS and len(set(colours.values())) == 11
    rgb = [np.array(to_rgb(c)) for c in colours.values()]
    assert min(np.linalg.norm(a - b) for a, b in itertools.combinations(rgb, 2)) > 0.2
    found: dict[str, dict[str, str]] = {}
    for name in ("tradeoff", "latency", "road", "grid"):
        for t in _texts(figs[name]):
            if t.get_text() in colours and name != "road":
                found.setdefault(t.get_text(), {})[name] = t.get_color()
        if name == "road":
            legend = figs[name].axes[-1].get_legend()
            for line, text in zip(legend.get_lines(), legend.get_texts(), strict=True):
                if text.get_text() in colours:
                    found.setdefault(text.get_text(), {})[name] = line.get_color()
    for cell, by_figure in found.items():
        assert {to_rgb(c) for c in by_figure.values()} == {to_rgb(colours[cell])}, cell
    assert all(len(found[c]) >= 3 for c in CELLS if c not in ("adversarial", "layered-post"))


def test_the_pareto_plot_says_what_it_left_out_and_picks_the_fastest_case():
    points, label, notes = figure_data.tradeoff_points(_results(), CELLS)
    shown = {p["cell"] for p in points}
    assert "layered-post" not in shown and "adversarial" not in shown and len(shown) == 9
    assert "ort fp32" in label and "batch-1" in label  # fp32 is the faster case here
    left = " ".join(notes)
    assert "layered-post (accuracy 0.005)" in left and "adversarial (no batch-1 latency" in left
    front = plots.pareto_front(points)
    assert front[0] == "layered-pre" and all(  # as fast as layered-tuned, more accurate
        a["accuracy"] < b["accuracy"]
        for a, b in itertools.pairwise([p for c in front for p in points if p["cell"] == c])
    )


def test_road_bands_come_from_per_image_outcomes_or_are_missing_with_a_note():
    r = _results()
    curves, notes = figure_data.road_curves(r, CELLS, METHODS)
    band = curves["natural"]["vg"]["band"]["morf"]
    mean = curves["natural"]["vg"]["morf"]
    assert all(lo <= m <= hi for lo, m, hi in zip(band[0], mean, band[1], strict=True))
    assert not any("no band" in n for n in notes)
    for m in r["models"]:
        if m["cell"] == "l1-pre":
            for c in m["road_curves"].values():
                del c["per_image_correct"]
    curves, notes = figure_data.road_curves(r, CELLS, METHODS)
    assert "band" not in curves["l1-pre"]["vg"]
    assert any(n.startswith("no band for l1-pre") for n in notes)


def test_pipeline_section_shows_the_busiest_frame_or_says_why_not(tmp_path):
    import json

    import cv2

    from edgexai.study.bench.pipeline_figures import overlay_frame, pipeline_figures
    from edgexai.study.bench.report_sections import pipeline_section

    video = cv2.VideoWriter(str(tmp_path / "run.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 48))
    with open(tmp_path / "run.jsonl", "w") as log:
        for i in range(4):
            video.write(np.full((48, 64, 3), 60 * i, np.uint8))
            found = [{"class_name": "Stop"}] * (2 if i == 2 else 0)
            log.write(json.dumps({"frame": i, "detections": found}) + "\n")
        log.write(json.dumps({"event": "summary", "frames": 4}) + "\n")
    video.release()
    run = {
        "model": "/b/resnet20-natural-s0",
        "backend": "ort",
        "frames": 4,
        "fps": 9.0,
        "frame_ms": {"p50": 1.0, "p99": 2.0},
        "stages_ms": {"propose": {"p50": 1.0, "p99": 2.0}, "infer": {"p50": 3.0, "p99": 4.0}},
        "detections": 2,
        "detections_per_class": {"Stop": 2},
        "files": {"log": str(tmp_path / "run.jsonl"), "output": str(tmp_path / "run.mp4")},
    }
    frame, title = overlay_frame(run)
    assert title.startswith("frame 2: 2 detection(s)") and abs(float(frame.mean()) - 120) < 10
    bare = {**run, "files": {"log": None, "output": None}, "detections_per_class": {}}
    paths = pipeline_figures(tmp_path, [run, bare])
    assert {"pipeline_frame_0", "pipeline_stages_0", "pipeline_classes_0"} <= set(paths)
    assert "pipeline_frame_1" not in paths and "pipeline_classes_1" not in paths
    text = " ".join(b.text for b in pipeline_section([run, bare], paths).blocks)
    assert "no overlay frame — the run saved no overlay video" in text
    assert "the run detected no sign" in text


def test_pipeline_section_reports_signs_and_cam_stability_of_a_tracked_run():
    from edgexai.study.bench.report_sections import pipeline_section

    run = {
        "model": "/b/resnet20-natural-s0",
        "backend": "ort",
        "frames": 4,
        "fps": 9.0,
        "frame_ms": {"p50": 1.0, "p99": 2.0},
        "stages_ms": {"track": {"p50": 0.3, "p99": 0.5}},
        "detections": 2,
        "detections_per_class": {"stop": 2},
        "tracker": {"tracker": "iou", "min_frames": 2},
        "signs": 1,
        "signs_per_class": {"stop": 1},
        "cam_stability": {"cam_pearson": 0.91, "cam_top20_iou": 0.7, "cam_peak_outside": None},
    }
    section = pipeline_section([run, {**run, "tracker": None}], {})
    tables = [b for b in section.blocks if getattr(b, "rows", None)]
    signs = [t for t in tables if "CAM Pearson" in t.headers]
    assert len(signs) == 1 and signs[0].rows == [
        ["resnet20-natural-s0", "1", "stop ×1", "0.910", "0.700", "—"]
    ]
