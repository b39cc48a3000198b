"""The encoder families berxit drives one layer at a time, and the part every family shares.

A family's adapter (`backbone_<family>.py`) says only what differs from BERT: how to embed, how to run layer `i`
on a batch, which pretrained head the exits' poolers copy, and the longest input. Adding a family is its file and
one line in `ADAPTERS`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch
from safetensors import safe_open
from torch import nn
from transformers import AutoModel, PreTrainedConfig, PreTrainedModel
from transformers.activations import ACT2FN
from transformers.masking_utils import create_bidirectional_mask
from transformers.utils import cached_file
from transformers.utils.output_capturing import _active_collector


class ExitPooler(nn.Module):
    """Dense + activation over an exit's pooled vector: BERT's pooler, and the first half of the classification
    head of families without one. Its parameter names (`dense.*`) are BERT's pooler's."""

    def __init__(self, hidden_size: int, activation: str):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.activation = ACT2FN[activation]

    def forward(self, summary: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(summary))  # (batch, hidden)


class BackboneAdapter:
    """How berxit runs a BERT-like backbone layer by layer; each method takes the backbone module it drives.

    The defaults are BERT's: learned absolute positions from 0, `backbone.embeddings` and
    `backbone.encoder.layer`, the backbone's own 4-d mask, a dense + tanh pooler stored at `pooler.dense`."""

    # Keyword arguments that build the backbone without a pooler of its own (each exit has one).
    backbone_kwargs: dict[str, Any] = {"add_pooling_layer": False}
    # Where the family's pretrained pooler (or its classification head's dense layer) lives in its checkpoints, by
    # the exit pooler's sub-module names: the first place the checkpoint fills wins. Looked for with and without
    # the base model's prefix.
    pretrained_poolers: tuple[dict[str, str], ...] = ({"dense": "pooler.dense"},)
    pooler_activation = "tanh"

    def build_backbone(self, config: PreTrainedConfig) -> PreTrainedModel:
        return AutoModel.from_config(config, **self.backbone_kwargs)

    def build_pooler(self, config: PreTrainedConfig) -> nn.Module:
        return ExitPooler(config.hidden_size, self.pooler_activation)

    def exit_dropout(self, config: PreTrainedConfig) -> float:
        dropout = getattr(config, "classifier_dropout", None)
        return dropout if dropout is not None else config.hidden_dropout_prob

    def first_position(self, config: PreTrainedConfig) -> int:
        """The position id of each sequence's first token."""
        return 0

    def max_sequence_length(self, config: PreTrainedConfig) -> int | None:
        """Longest input the position table can embed; None where positions are only relative."""
        return config.max_position_embeddings - self.first_position(config)

    def embedding_size(self, config: PreTrainedConfig) -> int:
        """Width of the token embeddings, what `inputs_embeds` holds: ALBERT and ELECTRA embed narrower than their
        layers and project up."""
        return getattr(config, "embedding_size", None) or config.hidden_size

    def type_vocab_size(self, config: PreTrainedConfig) -> int:
        """Size of the token type table; 0 where the family has none (its token type ids are ignored)."""
        return getattr(config, "type_vocab_size", 0) or 0

    def layers(self, backbone: PreTrainedModel) -> nn.ModuleList:
        return backbone.encoder.layer

    def embed(self, backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask) -> torch.Tensor:
        """The input of layer 0, `(batch, length, hidden)`."""
        return backbone.embeddings(
            input_ids=input_ids, token_type_ids=token_type_ids, position_ids=position_ids, inputs_embeds=inputs_embeds
        )

    def layer_context(self, backbone, hidden_states, attention_mask, position_ids) -> Any:
        """What every layer needs beside the hidden states, rebuilt whenever rows leave the batch: here the
        backbone's own 4-d mask for its attention implementation (None when nothing is padded)."""
        return create_bidirectional_mask(
            config=backbone.config, inputs_embeds=hidden_states, attention_mask=attention_mask
        )

    def run_layer(self, backbone, index: int, hidden_states, context, **kwargs) -> torch.Tensor:
        return self.layers(backbone)[index](hidden_states, context, **kwargs)  # (batch, length, hidden)

    def exit_states(self, backbone, hidden_states: torch.Tensor) -> torch.Tensor:
        """What an exit reads of its layer's output (ModernBERT normalises it first, as its own head does)."""
        return hidden_states


def active_recording() -> dict[str, list]:
    """What transformers' output capturing collects in the current forward (`{"hidden_states": [...], ...}` for
    the `output_*` flags set in the call or the config; empty when none is): for the families whose layers carry no
    recorders of their own."""
    return _active_collector.get() or {}


def record(recording: dict[str, list], key: str, value: torch.Tensor) -> None:
    """Adds `value` to the `key` outputs being collected, as transformers' own recorders do (None for a hidden
    state that `output_hidden_states=[indices]` does not select)."""
    if key not in recording:
        return
    selected = recording.get("_hidden_states_layers") if key == "hidden_states" else None
    recording[key].append(value if selected is None or len(recording[key]) in selected else None)


