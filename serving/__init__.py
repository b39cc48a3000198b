"""Serving early exit over many inputs: the layer-queue scheduler, and predictions for a file of texts.

The scheduler (PyTorch) is imported on first use, so that `serving.answers` serves ONNX Runtime without torch.
"""

__all__ = ["LayerQueueScheduler"]


def __getattr__(name: str):
    if name == "LayerQueueScheduler":
        from .scheduler import LayerQueueScheduler

        return LayerQueueScheduler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
