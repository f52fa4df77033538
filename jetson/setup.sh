#!/usr/bin/env bash
# Set up edgexai on a Jetson with JetPack 6.x (L4T R36, TensorRT 10.3, CUDA 12.6, Python 3.10).
#
#   jetson/setup.sh --check              only check versions; say what is missing and how to get it
#   jetson/setup.sh                      check, then create .venv and install edgexai into it
#   sudo jetson/setup.sh --install-service
#                                        then (as root, after the step above) install the systemd
#                                        unit, its settings file, the logrotate rule and the
#                                        'edgexai' service user
#
# Idempotent: every step checks first and does nothing when already done. It installs only what
# is safe to install unattended: a venv inside this checkout (which sees JetPack's TensorRT and
# OpenCV through --system-site-packages; pip is constrained never to bring NumPy 2 or pip's
# GStreamer-less OpenCV into it) and, with --install-service, files under /etc and a system user.
# JetPack components (apt packages) are never installed by this script: it prints the apt lines.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX=/opt/edgexai
PY=/usr/bin/python3
VENV="$ROOT/.venv"
CONSTRAINTS="$ROOT/jetson/constraints-jetpack6.txt"
MODE=install
SERVICE=0
MISSING=0

usage() {
  sed -n '2,/^[^#]/{/^#/p;}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
  case "$arg" in
    --check) MODE=check ;;
    --install-service) SERVICE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $arg (see --help)" >&2; exit 2 ;;
  esac
done

ok() { printf '  ok    %-12s %s\n' "$1" "$2"; }
warn() { printf '  warn  %-12s %s\n' "$1" "$2"; }
miss() {
  printf '  MISS  %-12s %s\n' "$1" "$2"
  printf '        %-12s fix: %s\n' "" "$3"
  MISSING=$((MISSING + 1))
}

# version_ge A B: true when version A >= version B (dotted numbers).
version_ge() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

check_platform() {
  local rel l4t
  if [ -r /etc/nv_tegra_release ]; then
    rel=$(head -n1 /etc/nv_tegra_release)
    l4t=$(sed -n 's/^# R\([0-9]*\) (release), REVISION: \([0-9.]*\).*/\1.\2/p' /etc/nv_tegra_release)
    case "$l4t" in
      36.*) ok jetpack "L4T R$l4t (JetPack 6.x)" ;;
      "") warn jetpack "cannot parse /etc/nv_tegra_release: $rel" ;;
      *) miss jetpack "L4T R$l4t: this kit targets JetPack 6 (L4T R36.x)" \
           "flash JetPack 6.x with NVIDIA SDK Manager (6.2 = L4T R36.4.3)" ;;
    esac
  else
    miss jetpack "not a Jetson (/etc/nv_tegra_release absent)" \
      "run this on a Jetson Orin with JetPack 6; elsewhere use pip install -e '.[desktop]'"
  fi
  if [ "$(uname -m)" != aarch64 ]; then
    warn arch "$(uname -m): JetPack devices are aarch64"
  fi
}

check_python() {
  local v
  if [ ! -x "$PY" ]; then
    miss python "$PY not found" "sudo apt-get install python3 python3-venv python3-pip"
    return
  fi
  v=$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
  case "$v" in
    3.10.*) ok python "Python $v ($PY)" ;;
    *) miss python "Python $v at $PY; JetPack 6's TensorRT/OpenCV bindings are for 3.10" \
         "use JetPack 6's system Python 3.10 (do not replace /usr/bin/python3)" ;;
  esac
  if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    miss venv "python3-venv is not installed" "sudo apt-get install python3-venv python3-pip"
  else
    ok venv "python3 -m venv available"
  fi
}

check_cuda() {
  local v=""
  if [ -r /usr/local/cuda/version.json ]; then
    v=$("$PY" -c 'import json; print(json.load(open("/usr/local/cuda/version.json"))["cuda"]["version"])' 2>/dev/null || true)
  fi
  if [ -z "$v" ] && command -v nvcc >/dev/null 2>&1; then
    v=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
  fi
  if [ -z "$v" ]; then
    miss cuda "CUDA not found (/usr/local/cuda/version.json, nvcc)" \
      "sudo apt-get install nvidia-jetpack (or at least cuda-cudart-12-6)"
  elif version_ge "$v" 12.6 && ! version_ge "$v" 13; then
    ok cuda "CUDA $v"
  else
    warn cuda "CUDA $v (JetPack 6.1/6.2 ship 12.6; cuda-python is pinned to 12.x)"
  fi
}

check_tensorrt() {
  local v
  if v=$("$PY" -c 'import tensorrt; print(tensorrt.__version__)' 2>/dev/null); then
    case "$v" in
      10.*) ok tensorrt "TensorRT $v (system Python)" ;;
      *) warn tensorrt "TensorRT $v: this kit was written for TensorRT 10.3 (JetPack 6)" ;;
    esac
  else
    miss tensorrt "the tensorrt Python module is not importable by $PY" \
      "sudo apt-get install python3-libnvinfer"
  fi
  if [ -x /usr/src/tensorrt/bin/trtexec ] || command -v trtexec >/dev/null 2>&1; then
    ok trtexec "$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)"
  else
    warn trtexec "trtexec not found (only needed for latency runs): sudo apt-get install libnvinfer-bin"
  fi
}