def is_tracing() -> bool:
    """Whether the model is being traced (`torch.export`, `torch.compile`, `torch.jit.trace`): then the input checks
    that read tensor values back to the host are skipped, so that the graph has no data-dependent branch."""
    return torch.compiler.is_compiling() or torch.compiler.is_exporting() or torch.jit.is_tracing()


def left_padded_position_ids(
    adapter: BackboneAdapter, config: PreTrainedConfig, attention_mask: torch.Tensor
) -> torch.Tensor | None:
    """Positions counted from each example's first real token when some row is left-padded, so that the batch
    answers as each example alone; None otherwise (the embeddings' own positions are right then)."""
    if not is_tracing() and bool(attention_mask[:, 0].all()):
        return None  # (under tracing, no value is read back: the positions are always counted, as exact)
    positions = attention_mask.cumsum(-1) * attention_mask  # (batch, length): 1, 2, ... on real tokens, 0 on padding
    return (positions - 1).clamp(min=0) + adapter.first_position(config)  # (batch, length)


def pretrained_pooler_state(
    adapter: BackboneAdapter, backbone: PreTrainedModel, pretrained_model_name_or_path, **hub_kwargs
) -> dict[str, torch.Tensor] | None:
    """The exit pooler's weights as the checkpoint holds them (its pooler, or the dense layer of its own
    classification head), or None when the checkpoint has none, or only `.bin` weights (then they start new)."""
    found = {"_raise_exceptions_for_missing_entries": False, "_raise_exceptions_for_connection_errors": False}
    files = []
    single = cached_file(pretrained_model_name_or_path, "model.safetensors", **found, **hub_kwargs)
    if single is not None:
        files = [single]
    else:
        index = cached_file(pretrained_model_name_or_path, "model.safetensors.index.json", **found, **hub_kwargs)
        if index is not None:
            with open(index, encoding="utf-8") as f:
                shards = sorted(set(json.load(f)["weight_map"].values()))
            files = [cached_file(pretrained_model_name_or_path, shard, **hub_kwargs) for shard in shards]
    keys = {}  # checkpoint key -> file
    for path in files:
        with safe_open(path, framework="pt") as f:
            keys.update(dict.fromkeys(f.keys(), path))
    names = list(adapter.build_pooler(backbone.config).state_dict())  # e.g. dense.weight, dense.bias
    found = pooler_keys(adapter, names, backbone.base_model_prefix, keys)
    if found is None:
        return None
    state = {}
    for name, key in found.items():
        with safe_open(keys[key], framework="pt") as f:
            state[name] = f.get_tensor(key)
    return state


def pooler_keys(adapter: BackboneAdapter, names: list[str], base_model_prefix: str, available) -> dict[str, str] | None:
    """Where each of the exit pooler's parameters `names` lies among the `available` state-dict keys of the
    family's own model: the first of `adapter.pretrained_poolers` that holds them all, with or without the base
    model's prefix; None if none does."""
    for place in adapter.pretrained_poolers:
        found = {}
        for name in names:
            module, _, parameter = name.partition(".")
            for prefix in ("", f"{base_model_prefix}."):
                if f"{prefix}{place[module]}.{parameter}" in available:
                    found[name] = f"{prefix}{place[module]}.{parameter}"
        if len(found) == len(names):
            return found
    return None


def declared_exit_pooling(
    config: PreTrainedConfig, pretrained_model_name_or_path: str | os.PathLike, **hub_kwargs
) -> str:
    """The exit pooling the checkpoint declares: its own classification pooling where the config has one
    (ModernBERT's `classifier_pooling`), else "mean" for a sentence-transformers checkpoint whose Pooling module
    (`modules.json` -> `1_Pooling/config.json`) averages the tokens, else "cls"."""
    if getattr(config, "classifier_pooling", None) in ("cls", "mean"):
        return config.classifier_pooling
    found = {"_raise_exceptions_for_missing_entries": False, "_raise_exceptions_for_connection_errors": False}
    modules_file = cached_file(pretrained_model_name_or_path, "modules.json", **found, **hub_kwargs)
    if modules_file is None:
        return "cls"
    with open(modules_file, encoding="utf-8") as f:
        modules = json.load(f)
    for module in modules:
        if module.get("type", "").endswith(".Pooling"):
            config_name = f"{module['path']}/config.json" if module.get("path") else "config.json"
            pooling_file = cached_file(pretrained_model_name_or_path, config_name, **found, **hub_kwargs)
            if pooling_file is not None:
                with open(pooling_file, encoding="utf-8") as f:
                    return "mean" if json.load(f).get("pooling_mode_mean_tokens") else "cls"
    return "cls"
