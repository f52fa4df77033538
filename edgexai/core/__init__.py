"""Shared layer: what both sides need, in the standard library, numpy and OpenCV only.

The build-folder contract (`manifest`), options and their parse-time checks, image preprocessing,
box decoding and detection scoring (`detection/`), and the explanation metrics (`metrics/`).
Nothing here imports torch or another edgexai layer: `tests/unit/test_layers.py` checks it.
"""
