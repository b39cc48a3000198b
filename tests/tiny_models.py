"""Tiny random BERT and RoBERTa models and padded batches for the unit tests."""

from __future__ import annotations

import torch

from berxit import BerxitConfig, BerxitModel

VOCAB_SIZE = 99
MAX_POSITIONS = 64


def tiny_backbone(model_type: str = "bert", num_layers: int = 4) -> dict:
    backbone = dict(
        model_type=model_type,
        vocab_size=VOCAB_SIZE,
        hidden_size=32,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=MAX_POSITIONS,
    )
    if model_type == "roberta":
        # RoBERTa's positions start after its padding index (1), as in the real checkpoints.
        backbone.update(pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1)
        backbone["max_position_embeddings"] = MAX_POSITIONS + 2
    return backbone


def tiny_config(model_type: str = "bert", num_labels: int = 3, **kwargs) -> BerxitConfig:
    return BerxitConfig(backbone_config=tiny_backbone(model_type), num_labels=num_labels, **kwargs)


def tiny_model(model_type: str = "bert", num_labels: int = 3, cls=BerxitModel, seed: int = 0, **kwargs):
    """A random tiny model in eval mode, with certainties and logits spread out so that rules have work to do."""
    torch.manual_seed(seed)
    model = cls(tiny_config(model_type, num_labels, **kwargs))
    base = model.base_model
    with torch.no_grad():
        base.certainty_head.classifier.weight.mul_(20.0)
        for exit_ in base.exits:
            exit_.classifier.weight.mul_(100.0)
    return model.eval()


def pad_id(model) -> int:
    return model.config.backbone_config.pad_token_id


def padded_batch(model, lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded random token ids (never the pad id) and their attention mask."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    input_ids = torch.randint(3, VOCAB_SIZE, (len(lengths), width), generator=generator)
    attention_mask = torch.zeros_like(input_ids)
    for row, length in enumerate(lengths):
        attention_mask[row, :length] = 1
        input_ids[row, length:] = pad_id(model)
    return input_ids, attention_mask
