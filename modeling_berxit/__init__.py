from .losses import BerxitObjective
from .modeling_berxit import BerxitForSequenceClassification, BerxitModel, BerxitPreTrainedModel
from .outputs import BerxitEarlyExitOutput, BerxitModelOutput

__all__ = [
    "BerxitPreTrainedModel",
    "BerxitModel",
    "BerxitForSequenceClassification",
    "BerxitModelOutput",
    "BerxitEarlyExitOutput",
    "BerxitObjective",
]
