"""Early exit on ONNX Runtime: export a BERxiT model as per-layer graphs, and serve them with the same exit rules
(numpy and onnxruntime only; PyTorch is needed to export, not to serve)."""
