#!/usr/bin/env bash
# Time `edgexai build --regime natural` with the CPU defaults from a cold cache (the archive is
# unpacked and decoded inside the timed span), and print wall time and test accuracy.
# Usage: EDGEXAI_DATA=../shared/data tools/time_natural_build.sh [OUT_DIR]
set -euo pipefail
out=${1:-$(mktemp -d)}
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export EDGEXAI_CACHE="$cache"
: "${EDGEXAI_DATA:?set EDGEXAI_DATA to the folder holding gtsrb.tar.gz}"
start=$(date +%s)
edgexai build --regime natural --out "$out" --no-progress
end=$(date +%s)
python3 - "$out" "$((end - start))" <<'PY'
import json, pathlib, platform, sys, os
out, wall = pathlib.Path(sys.argv[1]), int(sys.argv[2])
m = json.loads(next(out.glob("*/manifest.json")).read_text())
print(json.dumps({"wall_s": wall, "wall_min": round(wall / 60, 2),
                  "test_accuracy": m["metrics"]["test_accuracy"],
                  "val_accuracy": m["metrics"]["val_accuracy"],
                  "test_images": m["data"]["test_images"], "epochs": m["train_config"]["epochs"],
                  "cpus": os.cpu_count(), "machine": platform.machine(), "git": m["git"]}))
PY
