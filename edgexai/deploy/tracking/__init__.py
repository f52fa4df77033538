"""Signs over time on the vehicle: tracks, one class per track, sign events, CAM stability along a
track, and the signs in force (numpy and OpenCV only, like the rest of edgexai.deploy)."""
