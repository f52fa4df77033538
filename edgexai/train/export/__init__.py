"""Training-side export: ONNX with in-graph Grad-CAM, precision variants, TensorRT ops check."""
