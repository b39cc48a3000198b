"""DeBERTa-v2 and -v3: disentangled attention over relative positions, with a convolution after layer 0."""

from __future__ import annotations

from .adapter import BackboneAdapter, ExitPooler, active_recording, record


class DebertaV2Adapter(BackboneAdapter):
    """DeBERTa's layers take the 0/1 mask expanded to pairs, the relative positions of the (trimmed) length and
    the shared relative embeddings; `encoder.conv`, where configured, mixes layer 0's input into its output.
    Absolute positions are added only with `position_biased_input` (v2; not v3, whose inputs may be as long as
    memory allows). It has no pooler: the exits copy the `ContextPooler` of `DebertaV2ForSequenceClassification`.
    DeBERTa's layers carry no output recorders, so the adapter records what `output_hidden_states` and
    `output_attentions` ask for itself, as `DebertaV2Encoder` collects them (layer 0's state after the convolution).
    """

    backbone_kwargs = {}

    def exit_dropout(self, config) -> float:
        dropout = getattr(config, "cls_dropout", None)
        return dropout if dropout is not None else config.hidden_dropout_prob

    def build_pooler(self, config):
        return ExitPooler(config.hidden_size, config.pooler_hidden_act)

    def max_sequence_length(self, config) -> int | None:
        return config.max_position_embeddings if config.position_biased_input else None

    def embed(self, backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask):
        return backbone.embeddings(
            input_ids=input_ids,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            mask=attention_mask,
            inputs_embeds=inputs_embeds,
        )  # (batch, length, hidden)

    def layer_context(self, backbone, hidden_states, attention_mask, position_ids):
        encoder = backbone.encoder
        return {
            "pair_mask": encoder.get_attention_mask(attention_mask),  # (batch, 1, length, length)
            "attention_mask": attention_mask,  # (batch, length)
            "relative_pos": encoder.get_rel_pos(hidden_states),  # (1, length, length), or None
            "rel_embeddings": encoder.get_rel_embedding(),  # (positions, hidden), or None
        }

    def run_layer(self, backbone, index, hidden_states, context, **kwargs):
        encoder = backbone.encoder
        recording = active_recording()
        output, attention = encoder.layer[index](
            hidden_states,
            context["pair_mask"],
            relative_pos=context["relative_pos"],
            rel_embeddings=context["rel_embeddings"],
            output_attentions="attentions" in recording,
        )  # (batch, length, hidden), (batch, heads, length, length) or None
        if index == 0 and encoder.conv is not None:
            output = encoder.conv(hidden_states, output, context["attention_mask"])
        if index == 0:
            record(recording, "hidden_states", hidden_states)  # the embeddings come first
        record(recording, "hidden_states", output)
        record(recording, "attentions", attention)
        return output
