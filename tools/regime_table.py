"""Print the regime matrix of one out folder as a Markdown table (docs/RESULTS.md).

    python tools/regime_table.py OUT

The table is edgexai.study.regime_matrix.matrix_table's (the one `edgexai matrix` prints at its end), in the
regime registry's cell order. Robust accuracy of a natural build made before robust evaluation
existed is read from the robustness-<settings>.json that its first post/tuned child cached beside
it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgexai.core.manifest import BUILDS_ROOT
from edgexai.study.regime_matrix import matrix_table


def main(out: str) -> int:
    lines = matrix_table(Path(out))
    print("\n".join(lines))
    return 0 if len(lines) > 1 else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "out",
        nargs="?",
        default=f"{BUILDS_ROOT}/regimes",
        help="the folder of one matrix's build folders (edgexai matrix --out)",
    )
    sys.exit(main(p.parse_args().out))
