"""berxit: BERxiT early exiting for BERT-family encoders, as a transformers model (the public API).

Importing the package registers the config and models with the Auto classes.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .configuration_berxit import BerxitConfig
from .modeling_berxit import (
    BerxitEarlyExitOutput,
    BerxitForSequenceClassification,
    BerxitModel,
    BerxitModelOutput,
    BerxitPreTrainedModel,
)
from .trainer import BerxitMetrics, BerxitTrainer, BerxitTrainingArguments

__version__ = "0.1.0"

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
    "BerxitTrainer",
    "BerxitTrainingArguments",
    "BerxitMetrics",
]
