"""The `edgexai bench` job: measure every model on the same images and settings, then report.

Order of work: select models → load the test split once (bench_draw) → per model, explanation
quality on a seeded draw (explanation_cache: cached per model under the report folder, so an
interrupted bench resumes and a second run re-times without re-explaining) → open every (model,
backend, precision) session, measure its accuracy on a second seeded draw, and time all of them
interleaved in one process (bench_sessions) → aggregate over seeds, ratios to natural, the
paper's findings (bench_results) → results.json / results.csv / report.md / report.html / PNGs,
written into `DIR.partial/` and swapped in for the --report folder when complete (report_folder).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.study.bench.bench_draw import draw_test
from edgexai.study.bench.bench_environment import environment, load_average
from edgexai.study.bench.bench_options import BenchOptions
from edgexai.study.bench.bench_results import assemble, write_results
from edgexai.study.bench.bench_sessions import measure_sessions, open_sessions
from edgexai.study.bench.bench_validation import validate
from edgexai.study.bench.explanation_cache import explain_all, without_cam_methods
from edgexai.study.bench.fidelity import measure_fidelity
from edgexai.study.bench.report import write_report
from edgexai.study.bench.report_folder import stage_report
from edgexai.study.bench.select import (
    BenchModel,
    check_comparable,
    find_cells,
    load_model_dir,
    order_models,
)


def select_models(opts: BenchOptions) -> list[BenchModel]:
    if opts.models:
        models = order_models([load_model_dir(d) for d in opts.models])
        if opts.seeds is not None:
            models = [m for m in models if m.seed in opts.seeds]
            if not models:
                raise EdgexaiError("no model left after the --seeds filter")
        return models
    return find_cells(opts.root, opts.cells, opts.seeds)


def run_bench(opts: BenchOptions) -> tuple[Path, dict[str, Any]]:
    """The whole job; returns (report folder, results)."""
    validate(opts)
    t_start = time.time()
    models = select_models(opts)
    opts = without_cam_methods(opts, models)
    notes = check_comparable(models)
    # written into DIR.partial/ and swapped in for DIR when complete (report_folder.py)
    stage = stage_report(
        opts.report, opts.overwrite, opts.fresh, opts.root, [m.dir for m in models]
    )
    out = stage.staging
    try:
        env = environment(opts.threads)
        draw = draw_test(models, opts)
        records, maps_by_model, ids_by_model = explain_all(models, draw, opts, out / "cache")
        # sessions: accuracy, then latency, all models interleaved in this one process
        latency_rows = measure_sessions(models, draw, records, opts, notes)
        env["load_average_end"] = load_average()
        results = assemble(opts, env, draw, records, latency_rows, notes)
        # the deployed sessions' in-graph CAM against the fp32 PyTorch Grad-CAM (fidelity.py)
        results["cam_fidelity"] = measure_fidelity(models, draw, ids_by_model, opts, open_sessions)
        write_report(out, results, models, draw.test, draw.ids, maps_by_model, ids_by_model, opts)
        results["seconds_total"] = round(time.time() - t_start, 1)
        write_results(out, results)
    except BaseException:  # Ctrl-C included: the earlier report stays as it was
        stage.abandon()
        raise
    stage.commit()
    return Path(opts.report).expanduser(), results
