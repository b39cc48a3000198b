"""The BERT-family backbones berxit can drive layer by layer, and what differs between them."""

from __future__ import annotations

import json
import os

import torch
from torch import nn
from transformers import AutoModel, PreTrainedConfig, PreTrainedModel
from transformers.models.bert.modeling_bert import BertPooler
from transformers.models.roberta.modeling_roberta import RobertaPooler
from transformers.utils import cached_file

# The pooler class of each backbone: every exit gets its own copy, initialised from the pretrained one.
POOLERS = {"bert": BertPooler, "roberta": RobertaPooler}


def build_backbone(backbone_config: PreTrainedConfig) -> PreTrainedModel:
    """The backbone without its pooler: each exit has its own."""
    return AutoModel.from_config(backbone_config, add_pooling_layer=False)


def build_pooler(backbone_config: PreTrainedConfig) -> nn.Module:
    return POOLERS[backbone_config.model_type](backbone_config)


def declared_exit_pooling(pretrained_model_name_or_path: str | os.PathLike, **hub_kwargs) -> str:
    """The exit pooling a checkpoint's own sentence embeddings use: "mean" for a sentence-transformers checkpoint
    whose Pooling module (`modules.json` -> `1_Pooling/config.json`) averages the tokens, else "cls"."""
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


def left_padded_position_ids(backbone_config: PreTrainedConfig, attention_mask: torch.Tensor) -> torch.Tensor | None:
    """Positions counted from each example's first real token when some row is left-padded, so that the batch
    answers as each example alone; None otherwise (the embeddings' own positions are right then)."""
    if bool(attention_mask[:, 0].all()):
        return None
    positions = attention_mask.cumsum(-1) * attention_mask  # (batch, length): 1, 2, ... on real tokens, 0 on padding
    if backbone_config.model_type == "roberta":  # RoBERTa's positions start after its padding index
        return positions + backbone_config.pad_token_id
    return (positions - 1).clamp(min=0)


def max_sequence_length(backbone_config: PreTrainedConfig) -> int:
    """Longest input the position table can embed (RoBERTa's positions start after its padding index)."""
    if backbone_config.model_type == "roberta":
        return backbone_config.max_position_embeddings - backbone_config.pad_token_id - 1
    return backbone_config.max_position_embeddings
