"""Tasks and data: the packaged reviews, GLUE, any CSV/JSON(L)/TSV file or Hub dataset, as train/validation/test
splits with `text` (`text_pair`) and `label` columns, and the rules that turn a label column into a task."""

from .labels import resolve_labels
from .packaged_backbone import PACKAGED_BACKBONE_HUB_ID, packaged_backbone_dir
from .rotten_tomatoes import rotten_tomatoes
from .splits import TaskData, label_mean, split_fingerprints
from .tasks import hub_dataset, load_task
from .tokenizer import load_tokenizer, tokenize
from .user_data import is_local_data, read_texts

__all__ = [
    "TaskData",
    "load_task",
    "hub_dataset",
    "label_mean",
    "split_fingerprints",
    "packaged_backbone_dir",
    "PACKAGED_BACKBONE_HUB_ID",
    "resolve_labels",
    "rotten_tomatoes",
    "read_texts",
    "is_local_data",
    "load_tokenizer",
    "tokenize",
]
