"""A model loaded to serve, on the runtime asked for: what `berxit-predict` and `berxit-serve` share."""

from __future__ import annotations

RUNTIMES = ("pytorch", "onnxruntime")


def load_for_serving(model_dir: str, *, runtime: str = "pytorch", quantized: bool = False):
    """`model_dir`'s model in eval mode: `BerxitForSequenceClassification` on PyTorch (on the GPU if there is one),
    or its ONNX export (`berxit-export --onnx`; `quantized`: the int8 graphs) as an `OnnxBerxitModel`."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime: expected one of {RUNTIMES}, got {runtime!r}.")
    if quantized and runtime != "onnxruntime":
        raise ValueError("quantized: the int8 graphs run on ONNX Runtime; pass --runtime onnxruntime.")
    if runtime == "onnxruntime":
        from ..onnx_runtime.runner import OnnxBerxitModel

        return OnnxBerxitModel(model_dir, quantized=quantized)
    import torch

    from ..modeling_berxit import BerxitForSequenceClassification

    model = BerxitForSequenceClassification.from_pretrained(model_dir).eval()
    return model.cuda() if torch.cuda.is_available() else model
