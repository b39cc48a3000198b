"""Tiny random models of every backbone family, and padded batches, for the unit tests."""

from __future__ import annotations

import torch

from berxit import BerxitConfig, BerxitModel
from berxit.exit_rules.rules import entropy_confidence

VOCAB_SIZE = 99
MAX_POSITIONS = 64


# Every backbone family berxit drives; the unit tests of each family run on its tiny random config below.
FAMILIES = ("bert", "roberta", "xlm-roberta", "distilbert", "albert", "electra", "deberta-v2", "modernbert")


def tiny_backbone(model_type: str = "bert", num_layers: int = 4) -> dict:
    """A tiny random config of `model_type`, exercising what sets the family apart: RoBERTa's position offset,
    ALBERT's shared layer groups and embedding projection, ELECTRA's projection, DeBERTa-v3's relative-only
    positions and convolution, ModernBERT's sliding-window layers."""
    size = dict(vocab_size=VOCAB_SIZE, max_position_embeddings=MAX_POSITIONS, pad_token_id=0)
    if model_type == "distilbert":
        return dict(
            model_type=model_type,
            dim=32,
            n_layers=num_layers,
            n_heads=4,
            hidden_dim=37,
            dropout=0.0,
            attention_dropout=0.0,
            **size,
        )
    if model_type == "modernbert":
        return dict(
            model_type=model_type,
            hidden_size=32,
            num_hidden_layers=num_layers,
            num_attention_heads=4,
            intermediate_size=37,
            global_attn_every_n_layers=2,
            local_attention=4,
            bos_token_id=1,
            eos_token_id=2,
            cls_token_id=1,
            sep_token_id=2,
            **size,
        )
    backbone = dict(
        model_type=model_type,
        hidden_size=32,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        **size,
    )
    if model_type in ("roberta", "xlm-roberta"):
        # RoBERTa's positions start after its padding index (1), as in the real checkpoints.
        backbone.update(pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1)
        backbone["max_position_embeddings"] = MAX_POSITIONS + 2
    elif model_type == "albert":
        backbone.update(embedding_size=16, num_hidden_groups=2, classifier_dropout_prob=0.0)
    elif model_type == "electra":
        backbone.update(embedding_size=16)
    elif model_type == "deberta-v2":
        backbone.update(
            relative_attention=True,
            position_buckets=8,
            max_relative_positions=-1,
            pos_att_type=["p2c", "c2p"],
            position_biased_input=False,
            type_vocab_size=0,
            conv_kernel_size=3,
            norm_rel_ebd="layer_norm",
            share_att_key=True,
        )
    return backbone


def tiny_config(model_type: str = "bert", num_labels: int = 3, **kwargs) -> BerxitConfig:
    return BerxitConfig(backbone_config=tiny_backbone(model_type), num_labels=num_labels, **kwargs)


def tiny_model(model_type: str = "bert", num_labels: int = 3, cls=BerxitModel, seed: int = 0, **kwargs):
    """A random tiny model in eval mode, with certainties and logits spread out so that rules have work to do."""
    torch.manual_seed(seed)
    model = cls(tiny_config(model_type, num_labels, **kwargs))
    base = model.base_model
    with torch.no_grad():
        hidden = model.config.backbone_config.hidden_size
        base.certainty_head.classifier.weight[:, :hidden].mul_(20.0)  # the pooled part: the answer's stays as built
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


def splitting_rule(model, input_ids, attention_mask, rule: str) -> dict:
    """Rule arguments under which examples leave at different layers: per-layer median thresholds."""
    if rule == "patience":
        return dict(rule=rule, patience=1)
    full = model(input_ids, attention_mask=attention_mask)
    scores = full.certainties if rule == "certainty" else entropy_confidence(full.exit_logits)
    return dict(rule=rule, threshold=scores[:, :-1].median(0).values.add(1e-4).tolist())
