"""What the benchmark times: the models (a checkpoint, or a random BERT-base-sized one), transformers' plain
BertForSequenceClassification twin with the same weights, and inputs packed to an exact length."""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForSequenceClassification

from ..configuration_berxit import BerxitConfig
from ..data import packaged_backbone_dir
from ..modeling_berxit import BerxitForSequenceClassification


def packed_inputs(tokenizer, texts: list[str], count: int, length: int) -> dict[str, torch.Tensor]:
    """`count` rows of exactly `length` tokens: [CLS] + consecutive reviews' tokens + [SEP]."""
    stream = [token for text in texts for token in tokenizer(text, add_special_tokens=False)["input_ids"]]
    body = length - 2
    if len(stream) < count * body:
        raise ValueError(f"examples: not enough review text for {count} rows of {length} tokens.")
    rows = [[tokenizer.cls_token_id, *stream[i * body : (i + 1) * body], tokenizer.sep_token_id] for i in range(count)]
    input_ids = torch.tensor(rows)
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}


def plain_twin(model) -> BertForSequenceClassification:
    """transformers' own BertForSequenceClassification with our backbone and final exit's weights (it pools [CLS]:
    with `exit_pooling="mean"` it costs the same but answers differently)."""
    base = model.base_model
    if base.config.backbone_config.model_type != "bert":
        raise ValueError("model_dir: the plain-forward comparison is built for BERT backbones.")
    config = BertConfig(**base.config.backbone_config.to_dict(), num_labels=base.config.num_labels)
    twin = BertForSequenceClassification(config).eval()
    missing, unexpected = twin.bert.load_state_dict(base.backbone.state_dict(), strict=False)
    assert not unexpected and all(key.startswith("pooler.") for key in missing)
    twin.bert.pooler.load_state_dict(base.exits[-1].pooler.state_dict())
    twin.classifier.load_state_dict(base.exits[-1].classifier.state_dict())
    return twin


def load_models(args) -> dict[str, BerxitForSequenceClassification]:
    models = {}
    if "checkpoint" in args.model_list:
        if args.model_dir:
            model = BerxitForSequenceClassification.from_pretrained(args.model_dir)
        else:
            model = BerxitForSequenceClassification.from_pretrained_backbone(packaged_backbone_dir(), num_labels=2)
        models["checkpoint"] = model
    if "bert-base" in args.model_list:
        torch.manual_seed(0)
        model = BerxitForSequenceClassification(BerxitConfig(backbone_config=BertConfig().to_dict(), num_labels=2))
        with torch.no_grad():  # spread the random certainties so that thresholds can place exits
            model.base_model.certainty_head.classifier.weight.mul_(10.0)
        models["bert-base"] = model
    for model in models.values():
        model.eval().config.exit_threshold = None  # forward must run every layer when recording
    return models
