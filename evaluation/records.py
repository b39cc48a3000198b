"""One pass over an evaluation set that keeps every layer's prediction and certainty.

Every exit rule at every threshold is a replay of this record, so a whole speed-accuracy curve costs one
forward pass.
"""

from __future__ import annotations

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


@torch.no_grad()
def record_exits(model, dataset, tokenizer, batch_size: int = 64, description: str = "Recording exits") -> ExitRecord:
    """Runs every layer on a tokenized dataset (with `labels`) and keeps each exit's logits and certainty.

    Shows a progress bar (`description`), which `transformers.utils.logging.disable_progress_bar()` turns off.
    """
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=DataCollatorWithPadding(tokenizer))
    logits, certainties, labels = [], [], []
    for batch in tqdm(loader, desc=description, unit="batch"):
        batch = {name: value.to(model.device) for name, value in batch.items()}
        output = model(**batch, early_exit=False)  # every layer, whatever operating point the config holds
        logits.append(output.exit_logits.float().cpu())
        certainties.append(output.certainties.float().cpu())
        labels.append(batch["labels"].cpu())
    return ExitRecord(torch.cat(logits), torch.cat(certainties), torch.cat(labels))
