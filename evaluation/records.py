"""One pass over an evaluation set that keeps every layer's prediction and certainty.

Every exit rule at every threshold is a replay of this record, so a whole speed-accuracy curve costs one
forward pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding
from transformers.utils.logging import tqdm


@dataclass
class ExitRecord:
    exit_logits: torch.Tensor  # (examples, layers, labels)
    certainties: torch.Tensor  # (examples, layers)
    labels: torch.Tensor  # (examples,)

    @property
    def num_layers(self) -> int:
        return self.exit_logits.shape[1]

    def save(self, path) -> None:
        torch.save({"exit_logits": self.exit_logits, "certainties": self.certainties, "labels": self.labels}, path)


def padded_batches(dataset, tokenizer, batch_size: int) -> DataLoader:
    """A tokenized dataset in padded batches, in order."""
    return DataLoader(dataset, batch_size=batch_size, collate_fn=DataCollatorWithPadding(tokenizer))


@torch.no_grad()
def collect_outputs(
    model, batches: Iterable[dict], fields: tuple[str, ...], description: str | None = None, **call
) -> dict[str, torch.Tensor]:
    """The one batched inference loop of evaluation, the experiments and the benchmark: runs `model` (eval mode) on
    each batch, with `call` as extra arguments, and concatenates the output `fields` on the CPU (floats as float32;
    `"labels"` is the batches' own labels, which the model is not given). `description` shows a progress bar."""
    model.eval()
    collected = {field: [] for field in fields}
    for batch in tqdm(batches, desc=description, unit="batch", disable=description is None):
        batch = {name: value.to(model.device) for name, value in batch.items()}
        labels = batch.pop("labels", None)
        output = model(**batch, **call)
        for field in fields:
            value = labels if field == "labels" else output[field]
            collected[field].append(value.cpu() if field == "labels" else value.float().cpu())
    return {field: torch.cat(values) for field, values in collected.items()}


def record_exits(model, dataset, tokenizer, batch_size: int = 64, description: str = "Recording exits") -> ExitRecord:
    """Runs every layer on a tokenized dataset (with `labels`) and keeps each exit's logits and certainty.

    Shows a progress bar (`description`), which `transformers.utils.logging.disable_progress_bar()` turns off.
    """
    batches = padded_batches(dataset, tokenizer, batch_size)
    fields = ("exit_logits", "certainties", "labels")
    outputs = collect_outputs(model, batches, fields, description, early_exit=False)  # whatever the config serves
    return ExitRecord(**outputs)
