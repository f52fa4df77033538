#!/usr/bin/env bash
# The regime matrix now ships in the package: `edgexai matrix --help`. This wrapper keeps the old
# command line and environment variables working:
#
#   tools/run_regime_matrix.sh [OUT] [CELL...]
#
# OUT (default engines/regimes), CELLs (default: all). Environment: PY (default .venv/bin/python),
# NICE (default "nice -n 19"), TUNE_EPOCHS, PRE_EPOCHS (6), ADV_EPOCHS (2), ADV_STEPS (3), EXTRA
# (more flags for every build, e.g. "--arch resnet20 --seed 0"); EDGEXAI_DATA names the data.
set -euo pipefail

OUT=${1:-engines/regimes}
shift || true
args=(--out "$OUT" --nice 0 --pre-epochs "${PRE_EPOCHS:-6}" --adv-epochs "${ADV_EPOCHS:-2}"
      --adv-steps "${ADV_STEPS:-3}")
[ -n "${TUNE_EPOCHS:-}" ] && args+=(--tune-epochs "$TUNE_EPOCHS")
[ $# -gt 0 ] && args+=(--cells "$@")
read -r -a extra <<< "${EXTRA:-}"
# shellcheck disable=SC2086
exec ${NICE:-nice -n 19} "${PY:-.venv/bin/python}" -m edgexai matrix "${args[@]}" -- "${extra[@]}"
