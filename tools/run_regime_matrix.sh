#!/usr/bin/env bash
# Build the paper's eleven regime cells for one arch + seed into OUT, cheapest first, and print a
# table of what each manifest says (docs/RESULTS.md, "Regimes (issue 3)").
#
#   tools/run_regime_matrix.sh [OUT] [CELL...]
#
# OUT (default engines/regimes) should already hold the natural parent ARCH-natural-sSEED when one
# exists: post/tuned cells reuse it (it is built first otherwise, ~15 min on 2 CPU cores).
# CELLs: natural layered-tuned l1-tuned global-tuned adversarial-tuned l1-post global-post
# layered-post l1-pre global-pre layered-pre (default: all, in that order). A cell whose
# manifest.json exists is skipped and one with a checkpoint.pt is resumed, so an interrupted run
# continues where it stopped.
#
# On a shared machine run it with OMP_NUM_THREADS=1: two-thread OpenMP workers that wait for each
# other burn their CPU share spinning (measured here: a 2-thread build made no epoch in 8 CPU
# minutes under load 10; a 1-thread build made one every ~140 s).
#
# Environment: PY (default .venv/bin/python), EDGEXAI_DATA (the GTSRB folder), NICE (default
# "nice -n 19"), TUNE_EPOCHS (fine-tuning epochs, default: the preset's), PRE_EPOCHS (training
# epochs of the pre cells, default 6 = half the CPU preset's 12, to fit 2 CPU cores),
# ADV_EPOCHS (2), ADV_STEPS (3: PGD steps of the adversarial fine-tuning attack), EXTRA (more
# flags for every build, e.g. "--arch resnet20 --seed 0").
set -euo pipefail

OUT=${1:-engines/regimes}
shift || true
CELLS=("$@")
if [ ${#CELLS[@]} -eq 0 ]; then
  CELLS=(natural layered-tuned l1-tuned global-tuned adversarial-tuned
         l1-post global-post layered-post l1-pre global-pre layered-pre)
fi
PY=${PY:-.venv/bin/python}
NICE=${NICE:-nice -n 19}
PRE_EPOCHS=${PRE_EPOCHS:-6}
ADV_EPOCHS=${ADV_EPOCHS:-2}
ADV_STEPS=${ADV_STEPS:-3}
read -r -a EXTRA_ARGS <<< "${EXTRA:-}"
LOGS="$OUT/logs"
mkdir -p "$LOGS"

build() {  # build CELL-NAME FLAGS...
  local cell=$1
  shift
  local log="$LOGS/$cell.log"
  if compgen -G "$OUT/*-$cell-s*/manifest.json" >/dev/null; then
    echo "== $cell: already built, skipped" | tee -a "$LOGS/matrix.log"
    return 0
  fi
  echo "== $(date -u +%H:%M:%S) $cell: edgexai build $* ${EXTRA_ARGS[*]}" | tee -a "$LOGS/matrix.log"
  local resume=()
  compgen -G "$OUT/*-$cell-s*/checkpoint.pt" >/dev/null && resume=(--resume)
  # shellcheck disable=SC2086
  $NICE "$PY" -m edgexai build --out "$OUT" --no-progress "$@" "${EXTRA_ARGS[@]}" "${resume[@]}" \
    >>"$log" 2>&1 \
    || { echo "   FAILED (see $log)" | tee -a "$LOGS/matrix.log"; return 0; }
  tail -n 1 "$log" | tee -a "$LOGS/matrix.log"
}

tune=()
[ -n "${TUNE_EPOCHS:-}" ] && tune=(--epochs "$TUNE_EPOCHS")

for cell in "${CELLS[@]}"; do
  case $cell in
    natural)
      build natural --regime natural
      # a natural build older than robust evaluation: compute it once, cached beside the build
      $NICE "$PY" tools/natural_robustness.py "$OUT" | tee -a "$LOGS/matrix.log" ;;
    adversarial-tuned)
      build "$cell" --regime adversarial --timing tuned --epochs "$ADV_EPOCHS" \
        --pgd-steps "$ADV_STEPS" ;;
    adversarial) build "$cell" --regime adversarial ;;
    *-tuned) build "$cell" --regime "${cell%-tuned}" --timing tuned "${tune[@]}" ;;
    *-post) build "$cell" --regime "${cell%-post}" --timing post ;;
    *-pre) build "$cell" --regime "${cell%-pre}" --timing pre --epochs "$PRE_EPOCHS" ;;
    *) echo "unknown cell $cell" >&2; exit 2 ;;
  esac
done

"$PY" tools/regime_table.py "$OUT"
