"""Issue 43 items 3 and 4: a build's --name is one plain folder name inside --out, refused when
the command line is parsed (never `..`, `.`, a path or an absolute path), and an --out that is a
file is one line; nothing is read, moved or deleted first.

No training: the refusals come before any data is read. Runs against the code before the fix too
(it imports only what existed), where these names replaced or deleted folders outside --out.
"""

from __future__ import annotations

import argparse

import pytest

from edgexai.cli import main
from edgexai.core.errors import EdgexaiError

BAD_NAMES = [
    "../victim",
    ".",
    "..",
    "/tmp/elsewhere",
    "a/b",
    "a\\b",
    "",
    "   ",
    "bad\x00name",
    "line\nbreak",
    ".hidden",
    "natural.partial",
    "x" * 300,
]
GOOD_NAMES = ["my-build", "résumé_2", "a.b", "with space", "v1.0-s0"]


def _tree(root):
    """Every path under `root` with its bytes (folders as None): what must stay as it was."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _user_files(tmp_path):
    """An --out holding two builds and a file of the user's, and a folder `victim` beside it."""
    out, victim = tmp_path / "X", tmp_path / "victim"
    for folder in (out / "b1", out / "b2", victim):
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    (victim / "precious.txt").write_text("keep me")
    return out


def _refused_at_parse(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exc.value.code == 2 and len(err) == 1, err
    assert "argument --name" in err[0] and "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
@pytest.mark.parametrize("command", [["build"], ["detector", "train"]], ids=" ".join)
def test_a_name_that_is_not_one_folder_inside_out_is_refused_when_parsed(
    command, name, tmp_path, capsys
):
    out = _user_files(tmp_path)
    before = _tree(tmp_path)
    argv = [*command, "--out", str(out), "--name", name, "--force"]
    data = ["--data-root", str(tmp_path / "no-data")]
    line = _refused_at_parse(
        argv + (data if command == ["build"] else ["--frames", str(tmp_path / "no-frames")]),
        capsys,
    )
    assert "one folder name inside --out" in line
    assert _tree(tmp_path) == before  # nothing moved, replaced or created


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_plain_folder_names_are_accepted(name):
    from edgexai.core.options import add_options, from_args
    from edgexai.train.build_options import add_build_arguments, options_from_args
    from edgexai.train.detector.detector_options import DetectorBuildOptions

    build = argparse.ArgumentParser()
    add_build_arguments(build)
    assert options_from_args(build.parse_args(["--name", name])).name == name
    detector = argparse.ArgumentParser()
    add_options(detector, DetectorBuildOptions)
    assert from_args(DetectorBuildOptions, detector.parse_args(["--name", name])).name == name


@pytest.mark.parametrize("name", ["../victim", ".", "/abs/path", ""])
def test_options_made_in_code_are_refused_too(name, tmp_path):
    """The API and tools build the options without argparse: the same rule, as an EdgexaiError."""
    from edgexai.train.build_options import BuildOptions
    from edgexai.train.builder import validate
    from edgexai.train.detector.detector_options import DetectorBuildOptions, validate_options

    with pytest.raises(EdgexaiError, match="one folder name inside --out"):
        validate(BuildOptions(out=str(tmp_path), name=name))
    with pytest.raises(EdgexaiError, match="one folder name inside --out"):
        validate_options(DetectorBuildOptions(out=str(tmp_path), name=name))


def test_an_out_that_is_a_file_is_one_line_for_build_detector_and_matrix(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for argv in (
        ["build", "--out", str(afile), "--data-root", str(tmp_path / "no-data")],
        ["build", "--out", str(afile / "sub"), "--data-root", str(tmp_path / "no-data")],
        ["detector", "train", "--out", str(afile), "--frames", str(tmp_path / "no-frames")],
        ["matrix", "--out", str(afile), "--cells", "natural"],
    ):
        code = main(argv)
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert code == 1 and len(err) == 1, (argv, err)
        assert (
            f"--out {argv[argv.index('--out') + 1]}" in err[0] and "must be a folder" in err[0]
        ), err
    assert afile.read_text() == "not a folder" and [p.name for p in tmp_path.iterdir()] == ["afile"]
