"""The BERT-family backbones berxit can drive layer by layer, and what differs between them."""

from __future__ import annotations

from torch import nn
from transformers import AutoModel, PreTrainedConfig, PreTrainedModel
from transformers.models.bert.modeling_bert import BertPooler
from transformers.models.roberta.modeling_roberta import RobertaPooler

# The pooler class of each backbone: every exit gets its own copy, initialised from the pretrained one.
POOLERS = {"bert": BertPooler, "roberta": RobertaPooler}


def build_backbone(backbone_config: PreTrainedConfig) -> PreTrainedModel:
    """The backbone without its pooler: each exit has its own."""
    return AutoModel.from_config(backbone_config, add_pooling_layer=False)


def build_pooler(backbone_config: PreTrainedConfig) -> nn.Module:
    return POOLERS[backbone_config.model_type](backbone_config)


def max_sequence_length(backbone_config: PreTrainedConfig) -> int:
    """Longest input the position table can embed (RoBERTa's positions start after its padding index)."""
    if backbone_config.model_type == "roberta":
        return backbone_config.max_position_embeddings - backbone_config.pad_token_id - 1
    return backbone_config.max_position_embeddings
