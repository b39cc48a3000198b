"""ALBERT: a few layer groups applied again and again, so an exit after every *applied* layer."""

from __future__ import annotations

from .adapter import BackboneAdapter


class AlbertAdapter(BackboneAdapter):
    """ALBERT embeds at `embedding_size` and maps to `hidden_size` inside its encoder; then its
    `num_hidden_groups` layer groups are applied `num_hidden_layers` times in order (one group for the released
    models, so every step shares it). Step `i` is one layer to berxit: a 12-step ALBERT has 12 exits."""

    pretrained_poolers = ({"dense": "pooler"},)

    def exit_dropout(self, config) -> float:
        return config.classifier_dropout_prob

    def embed(self, backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask):
        hidden_states = super().embed(backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask)
        return backbone.encoder.embedding_hidden_mapping_in(hidden_states)  # (batch, length, hidden)

    def run_layer(self, backbone, index, hidden_states, context, **kwargs):
        config = backbone.config
        group = int(index / (config.num_hidden_layers / config.num_hidden_groups))  # as AlbertTransformer picks it
        return backbone.encoder.albert_layer_groups[group](hidden_states, context, **kwargs)  # (batch, length, hidden)
