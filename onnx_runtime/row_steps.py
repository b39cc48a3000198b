"""The layer-queue scheduler's steps on ONNX Runtime: the export's embedding graph once per input batch, then one
layer graph per call on rows padded afresh (numpy only)."""

from __future__ import annotations

import numpy as np

from .outputs import OnnxEarlyExitOutput

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class OnnxRowSteps:
    """`serving.scheduler.RowSteps` for an `OnnxBerxitModel` (made by `OnnxBerxitModel.row_steps()`)."""

    tensors = "np"

    def __init__(self, served: OnnxBerxitModel):  # noqa: F821 (imported, a circle)
        self.served = served
        self.config = served.config
        self.max_length = served.manifest.get("max_length")

    def embed_rows(self, batch: dict) -> list[np.ndarray]:
        unknown = set(batch) - set(INPUT_NAMES) - {"labels"}
        if unknown:
            raise ValueError(f"batches: unexpected inputs {sorted(unknown)}; expected some of {INPUT_NAMES}.")
        # (batch, length, hidden), (batch, length): each row's real tokens first
        hidden_states, mask = self.served.embed(*(batch.get(name) for name in INPUT_NAMES))
        return [hidden_states[row, : mask[row].sum()] for row in range(len(hidden_states))]

    def run_rows(self, layer: int, rows: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        lengths = [len(row) for row in rows]
        hidden_states = np.zeros((len(rows), max(lengths), rows[0].shape[-1]), rows[0].dtype)  # (rows, length, hidden)
        for row, tokens in enumerate(rows):
            hidden_states[row, : len(tokens)] = tokens
        mask = (np.arange(max(lengths))[None] < np.array(lengths)[:, None]).astype(np.int64)  # (rows, length)
        feeds = {"hidden_states": hidden_states, "attention_mask": mask}
        hidden_states, logits, certainty = self.served.layers[layer].run(None, feeds)
        return [hidden_states[row, :length] for row, length in enumerate(lengths)], logits, certainty

    def stack(self, values: list[np.ndarray]) -> np.ndarray:
        return np.stack(values)

    def answer(self, logits: list, exit_layers: list[int], certainties: list) -> OnnxEarlyExitOutput:
        layers = np.array(exit_layers, dtype=np.int64)
        return OnnxEarlyExitOutput(logits=np.stack(logits), exit_layers=layers, certainties=np.stack(certainties))

    @staticmethod
    def numpy(out: OnnxEarlyExitOutput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return out.logits, out.exit_layers, out.certainties
