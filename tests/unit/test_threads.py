"""The CLI's OpenMP wait policy (edgexai.core.threads): set as a pair, and never over the user's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgexai.core.threads import WAIT_POLICY, contention_safe_threads


@pytest.fixture
def clean_env(monkeypatch):
    for key in WAIT_POLICY:
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_both_variables_are_set_when_the_user_set_neither(clean_env):
    assert contention_safe_threads() == {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"}
    assert os.environ["GOMP_SPINCOUNT"] == "10000"


@pytest.mark.parametrize(
    "user", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "0"}, {"OMP_WAIT_POLICY": "passive"}]
)
def test_a_user_setting_wins_and_nothing_is_added_beside_it(clean_env, user):
    # an added GOMP_SPINCOUNT would override a user's OMP_WAIT_POLICY in libgomp
    for key, value in user.items():
        clean_env.setenv(key, value)
    assert contention_safe_threads() == user
    assert {key: os.environ.get(key) for key in WAIT_POLICY} == {
        key: user.get(key) for key in WAIT_POLICY
    }


def test_the_cli_applies_it_before_a_command_runs(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in WAIT_POLICY}
    probe = (
        "import os, edgexai.cli as c; c.make_parser = lambda: (_ for _ in ()).throw(SystemExit("
        "os.environ.get('GOMP_SPINCOUNT', '') + ' ' + os.environ.get('OMP_WAIT_POLICY', '')))\n"
        "c.main([])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert out.stderr.strip() == "10000 PASSIVE"
