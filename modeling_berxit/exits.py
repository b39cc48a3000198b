"""The per-layer exit (pooler + task head) and the certainty head that all exits share."""

from __future__ import annotations

import torch
from torch import nn

from ..backbones.registry import backbone_adapter
from ..exit_rules.rules import entropy_confidence


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
    """`sigmoid(Linear(features, 1))`: how likely an exit's answer is right. One head for every layer.

    What it reads is `config.certainty_inputs`. `"pooled"` (the paper's): the exit's pooled vector alone, so it
    never looks at the logits, which is why it also works for regression. `"pooled_and_answer"`: that vector and
    the exit's own answer (`answer_features`), which the max-softmax rule ranks by and the pooled vector alone
    ranks worse (main job, per-exit AUROC: 0.63-0.71 against 0.70-0.78). The answer is detached: the certainty
    loss teaches the head to read it, never the exit to change it.

    The sigmoid runs in float32 whatever the model's dtype, so thresholds mean the same in fp32, fp16 and bf16 (in
    bf16 it reaches exactly 1.0 once its input passes about 5.5). The linear layer is named `classifier` (it
    classifies an exit's answer as right or wrong), which is also how PEFT's sequence-classification task finds
    the heads it must train.
    """

    def __init__(self, config):
        super().__init__()
        extra = num_answer_features(config) if config.certainty_inputs == "pooled_and_answer" else 0
        self.reads_answer = extra > 0
        self.starts_from_entropy = self.reads_answer and not config.is_regression
        self.classifier = nn.Linear(config.backbone_config.hidden_size + extra, 1)

    # A head that reads a class answer starts as the entropy rule's score, `sigmoid(START * (negentropy - 1/2))`,
    # and learns from the pooled vector what that misses (regression has no such score: its head starts at 0).
    # Started at 0 like the pooled weights, Adam's steps of about the learning rate left the few answer weights
    # near 0 after an epoch (main job: no gain), where the 384 pooled weights add up.
    START = 6.0

    def answer_start(self, weight: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The initial weight (`weight`, with its negentropy entry, the last, set to START) and bias."""
        start = weight.detach().clone()  # (1, hidden + answer features)
        start[0, -1] = self.START
        return start, -self.START / 2

    def features(self, pooled: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """What the linear layer reads of one exit: its pooled vector, and its answer where the config says so."""
        if not self.reads_answer:
            return pooled  # (batch, hidden)
        answer = answer_features(logits.detach()).to(pooled.dtype)  # (batch, answer features)
        return torch.cat([pooled, answer], dim=-1)  # (batch, hidden + answer features)

    def forward(self, pooled: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        features = self.features(pooled, logits)  # (batch, features)
        return torch.sigmoid(self.classifier(features).float()).squeeze(-1)  # (batch,), float32


def num_answer_features(config) -> int:
    """How many numbers `answer_features` gives: the class probabilities, the margin and the negentropy for
    classes; the prediction for regression."""
    return 1 if config.num_labels == 1 else config.num_labels + 2


def answer_features(logits: torch.Tensor) -> torch.Tensor:
    """What an exit's answer says of itself, `(batch, labels)` -> `(batch, features)`: for classes the
    probabilities, the margin between the two most likely classes and `1 - entropy / log(labels)` (what the
    entropy rule reads); for regression the predicted value."""
    if logits.shape[-1] == 1:
        return logits.float()  # (batch, 1)
    probabilities = logits.float().softmax(-1)  # (batch, labels)
    top = probabilities.topk(2, dim=-1).values  # (batch, 2)
    margin = top[:, :1] - top[:, 1:]  # (batch, 1)
    negentropy = entropy_confidence(logits.float())[:, None]  # (batch, 1)
    return torch.cat([probabilities, margin, negentropy], dim=-1)  # (batch, labels + 2)
