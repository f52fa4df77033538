"""Deployment layer: what runs on the vehicle — inference runtimes, the camera-frame pipeline and
`doctor`. Imports `edgexai.core` and itself only, and never torch: a Jetson image has numpy,
OpenCV and TensorRT and nothing else (`tests/unit/test_layers.py`, `vermin` for Python 3.10)."""
