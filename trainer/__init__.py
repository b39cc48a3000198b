from .berxit_trainer import BerxitTrainer
from .metrics import BerxitMetrics
from .strategies import STRATEGIES
from .training_args import BerxitTrainingArguments

__all__ = ["BerxitTrainer", "BerxitTrainingArguments", "BerxitMetrics", "STRATEGIES"]
