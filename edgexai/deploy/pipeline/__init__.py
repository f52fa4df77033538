"""The camera-frame pipeline (deployment side: numpy, OpenCV and an inference backend; no torch)."""
