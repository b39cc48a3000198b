"""What the ONNX Runtime runner answers: numpy arrays, as `BerxitEarlyExitOutput` holds tensors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class OnnxEarlyExitOutput:
    """Each example's answer (numpy, in the caller's order): its exit's logits, the 1-based exit layer, the
    certainty there."""

    logits: np.ndarray  # (batch, labels)
    exit_layers: np.ndarray  # (batch,)
    certainties: np.ndarray  # (batch,)
