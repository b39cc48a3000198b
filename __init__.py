"""berxit: BERxiT early exiting for BERT-family encoders, as a transformers model (the public API).

Importing the package registers the config and models with the Auto classes. The training API (`BerxitTrainer`,
`BerxitTrainingArguments`, `BerxitMetrics`) is imported on first use: serving a model needs none of it. Where
PyTorch is not installed, only serving an ONNX export (`berxit.onnx_runtime`) is available.
"""

__version__ = "0.1.0"

try:
    import torch  # noqa: F401  (the models need it; an ONNX Runtime server does not)
except ImportError:
    HAS_TORCH = False
else:
    HAS_TORCH = True

if HAS_TORCH:
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

    from .configuration_berxit import BerxitConfig
    from .modeling_berxit import (
        BerxitEarlyExitOutput,
        BerxitForSequenceClassification,
        BerxitModel,
        BerxitModelOutput,
        BerxitObjective,
        BerxitPreTrainedModel,
    )

    AutoConfig.register(BerxitConfig.model_type, BerxitConfig, exist_ok=True)
    AutoModel.register(BerxitConfig, BerxitModel, exist_ok=True)
    AutoModelForSequenceClassification.register(BerxitConfig, BerxitForSequenceClassification, exist_ok=True)

__all__ = [
    "BerxitConfig",
    "BerxitPreTrainedModel",
    "BerxitModel",
    "BerxitForSequenceClassification",
    "BerxitModelOutput",
    "BerxitEarlyExitOutput",
    "BerxitObjective",
    "BerxitTrainer",
    "BerxitTrainingArguments",
    "BerxitMetrics",
]

# Imported on first use (PEP 562): the Trainer and the metrics pull in what serving does not need.
_TRAINING_API = {"BerxitTrainer", "BerxitTrainingArguments", "BerxitMetrics"}


def __getattr__(name: str):
    if name in _TRAINING_API:
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
