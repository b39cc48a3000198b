"""What the benchmark times: the models (a checkpoint, or a random base-sized one of any backbone family), the
family's own `...ForSequenceClassification` twin with the same weights, and inputs packed to an exact length."""

from __future__ import annotations

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, PreTrainedModel

from ...backbones.adapter import pooler_keys
from ...backbones.registry import backbone_adapter
from ...configuration_berxit import BerxitConfig
from ...data import packaged_backbone_dir
from ...modeling_berxit import BerxitForSequenceClassification

# BERT-base's size in every family's own names (DistilBERT's differ); ModernBERT keeps its own GLU width.
BASE_SIZE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}
BASE_SIZE_BY_FAMILY = {
    "distilbert": {"dim": 768, "n_layers": 12, "n_heads": 12, "hidden_dim": 3072},
    "modernbert": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12},
    # DeBERTa-v3-base's attention: relative positions only, in 256 buckets.
    "deberta-v2": {
        **BASE_SIZE,
        "relative_attention": True,
        "position_buckets": 256,
        "pos_att_type": ["p2c", "c2p"],
        "position_biased_input": False,
        "norm_rel_ebd": "layer_norm",
        "share_att_key": True,
        "type_vocab_size": 0,
    },
}


def packed_inputs(tokenizer, texts: list[str], count: int, length: int) -> dict[str, torch.Tensor]:
    """`count` rows of exactly `length` tokens: [CLS] + consecutive reviews' tokens + [SEP]."""
    stream = [token for text in texts for token in tokenizer(text, add_special_tokens=False)["input_ids"]]
    body = length - 2
    if len(stream) < count * body:
        raise ValueError(f"examples: not enough review text for {count} rows of {length} tokens.")
    rows = [[tokenizer.cls_token_id, *stream[i * body : (i + 1) * body], tokenizer.sep_token_id] for i in range(count)]
    input_ids = torch.tensor(rows)
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}


def plain_twin(model) -> PreTrainedModel:
    """The backbone family's own `...ForSequenceClassification` with our backbone's and final exit's weights (it
    pools as the family does, [CLS] except for ModernBERT's `classifier_pooling`: with another `exit_pooling` it
    costs the same but answers differently)."""
    base = model.base_model
    backbone_config = base.config.backbone_config
    settings = {k: v for k, v in backbone_config.to_dict().items() if k not in ("id2label", "label2id")}
    config = AutoConfig.for_model(**settings, num_labels=base.config.num_labels)
    twin = AutoModelForSequenceClassification.from_config(config).eval()
    missing, unexpected = twin.base_model.load_state_dict(base.backbone.state_dict(), strict=False)
    assert not unexpected and all(key.startswith("pooler.") for key in missing)
    # The exit's pooler goes where the family keeps its pretrained one, the task head into its last linear layer.
    twin_state = twin.state_dict()
    pooler = base.exits[-1].pooler.state_dict()
    adapter = backbone_adapter(backbone_config.model_type)
    found = pooler_keys(adapter, list(pooler), twin.base_model_prefix, twin_state)
    assert found is not None, f"{type(twin).__name__} keeps no pooler where {type(adapter).__name__} looks for one"
    head = {key: pooler[name] for name, key in found.items()}
    last = "classifier.out_proj" if "classifier.out_proj.weight" in twin_state else "classifier"
    for parameter, value in base.exits[-1].classifier.state_dict().items():
        head[f"{last}.{parameter}"] = value
    twin.load_state_dict(head, strict=False)
    return twin


def load_models(args) -> dict[str, BerxitForSequenceClassification]:
    models = {}
    if "checkpoint" in args.model_list:
        if args.model_dir:
            model = BerxitForSequenceClassification.from_pretrained(args.model_dir)
        else:
            model = BerxitForSequenceClassification.from_pretrained_backbone(packaged_backbone_dir(), num_labels=2)
        models["checkpoint"] = model
    if "random" in args.model_list:
        torch.manual_seed(0)
        size = BASE_SIZE_BY_FAMILY.get(args.backbone, BASE_SIZE)
        # The packed inputs are MiniLM's token ids, so every family gets its vocabulary's size.
        backbone_config = AutoConfig.for_model(args.backbone, vocab_size=30522, **size)
        model = BerxitForSequenceClassification(BerxitConfig(backbone_config=backbone_config.to_dict(), num_labels=2))
        with torch.no_grad():  # spread the random certainties so that thresholds can place exits
            model.base_model.certainty_head.classifier.weight.mul_(10.0)
        models[f"{args.backbone}-base"] = model
    for model in models.values():
        model.eval()
    return models
