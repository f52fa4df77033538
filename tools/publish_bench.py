"""Copy a bench report into docs/ and put its tables into docs/benchmarks.md (generated, not typed).

    python tools/publish_bench.py bench-report [--docs docs]

- docs/bench/report.md + docs/bench/figures/*.png + docs/bench/results.json: the report as run;
- docs/benchmarks.md: everything between `<!-- bench:begin -->` and `<!-- bench:end -->` is replaced
  by the report's sections (its command, environment, tables and the paper section; figures linked
  to docs/bench/figures) except the per-case latency table and the file list.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


SKIPPED = ("Latency, every case", "Files")  # long or local: in docs/bench/report.md only


def fragment(report_md: str) -> str:
    """The report's body one heading level down, figures pointing into docs/bench/; the
    per-case latency table and the file list stay in the copied report."""
    body = report_md.split("\n", 1)[1]  # drop the title
    parts = re.split(r"(?m)^(?=## )", body)
    body = "".join(p for p in parts if not any(p.startswith(f"## {t}\n") for t in SKIPPED))
    body = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", body, flags=re.M)
    body = body.replace("](figures/", "](bench/figures/")
    return body.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("--docs", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    a = ap.parse_args()
    md = (a.report / "report.md").read_text()
    dest = a.docs / "bench"
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "figures").mkdir(parents=True)
    for png in sorted((a.report / "figures").glob("*.png")):
        shutil.copy2(png, dest / "figures" / png.name)
    (dest / "report.md").write_text(md)
    shutil.copy2(a.report / "results.json", dest / "results.json")
    results = a.docs / "benchmarks.md"
    text = results.read_text()
    if BEGIN not in text or END not in text:
        print(f"{results} has no {BEGIN} … {END} markers", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    results.write_text(f"{head}{BEGIN}\n{fragment(md)}\n{END}{tail}")
    print(f"wrote {dest}/ and the bench section of {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
