"""ELECTRA: BERT's layers after an embedding projection, and a classification head instead of a pooler."""

from __future__ import annotations

from .adapter import BackboneAdapter


class ElectraAdapter(BackboneAdapter):
    """ELECTRA embeds at `embedding_size` and projects to `hidden_size` (`embeddings_project`) when they differ.
    It has no pooler: the exits copy the dense + GELU half of `ElectraClassificationHead`."""

    backbone_kwargs = {}
    pretrained_poolers = ({"dense": "classifier.dense"},)
    pooler_activation = "gelu"

    def embed(self, backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask):
        hidden_states = super().embed(backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask)
        if hasattr(backbone, "embeddings_project"):
            hidden_states = backbone.embeddings_project(hidden_states)  # (batch, length, hidden)
        return hidden_states
