"""The per-layer exit (pooler + task head) and the certainty head that all exits share."""

from __future__ import annotations

import torch
from torch import nn

from ..backbones.backbone_registry import backbone_adapter


def pool_layer(hidden_states: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """What an exit reads of its layer, `(batch, length, hidden)` -> `(batch, hidden)`: the [CLS] state (each
    example's first real token: column 0 when padding is on the right, later when on the left), or the mean over
    the real tokens. Padding never counts, so a padded batch pools as each example alone."""
    if pooling == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)  # (batch, length, 1)
        return (hidden_states * mask).sum(1) / mask.sum(1)  # (batch, hidden)
    first = attention_mask.argmax(-1)  # (batch,): the column of each example's first real token
    index = first[:, None, None].expand(-1, 1, hidden_states.shape[-1])  # (batch, 1, hidden)
    return hidden_states.gather(1, index).squeeze(1)  # (batch, hidden); a gather, so it traces at any batch size


class BerxitExit(nn.Module):
    """Pools one layer (`config.exit_pooling`), then predicts from it like the family's own classification head:
    its pooler (BERT's dense + tanh, or the dense half of the head of families without one; seeded from the
    pretrained one), dropout, and a linear task head."""

    def __init__(self, config):
        super().__init__()
        backbone_config = config.backbone_config
        adapter = backbone_adapter(backbone_config.model_type)
        self.pooler = adapter.build_pooler(backbone_config)
        self.dropout = nn.Dropout(adapter.exit_dropout(backbone_config))
        self.classifier = nn.Linear(backbone_config.hidden_size, config.num_labels)
        self.pooling = config.exit_pooling

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns `(pooled, logits)`; the pooled vector is what the certainty head reads too."""
        summary = pool_layer(hidden_states, attention_mask, self.pooling)  # (batch, hidden)
        pooled = self.dropout(self.pooler(summary))  # (batch, hidden)
        return pooled, self.classifier(pooled)  # (batch, hidden), (batch, labels)


class BerxitCertaintyHead(nn.Module):
    """`sigmoid(Linear(hidden, 1))` over an exit's pooled vector: how likely that exit's answer is right.

    One head for every layer, so it learns a single mapping from "shape of the hidden state" to "this depth is
    enough"; it never looks at the logits, which is why it also works for regression.

    The sigmoid runs in float32 whatever the model's dtype, so thresholds mean the same in fp32, fp16 and bf16 (in
    bf16 it reaches exactly 1.0 once its input passes about 5.5). The linear layer is named `classifier` (it
    classifies an exit's answer as right or wrong), which is also how PEFT's sequence-classification task finds
    the heads it must train.
    """

    def __init__(self, config):
        super().__init__()
        self.classifier = nn.Linear(config.backbone_config.hidden_size, 1)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.classifier(pooled).float()).squeeze(-1)  # (batch,), float32
