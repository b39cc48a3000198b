from .berxit_metrics import BerxitMetrics
from .berxit_trainer import BerxitTrainer
from .strategies import STRATEGIES
from .training_args import BerxitTrainingArguments

__all__ = ["BerxitTrainer", "BerxitTrainingArguments", "BerxitMetrics", "STRATEGIES"]
