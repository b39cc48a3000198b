from .losses import BerxitObjective
from .model import BerxitForSequenceClassification, BerxitModel, BerxitPreTrainedModel
from .outputs import BerxitEarlyExitOutput, BerxitModelOutput

__all__ = [
    "BerxitPreTrainedModel",
    "BerxitModel",
    "BerxitForSequenceClassification",
    "BerxitModelOutput",
    "BerxitEarlyExitOutput",
    "BerxitObjective",
]
