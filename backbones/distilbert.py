"""DistilBERT: BERT's layers under other names, no token types, and a ReLU head instead of a pooler."""

from __future__ import annotations

from .adapter import BackboneAdapter


class DistilBertAdapter(BackboneAdapter):
    """DistilBERT keeps its layers in `transformer.layer` and embeds without token types (its tokenizer makes
    none; any given are ignored, as they carry nothing for it). It has no pooler: the exits copy the
    `pre_classifier` + ReLU of `DistilBertForSequenceClassification`."""

    backbone_kwargs = {}
    pretrained_poolers = ({"dense": "pre_classifier"},)
    pooler_activation = "relu"

    def exit_dropout(self, config) -> float:
        return config.seq_classif_dropout

    def type_vocab_size(self, config) -> int:
        return 0

    def embed(self, backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask):
        return backbone.embeddings(input_ids, inputs_embeds, position_ids)  # (batch, length, hidden)

    def layers(self, backbone):
        return backbone.transformer.layer
