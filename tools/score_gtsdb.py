"""Compatibility name for `edgexai score` (scoring a run log against GTSDB ground truth).

  .venv/bin/python tools/score_gtsdb.py ARGS  ≡  edgexai score ARGS   (see edgexai score --help)
"""

from __future__ import annotations

import sys

from edgexai.cli import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
