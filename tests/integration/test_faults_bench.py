"""`edgexai bench --report DIR` never loses a report or a user's file (issue 43, item 6): the report
is staged in DIR.partial/ and swapped in when complete; an earlier report is replaced only with
--overwrite and only when DIR holds nothing but bench files; a failure or Ctrl-C mid-report
leaves the earlier report as it was; --report paths the bench does not own are refused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from edgexai.core.errors import EdgexaiError

SMALL = dict(
    images=6,
    accuracy_images=8,
    targets="all",
    methods=("gradcam",),
    batches=(1,),
    rounds=1,
    per_round=1,
    warmup=0,
    grid_images=2,
    fidelity_images=0,
    progress=False,
)


def _bench(build: Path, data: Path, report: Path, **kw):
    from edgexai.study.bench.bench_job import run_bench
    from edgexai.study.bench.bench_options import BenchOptions

    opts = {**SMALL, **kw}
    return run_bench(
        BenchOptions(models=[str(build)], data_root=str(data), report=str(report), **opts)
    )


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder`: its bytes and modification time (a rewrite shows)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def earlier(tiny_build, fake_gtsrb, tmp_path_factory) -> Path:
    """A complete report of the tiny build, copied by each test that needs one."""
    report = tmp_path_factory.mktemp("earlier") / "report"
    _bench(tiny_build, fake_gtsrb, report)
    return report


@pytest.fixture
def report(earlier, tmp_path) -> Path:
    dst = tmp_path / "report"
    shutil.copytree(earlier, dst)
    return dst


def test_an_earlier_report_is_replaced_only_with_overwrite_and_no_stale_figure_survives(
    report, tiny_build, fake_gtsrb, monkeypatch
):
    import edgexai.study.explain_item as explain_item

    stale = report / "figures" / "grid_vg.png"  # an earlier report's method this one lacks
    stale.write_bytes((report / "figures" / "grid_gradcam.png").read_bytes())
    before = _snapshot(report)
    with pytest.raises(EdgexaiError, match="earlier edgexai bench report.*--overwrite"):
        _bench(tiny_build, fake_gtsrb, report)
    assert _snapshot(report) == before

    def boom(*a, **k):
        raise AssertionError("explained again: the earlier report's cache was not reused")

    monkeypatch.setattr(explain_item, "explain_model", boom)
    out, _ = _bench(tiny_build, fake_gtsrb, report, overwrite=True)
    assert out == report and not stale.exists()
    assert (report / "figures" / "grid_gradcam.png").is_file() and (report / "cache").is_dir()
    assert _snapshot(report)["results.json"] != before["results.json"]
    assert not report.with_name("report.partial").exists()
    assert not report.with_name("report.replaced").exists()
    from edgexai.study.bench.report_folder import foreign_files

    assert foreign_files(report) == []  # every file a bench writes is known as one


def test_a_file_the_bench_did_not_write_is_never_deleted_or_replaced(
    report, tiny_build, fake_gtsrb, tmp_path
):
    (report / "notes.txt").write_text("mine")
    (report / "figures" / "my_plot.png").write_bytes(b"mine")
    before = _snapshot(report)
    with pytest.raises(EdgexaiError, match=r"did not write \(figures/my_plot.png, notes.txt\)"):
        _bench(tiny_build, fake_gtsrb, report, overwrite=True)
    assert _snapshot(report) == before
    # a folder of the user's that is no report: refused with the flag too, nothing written
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "report.md").write_text("my report")
    (thesis / "chapter.tex").write_text("x")
    with pytest.raises(EdgexaiError, match=r"did not write \(chapter.tex\)"):
        _bench(tiny_build, fake_gtsrb, thesis, overwrite=True)
    assert sorted(p.name for p in thesis.iterdir()) == ["chapter.tex", "report.md"]
    assert (thesis / "report.md").read_text() == "my report"


@pytest.mark.parametrize("fault", [KeyboardInterrupt, RuntimeError])
def test_a_bench_stopped_mid_report_leaves_the_earlier_report_as_it_was(
    report, tiny_build, fake_gtsrb, monkeypatch, capsys, fault
):
    import edgexai.study.bench.report as report_module

    def stop(*a, **k):  # after the saliency grids and ROAD curves were drawn
        raise fault("stopped while drawing the latency figures")

    monkeypatch.setattr(report_module, "latency_figures", stop)
    before = _snapshot(report)
    with pytest.raises(fault):
        _bench(tiny_build, fake_gtsrb, report, overwrite=True)
    assert _snapshot(report) == before
    staging = report.with_name("report.partial")
    # cleaned up, or (holding explanation results to resume from) clearly named and said
    assert not staging.exists() or sorted(p.name for p in staging.iterdir()) == ["cache"]
    if staging.exists():
        assert f"{report} is as it was" in capsys.readouterr().err


def test_an_interrupted_first_bench_resumes_from_its_staging_folder(
    tiny_build, fake_gtsrb, tmp_path, monkeypatch
):
    import edgexai.study.bench.report as report_module
    import edgexai.study.explain_item as explain_item

    report = tmp_path / "new"
    latency_figures = report_module.latency_figures

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "latency_figures", stop)
    with pytest.raises(KeyboardInterrupt):
        _bench(tiny_build, fake_gtsrb, report, seed=1)
    staging = tmp_path / "new.partial"
    assert not report.exists() and [p.name for p in staging.iterdir()] == ["cache"]

    def boom(*a, **k):
        raise AssertionError("explained again despite the unfinished bench's results")

    monkeypatch.setattr(report_module, "latency_figures", latency_figures)
    monkeypatch.setattr(explain_item, "explain_model", boom)
    _bench(tiny_build, fake_gtsrb, report, seed=1)
    assert (report / "results.json").is_file() and not staging.exists()


def test_report_paths_the_bench_does_not_own_are_refused(
    tiny_build, fake_gtsrb, tmp_path, monkeypatch
):
    import edgexai.study.bench.bench_job as bench_job

    def measured(*a, **k):
        raise AssertionError("the bench went on to measure")

    monkeypatch.setattr(bench_job, "draw_test", measured)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for path, why in [
        ("/", "file-system root"),
        (".", "current folder or one above it"),
        ("..", "current folder or one above it"),
        ("", "needs a folder name"),
        (str(tiny_build), "build folder"),
        (str(tiny_build / "report"), "inside, or above, the benched build folder"),
        (str(tiny_build.parent), "inside, or above, the benched build folder"),
    ]:
        with pytest.raises(EdgexaiError, match=why):
            _bench(tiny_build, fake_gtsrb, Path(path) if path else "")
    (work / "builds").mkdir()
    with pytest.raises(EdgexaiError, match="builds root"):
        _bench(tiny_build, fake_gtsrb, work / "builds")
    assert sorted(os.listdir(work)) == ["builds"] and not (tiny_build / "report").exists()


def test_a_swap_cut_between_its_two_renames_puts_the_earlier_report_back(earlier, tmp_path):
    from edgexai.study.bench.report_folder import stage_report

    replaced = tmp_path / "r.replaced"  # the earlier report, moved aside; no r/ yet
    shutil.copytree(earlier, replaced)
    with pytest.raises(EdgexaiError, match="earlier edgexai bench report.*--overwrite"):
        stage_report(str(tmp_path / "r"), False, False, "builds", [])
    assert (tmp_path / "r" / "results.json").is_file() and not replaced.exists()
    assert _snapshot(tmp_path / "r") == _snapshot(earlier)


def test_a_users_folder_named_like_a_replaced_report_is_never_moved(tmp_path):
    """Only what a bench left as DIR.replaced/ (a report and nothing else) is put back."""
    from edgexai.study.bench.report_folder import stage_report

    mine = tmp_path / "r.replaced"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    stage = stage_report(str(tmp_path / "r"), False, False, "builds", [])
    assert (mine / "notes.txt").read_text() == "mine" and not (tmp_path / "r").exists()
    stage.abandon()


def test_the_command_refuses_an_earlier_report_in_one_line(report, tiny_build):
    from support import run_cli

    r = run_cli("bench", "--models", str(tiny_build), "--report", str(report), "--no-progress")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    (line,) = r.stderr.strip().splitlines()
    assert "earlier edgexai bench report" in line and "--overwrite" in line
