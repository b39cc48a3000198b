"""What BERxiT models return: every exit at once (`forward`), or each example's own exit (early exit)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class BerxitModelOutput(ModelOutput):
    r"""
    Output of a pass through every layer.

    loss (`torch.FloatTensor` of shape `()`, given `labels`):
        Task loss of the requested objective plus the certainty loss (and the distillation loss, where the
        objective asks for it), each times its weight.
    logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`):
        The final exit's logits; in eval mode with `config.exit_threshold` set, each example's answer at that
        operating point (see `exit_layers`).
    exit_logits (`torch.FloatTensor` of shape `(batch_size, num_layers, num_labels)`):
        Every exit's logits.
    certainties (`torch.FloatTensor` of shape `(batch_size, num_layers)`):
        Every exit's certainty, in [0, 1].
    exit_layers (`torch.LongTensor` of shape `(batch_size,)`, in eval mode with `config.exit_threshold` set):
        The 1-based layer that answered each example.
    task_loss (`torch.FloatTensor` of shape `()`, given `labels`):
        The objective's task loss alone.
    certainty_loss (`torch.FloatTensor` of shape `()`, given `labels`):
        The certainty head's loss (MSE, or the objective's `certainty_loss`) against each exit's detached
        correctness, before its weight.
    distillation_loss (`torch.FloatTensor` of shape `()`, given `labels` and an objective that distils):
        The trained early exits' distance to the final exit's answer, before its weight.
    hidden_states (`tuple[torch.FloatTensor]`, given `output_hidden_states=True`):
        The embeddings and every layer's output, each of shape `(batch_size, sequence_length, hidden_size)`.
    attentions (`tuple[torch.FloatTensor]`, given `output_attentions=True` and eager attention):
        Every layer's attention weights, each of shape `(batch_size, num_heads, sequence_length, sequence_length)`.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    exit_logits: torch.FloatTensor | None = None
    certainties: torch.FloatTensor | None = None
    exit_layers: torch.LongTensor | None = None
    task_loss: torch.FloatTensor | None = None
    certainty_loss: torch.FloatTensor | None = None
    distillation_loss: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class BerxitEarlyExitOutput(ModelOutput):
    r"""
    Output of dynamic-depth inference, in the caller's order.

    logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`):
        The logits of the exit that answered each example.
    exit_layers (`torch.LongTensor` of shape `(batch_size,)`):
        The 1-based layer that answered each example.
    certainties (`torch.FloatTensor` of shape `(batch_size,)`):
        The certainty head's value at that layer.

    Every field is per example, so pipelines, `Trainer.predict` and Accelerate can slice, pad and gather them.
    """

    logits: torch.FloatTensor | None = None
    exit_layers: torch.LongTensor | None = None
    certainties: torch.FloatTensor | None = None

    @property
    def num_layers_computed(self) -> int:
        """How many example-layers were computed in all (the sum of `exit_layers`): the work actually done."""
        return int(self.exit_layers.sum())
