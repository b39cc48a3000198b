"""The layer-queue scheduler's steps on a PyTorch BERxiT model: the model's own layer-step API (`embed_inputs`,
`layer_context`, `run_layer`) on rows padded afresh for every call."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from .outputs import BerxitEarlyExitOutput

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds")


class TorchRowSteps:
    """`serving.scheduler.RowSteps` for `BerxitModel` or `BerxitForSequenceClassification` in eval mode."""

    tensors = "pt"

    def __init__(self, model):
        if model.training:
            raise ValueError("model: it is in training mode, where dropout makes exits random; call model.eval().")
        self.model = model.base_model
        self.config = self.model.config
        self.max_length = self.model.adapter.max_sequence_length(self.config.backbone_config)

    @torch.no_grad()
    def embed_rows(self, batch: dict) -> list[torch.Tensor]:
        unknown = set(batch) - set(INPUT_NAMES) - {"labels"}
        if unknown:
            raise ValueError(f"batches: unexpected inputs {sorted(unknown)}; expected some of {INPUT_NAMES}.")
        given = [batch.get(name) for name in INPUT_NAMES]
        arguments = [None if value is None else torch.as_tensor(value).to(self.model.device) for value in given]
        # (batch, length, hidden), (batch, length); positions restart at 0 once each row keeps only its real tokens
        hidden_states, attention_mask, _ = self.model.embed_inputs(*arguments)
        return [hidden_states[row, attention_mask[row].bool()] for row in range(len(hidden_states))]

    @torch.no_grad()
    def run_rows(self, layer: int, rows: list[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        lengths = [len(row) for row in rows]
        hidden_states = pad_sequence(rows, batch_first=True)  # (rows, length, hidden)
        columns = torch.arange(hidden_states.shape[1], device=hidden_states.device)  # (length,)
        real = torch.tensor(lengths, device=columns.device)  # (rows,)
        attention_mask = (columns[None] < real[:, None]).long()  # (rows, length)
        context = self.model.layer_context(hidden_states, attention_mask, None)
        hidden_states, logits, certainty = self.model.run_layer(layer, hidden_states, attention_mask, context)
        return [hidden_states[row, :length] for row, length in enumerate(lengths)], logits, certainty

    def stack(self, values: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(values)

    def answer(self, logits: list, exit_layers: list[int], certainties: list) -> BerxitEarlyExitOutput:
        return BerxitEarlyExitOutput(
            logits=torch.stack(logits), exit_layers=torch.tensor(exit_layers), certainties=torch.stack(certainties)
        )

    @staticmethod
    def numpy(out: BerxitEarlyExitOutput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The answers as numpy arrays (logits and certainties in float32), for `serving.answers.answer_rows`."""
        return out.logits.float().cpu().numpy(), out.exit_layers.numpy(), out.certainties.float().cpu().numpy()
