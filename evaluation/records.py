"""One pass over an evaluation set that keeps every layer's prediction and certainty.

Every exit rule at every threshold is a replay of this record, so a whole speed-accuracy curve costs one
forward pass.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding
from transformers.utils.logging import tqdm

from ..artifacts.atomic_files import write_bytes_atomic


@dataclass
class ExitRecord:
    """Every layer's answer and certainty on one set of examples; `labels` is None for unlabelled texts (a
    calibration file), which the consistency risk needs no labels for."""

    exit_logits: torch.Tensor  # (examples, layers, labels)
    certainties: torch.Tensor  # (examples, layers)
    labels: torch.Tensor | None  # (examples,)

    @property
    def num_layers(self) -> int:
        return self.exit_logits.shape[1]

    def __len__(self) -> int:
        return self.exit_logits.shape[0]

    def select(self, rows) -> ExitRecord:
        """The record of the examples `rows` (indices or a boolean mask)."""
        rows = torch.as_tensor(rows)
        labels = None if self.labels is None else self.labels[rows]
        return ExitRecord(self.exit_logits[rows], self.certainties[rows], labels)

    def save(self, path: str | Path) -> None:
        """An `.npz` (no pickle) of the float32 values, so a later chooser replays every rule without the model and
        lands where the sweep did (float16 certainties moved examples across thresholds such as 0.93)."""
        arrays = {"exit_logits": self.exit_logits.float().numpy(), "certainties": self.certainties.float().numpy()}
        if self.labels is not None:
            arrays["labels"] = self.labels.numpy()
        content = io.BytesIO()
        np.savez_compressed(content, **arrays)
        write_bytes_atomic(path, content.getvalue())  # whole or not at all

    @classmethod
    def load(cls, path: str | Path, config=None) -> ExitRecord:
        """A record `save` wrote; anything else (a truncated or foreign file, or with `config` a record of a model
        with other layers or labels) is refused naming the file."""
        try:
            with np.load(path, allow_pickle=False) as arrays:
                labels = torch.from_numpy(arrays["labels"]) if "labels" in arrays else None
                logits, certainties = arrays["exit_logits"], arrays["certainties"]
        except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as error:
            raise ValueError(f"{path}: not a complete berxit record ({error}); run berxit-sweep again.") from None
        if (
            logits.ndim != 3
            or certainties.shape != logits.shape[:2]
            or (labels is not None and len(labels) != len(logits))
        ):
            raise ValueError(f"{path}: its arrays disagree in shape (not a berxit record); run berxit-sweep again.")
        for name, values in (("exit logits", logits), ("certainties", certainties)):
            if not np.isfinite(values).all():  # a replay would choose thresholds on NaN and say nothing
                raise ValueError(f"{path}: its {name} are not all finite numbers; run berxit-sweep again.")
        if config is not None and logits.shape[1:] != (config.num_hidden_layers, config.num_labels):
            raise ValueError(
                f"{path}: it records {logits.shape[1]} layers of {logits.shape[2]} outputs, the model has "
                f"{config.num_hidden_layers} of {config.num_labels}; run berxit-sweep again."
            )
        return cls(torch.from_numpy(logits).float(), torch.from_numpy(certainties).float(), labels)


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
    """Runs every layer on a tokenized dataset (with `labels`, or without for unlabelled texts) and keeps each
    exit's logits and certainty.

    Shows a progress bar (`description`), which `transformers.utils.logging.disable_progress_bar()` turns off.
    """
    batches = padded_batches(dataset, tokenizer, batch_size)
    fields = ("exit_logits", "certainties") + (("labels",) if "labels" in dataset.column_names else ())
    outputs = collect_outputs(model, batches, fields, description, early_exit=False)  # whatever the config serves
    return ExitRecord(**{"labels": None, **outputs})


@torch.no_grad()
def record_certainty_features(model, batches: Iterable[dict]) -> tuple[torch.Tensor, ExitRecord]:
    """What the certainty head reads at every exit of every example of `batches` (with `labels`), `(examples,
    layers, features)` (its `features`), caught on its way in, so a head fitted afresh reads exactly what the trained
    one did; and the record of the same pass."""
    head = model.base_model.certainty_head
    caught = []  # (batch, features) per layer, batch after batch
    hook = head.register_forward_pre_hook(lambda module, inputs: caught.append(module.features(*inputs).float()))
    try:
        outputs = collect_outputs(model, batches, ("exit_logits", "certainties", "labels"), early_exit=False)
    finally:
        hook.remove()
    layers = model.config.num_hidden_layers
    features = [torch.stack(caught[start : start + layers], dim=1) for start in range(0, len(caught), layers)]
    return torch.cat(features), ExitRecord(**outputs)  # (examples, layers, features)


def record_served_exits(
    served, dataset, tokenizer, batch_size: int = 64, description: str = "Recording exits"
) -> ExitRecord:
    """`record_exits` for an export served on ONNX Runtime (`OnnxBerxitModel`, e.g. its int8 graphs): every layer
    of its graphs on each padded batch."""
    names = ("input_ids", "attention_mask", "token_type_ids")
    logits, certainties, labels = [], [], []
    for batch in tqdm(padded_batches(dataset, tokenizer, batch_size), desc=description, unit="batch"):
        if "labels" in batch:
            labels.append(batch["labels"])
        out = served.every_exit(*(batch[name].numpy() if name in batch else None for name in names))
        logits.append(torch.from_numpy(out["exit_logits"]).float())  # (batch, layers, labels)
        certainties.append(torch.from_numpy(out["certainties"]).float())  # (batch, layers)
    return ExitRecord(torch.cat(logits), torch.cat(certainties), torch.cat(labels) if labels else None)
