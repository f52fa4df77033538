"""Write the JSON Schemas of the project's file contracts into docs/schemas/, from the types that
define them (edgexai.core.manifest, edgexai.deploy.runtime.engine_cache, edgexai.study.bench.results_contract).
tests/integration/test_contracts.py fails when a committed schema differs from what this writes.

  .venv/bin/python tools/write_schemas.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgexai.core.manifest import schema as manifest_schema
from edgexai.deploy.runtime.engine_cache import sidecar_schema
from edgexai.study.bench.results_contract import results_schema

REPO = Path(__file__).resolve().parents[1]

SCHEMAS = {
    "manifest.schema.json": manifest_schema,
    "engine.schema.json": sidecar_schema,
    "results.schema.json": results_schema,
}


def render(make) -> str:
    return json.dumps(make(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "docs" / "schemas",
        help="the folder written (default: docs/schemas of this checkout)",
    )
    out = p.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, make in SCHEMAS.items():
        (out / name).write_text(render(make))
        print(out / name)


if __name__ == "__main__":
    main()
