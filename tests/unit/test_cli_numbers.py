"""Every number a user types is checked when the command line is parsed (issue 17, items 6 and 8):
one line naming the option, exit 2, before any model, data or device is touched."""

from __future__ import annotations

import pytest

from edgexai.cli import main

RUN = ["run", "--source", "frames/", "--model", "m/"]
BAD = [
    (RUN + ["--probe-top", "150"], "--probe-top"),
    (RUN + ["--min-score", "nan"], "--min-score"),
    (RUN + ["--min-score", "inf"], "--min-score"),
    (RUN + ["--min-confidence", "nan"], "--min-confidence"),
    (RUN + ["--sign-threshold", "nan"], "--sign-threshold"),
    (RUN + ["--candidate-threshold", "1.5"], "--candidate-threshold"),
    (RUN + ["--log-max-mb", "nan"], "--log-max-mb"),
    (RUN + ["--log-max-mb", "-5"], "--log-max-mb"),
    (RUN + ["--max-frames", "-1"], "--max-frames"),
    (RUN + ["--probe-every", "-1"], "--probe-every"),
    (RUN + ["--threads", "-2"], "--threads"),
    (RUN + ["--log-backups", "-1"], "--log-backups"),
    (RUN + ["--input-width", "-640"], "--input-width"),
    (RUN + ["--input-rate", "0"], "--input-rate"),
    (["engine", "--model", "m/", "--max-batch", "0"], "--max-batch"),
    (["build", "--device", "foo"], "--device"),
    (["explain", "--model", "m/", "--device", "foo"], "--device"),
    (["bench", "--models", "m/", "--images", "0"], "--images"),
]


@pytest.mark.parametrize("argv, flag", BAD, ids=[" ".join(a[-2:]) for a, _ in BAD])
def test_bad_numbers_are_refused_at_parse_time(argv, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1, err
    assert f"argument {flag}" in err[0] and "Traceback" not in err[0]
