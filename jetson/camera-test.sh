#!/usr/bin/env bash
# Check a camera on a Jetson before pointing edgexai at it: GStreamer alone, then OpenCV.
#
#   jetson/camera-test.sh csi [SENSOR_ID]        CSI camera through nvarguscamerasrc (default 0)
#   jetson/camera-test.sh usb [/dev/videoN]      USB camera through v4l2src (default /dev/video0)
#   jetson/camera-test.sh list                   list V4L2 devices and their formats
#
# Environment: WIDTH, HEIGHT, FPS (default 1280, 720, 30), FRAMES (default 90).
# Step 1 runs gst-launch-1.0 into a fakesink and prints the measured frame rate; step 2 opens the
# same pipeline with cv2.VideoCapture(..., cv2.CAP_GSTREAMER), as `edgexai run` does, and reads
# frames. The pipelines are the ones in jetson/gstreamer.md.
set -euo pipefail

WIDTH=${WIDTH:-1280}
HEIGHT=${HEIGHT:-720}
FPS=${FPS:-30}
FRAMES=${FRAMES:-90}
PY=${PY:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/python}
[ -x "$PY" ] || PY=/usr/bin/python3

die() { echo "error: $*" >&2; exit 1; }

csi_pipeline() {
  local id=$1 sink=$2
  echo "nvarguscamerasrc sensor-id=$id num-buffers=$FRAMES" \
    "! video/x-raw(memory:NVMM),width=$WIDTH,height=$HEIGHT,framerate=$FPS/1,format=NV12" \
    "! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! $sink"
}

usb_pipeline() {
  local dev=$1 sink=$2
  echo "v4l2src device=$dev num-buffers=$FRAMES" \
    "! video/x-raw,width=$WIDTH,height=$HEIGHT,framerate=$FPS/1" \
    "! videoconvert ! video/x-raw,format=BGR ! $sink"
}

run_gst() {
  local pipeline=$1 start end
  command -v gst-launch-1.0 >/dev/null || die "gst-launch-1.0 missing: sudo apt-get install gstreamer1.0-tools"
  echo "+ gst-launch-1.0 $pipeline"
  start=$(date +%s.%N)
  # Word splitting is intended: gst-launch-1.0 takes the pipeline as separate arguments.
  # shellcheck disable=SC2086
  gst-launch-1.0 -q $pipeline
  end=$(date +%s.%N)
  awk -v n="$FRAMES" -v a="$start" -v b="$end" \
    'BEGIN { printf "  %d frames in %.2f s (%.1f fps, including start-up)\n", n, b - a, n / (b - a) }'
}

run_opencv() {
  local pipeline=$1
  echo "+ OpenCV ($PY): cv2.VideoCapture(<pipeline>, cv2.CAP_GSTREAMER)"
  "$PY" - "$pipeline" <<'PYEOF'
import sys
import time

import cv2

pipeline = sys.argv[1]
cap = cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER)
if not cap.isOpened():
    gst = [l for l in cv2.getBuildInformation().splitlines() if "GStreamer" in l]
    sys.exit(f"  OpenCV could not open the pipeline ({gst[0].strip() if gst else 'no GStreamer'})")
n, t0 = 0, time.perf_counter()
while True:
    ok, frame = cap.read()
    if not ok:
        break
    n += 1
dt = time.perf_counter() - t0
if n == 0:
    sys.exit("  OpenCV opened the pipeline but read no frame")
print(f"  OpenCV read {n} frames of {frame.shape[1]}x{frame.shape[0]} in {dt:.2f} s ({n / dt:.1f} fps)")
PYEOF
}

case "${1:-}" in
  csi)
    id=${2:-0}
    run_gst "$(csi_pipeline "$id" fakesink)"
    run_opencv "$(csi_pipeline "$id" 'appsink drop=true max-buffers=1')"
    echo "use: edgexai run --source csi://$id"
    ;;
  usb)
    dev=${2:-/dev/video0}
    [ -e "$dev" ] || die "$dev not found (jetson/camera-test.sh list)"
    run_gst "$(usb_pipeline "$dev" fakesink)"
    run_opencv "$(usb_pipeline "$dev" 'appsink drop=true max-buffers=1')"
    echo "use: edgexai run --source $dev"
    ;;
  list)
    if command -v v4l2-ctl >/dev/null; then
      v4l2-ctl --list-devices
      for dev in /dev/video*; do
        [ -e "$dev" ] || continue
        echo "== $dev"
        v4l2-ctl -d "$dev" --list-formats-ext | sed -n '1,40p'
      done
    else
      ls -l /dev/video* 2>/dev/null || echo "no /dev/video* device"
      echo "(sudo apt-get install v4l-utils for formats and resolutions)"
    fi
    ;;
  *)
    sed -n '2,/^[^#]/{/^#/p;}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
