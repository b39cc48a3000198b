"""RoBERTa and XLM-RoBERTa: BERT's layers, with positions that start after the padding index."""

from __future__ import annotations

from .adapter import BackboneAdapter


class RobertaAdapter(BackboneAdapter):
    """RoBERTa and XLM-RoBERTa (the same modules with a multilingual vocabulary): position ids count from
    `pad_token_id + 1`, so the position table holds that many fewer tokens. The exits copy the pretrained pooler,
    or, from a fine-tuned `...ForSequenceClassification` checkpoint (which has none), its head's dense layer."""

    pretrained_poolers = ({"dense": "pooler.dense"}, {"dense": "classifier.dense"})

    def first_position(self, config) -> int:
        return config.pad_token_id + 1
