"""ModernBERT: pre-norm layers with rotary positions, alternating global and sliding-window attention."""

from __future__ import annotations

import torch
from transformers.masking_utils import create_bidirectional_mask, create_bidirectional_sliding_window_mask
from transformers.models.modernbert.modeling_modernbert import ModernBertPredictionHead

from .adapter import BackboneAdapter


class ModernBertAdapter(BackboneAdapter):
    """ModernBERT embeds tokens only (positions are rotary, applied in each layer; it has no token types), keeps
    its layers in `layers`, each either full or sliding-window attention with its own mask and rotary table, and
    normalises the last layer's output (`final_norm`): every exit reads its layer through that norm, as the
    model's own head reads the last one. The exits' poolers are its `ModernBertPredictionHead` (dense, activation,
    norm), copied from a `ModernBertForSequenceClassification` checkpoint's `head`."""

    backbone_kwargs = {}
    pretrained_poolers = ({"dense": "head.dense", "norm": "head.norm"},)

    def build_pooler(self, config):
        return ModernBertPredictionHead(config)

    def exit_dropout(self, config) -> float:
        return config.classifier_dropout

    def type_vocab_size(self, config) -> int:
        return 0

    def embed(self, backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask):
        return backbone.embeddings(input_ids=input_ids, inputs_embeds=inputs_embeds)  # (batch, length, hidden)

    def layer_context(self, backbone, hidden_states, attention_mask, position_ids):
        if position_ids is None:
            position_ids = torch.arange(hidden_states.shape[1], device=hidden_states.device)[None]  # (1, length)
        mask_kwargs = {"config": backbone.config, "inputs_embeds": hidden_states, "attention_mask": attention_mask}
        masks = {
            "full_attention": create_bidirectional_mask(**mask_kwargs),
            "sliding_attention": create_bidirectional_sliding_window_mask(**mask_kwargs),
        }
        rotary = {
            layer_type: backbone.rotary_emb(hidden_states, position_ids, layer_type)
            for layer_type in set(backbone.config.layer_types)
        }
        return masks, rotary

    def run_layer(self, backbone, index, hidden_states, context, **kwargs):
        masks, rotary = context
        layer = backbone.layers[index]
        return layer(
            hidden_states,
            attention_mask=masks[layer.attention_type],
            position_embeddings=rotary[layer.attention_type],
            **kwargs,
        )  # (batch, length, hidden)

    def exit_states(self, backbone, hidden_states):
        return backbone.final_norm(hidden_states)  # (batch, length, hidden)