check_opencv() {
  local v gst
  if ! v=$("$PY" -c 'import cv2; print(cv2.__version__)' 2>/dev/null); then
    miss opencv "cv2 is not importable by $PY" "sudo apt-get install nvidia-opencv"
    return
  fi
  gst=$("$PY" -c 'import cv2; print(cv2.getBuildInformation())' | sed -n 's/^ *GStreamer: *//p' | head -n1)
  case "$gst" in
    YES*) ok opencv "OpenCV $v with GStreamer ($gst)" ;;
    *) miss opencv "OpenCV $v has no GStreamer (needed for csi:// cameras)" \
         "sudo apt-get install nvidia-opencv; pip uninstall opencv-python opencv-python-headless" ;;
  esac
}

check_gstreamer() {
  if ! command -v gst-inspect-1.0 >/dev/null 2>&1; then
    miss gstreamer "gst-inspect-1.0 not found" "sudo apt-get install gstreamer1.0-tools"
    return
  fi
  if gst-inspect-1.0 nvarguscamerasrc >/dev/null 2>&1; then
    ok gstreamer "nvarguscamerasrc available (CSI cameras)"
  else
    miss gstreamer "GStreamer has no nvarguscamerasrc element" \
      "sudo apt-get install nvidia-l4t-gstreamer"
  fi
}

check_camera() {
  local devs
  devs=$(find /dev -maxdepth 1 -name 'video*' 2>/dev/null | sort | tr '\n' ' ')
  if [ -n "$devs" ]; then
    ok camera "$devs"
  else
    warn camera "no /dev/video* yet: connect a CSI or USB camera (not needed for file sources)"
  fi
}

make_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "+ $PY -m venv --system-site-packages $VENV"
    "$PY" -m venv --system-site-packages "$VENV"
  else
    echo "  venv $VENV exists"
  fi
  if ! grep -qi '^include-system-site-packages *= *true' "$VENV/pyvenv.cfg"; then
    echo "error: $VENV does not see the system site-packages (JetPack's TensorRT/OpenCV);" \
      "remove it and rerun" >&2
    exit 1
  fi
  echo "+ pip install -c $CONSTRAINTS -e '${ROOT}[jetson]'"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" -e "${ROOT}[jetson]"
  "$VENV/bin/python" - <<'EOF'
import cv2, numpy
print(f"  venv uses numpy {numpy.__version__} from {numpy.__file__}")
print(f"  venv uses OpenCV {cv2.__version__} from {cv2.__file__}")
try:
    from cuda.bindings import runtime as rt
except ImportError:
    from cuda import cudart as rt
err, v = rt.cudaRuntimeGetVersion()
print(f"  venv uses cuda-python with CUDA runtime {v // 1000}.{v % 1000 // 10}")
EOF
}

install_service() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: --install-service needs root: sudo $0 --install-service" >&2
    exit 1
  fi
  if [ ! -x "$VENV/bin/edgexai" ]; then
    echo "error: $VENV/bin/edgexai not found: run jetson/setup.sh first, without sudo" >&2
    exit 1
  fi
  if [ "$ROOT" != "$PREFIX" ]; then
    echo "error: the unit runs $PREFIX/.venv/bin/edgexai but this checkout is $ROOT;" \
      "clone into $PREFIX (jetson/README.md, step 1)" >&2
    exit 1
  fi
  if ! id edgexai >/dev/null 2>&1; then
    echo "+ useradd --system edgexai (groups: video)"
    useradd --system --no-create-home --home-dir "$PREFIX" --shell /usr/sbin/nologin \
      --groups video edgexai
  fi
  if getent group render >/dev/null && ! id -nG edgexai | grep -qw render; then
    usermod -a -G render edgexai
  fi
  install -d -m 0755 /etc/edgexai
  if [ ! -e /etc/edgexai/edgexai.env ]; then
    install -m 0644 "$ROOT/jetson/edgexai.env" /etc/edgexai/edgexai.env
    echo "+ installed /etc/edgexai/edgexai.env (edit EDGEXAI_SOURCE / EDGEXAI_MODEL there)"
  else
    echo "  /etc/edgexai/edgexai.env exists (kept)"
  fi
  install -m 0644 "$ROOT/jetson/edgexai.service" /etc/systemd/system/edgexai.service
  install -m 0644 "$ROOT/jetson/logrotate.conf" /etc/logrotate.d/edgexai
  install -d -m 0750 -o edgexai -g edgexai /var/log/edgexai
  systemctl daemon-reload
  systemctl enable edgexai.service
  echo "installed and enabled edgexai.service; start it with: sudo systemctl start edgexai"
}

echo "edgexai Jetson setup: checking $(hostname) ($ROOT)"
check_platform
check_python
check_cuda
check_tensorrt
check_opencv
check_gstreamer
check_camera

if [ "$MISSING" -gt 0 ]; then
  echo "$MISSING missing; install what the fix lines say, then rerun $0"
  exit 1
fi
[ "$MODE" = check ] && { echo "all checks passed"; exit 0; }

if [ "$SERVICE" -eq 1 ]; then
  install_service
  exit 0
fi
make_venv
if [ ! -e "$ROOT/builds/detector" ]; then
  echo "+ edgexai detector copy-default builds/detector (the shipped sign detector)"
  "$VENV/bin/edgexai" detector copy-default "$ROOT/builds/detector"
fi
echo "next: copy a classifier build folder to $ROOT/builds/, then build both engines on this"
echo "device at the precision of /etc/edgexai/edgexai.env (EDGEXAI_PRECISION, fp16 by default):"
echo "  $VENV/bin/edgexai engine --model builds/NAME --precision fp16 --backend trt"
echo "  $VENV/bin/edgexai engine --model builds/detector --precision fp16 --backend trt"
echo "  $VENV/bin/edgexai doctor --model builds/NAME --detector builds/detector --precision fp16"
