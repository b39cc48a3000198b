"""Serving early exit over many inputs: the layer-queue scheduler, and predictions for a file of texts."""

from .scheduler import LayerQueueScheduler

__all__ = ["LayerQueueScheduler"]
