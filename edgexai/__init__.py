"""edgexai: traffic-sign classifiers for vehicles, with Grad-CAM computed on the device.

Importing the package pulls in nothing heavy: the deployment side (runtime, pipeline, the `run`
command) must work on an image that has numpy, OpenCV and an inference backend only.
"""

__version__ = "0.1.0"
