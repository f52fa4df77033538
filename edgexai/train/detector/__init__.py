"""The learned sign detector (training side: torch): a small CenterNet-style network over the
down-scaled road frame, its synthetic training data, training loop, ONNX export with the decoding
in the graph, and the `edgexai detector` build job. The vehicle side runs the exported graph
through edgexai.deploy.runtime and needs none of this package."""
