"""transformers' own common tests, `ModelTesterMixin` on `BerxitModel` and `BerxitForSequenceClassification` and
`ConfigTester` on `BerxitConfig`, with a tiny config of every backbone family, as transformers tests BERT
(`tests/models/bert/test_modeling_bert.py`). A skip says why the test cannot apply, or that the family's plain model
fails it too."""

import unittest

import pytest
import torch
from tiny_models import FAMILIES, tiny_backbone
from transformers_common import common_tests

from berxit import BerxitConfig, BerxitForSequenceClassification, BerxitModel

common = common_tests("test_modeling_common")
ConfigTester = common_tests("test_configuration_common").ConfigTester

# (family, test name prefix) -> why it is skipped. Prefixes cover a test's variants (use_reentrant_true, ...).
SKIPS = {
    ("albert", "test_training_gradient_checkpointing"): "plain ALBERT's layers cannot checkpoint activations either",
    ("albert", "test_gradient_checkpointing"): "plain ALBERT's layers cannot checkpoint activations either",
    ("albert", "test_enable_input_require_grads_with_gradient_checkpointing"): "ALBERT's layers cannot checkpoint",
    ("albert", "test_peft_gradient_checkpointing"): "plain ALBERT's layers cannot checkpoint activations either",
    ("deberta-v2", "test_training_gradient_checkpointing_use_reentrant_true"): (
        "plain DebertaV2ForSequenceClassification fails it the same way: its layers share the relative embeddings, "
        "whose graph reentrant checkpointing frees after the first backward"
    ),
}


class BerxitModelTester:
    """Builds the tiny configs and inputs the mixin asks for (batch of 2, 7 tokens, 2 layers)."""

    def __init__(self, parent, family: str, batch_size: int = 2, seq_length: int = 7, num_labels: int = 3):
        self.parent, self.family = parent, family
        self.batch_size, self.seq_length, self.num_labels, self.is_training = batch_size, seq_length, num_labels, True
        self.backbone = tiny_backbone(family, num_layers=2)
        config = self.get_config().backbone_config
        self.num_hidden_layers, self.hidden_size = config.num_hidden_layers, config.hidden_size
        self.num_attention_heads, self.vocab_size = config.num_attention_heads, config.vocab_size

    def get_config(self) -> BerxitConfig:
        return BerxitConfig(backbone_config=dict(self.backbone), num_labels=self.num_labels)

    def prepare_config_and_inputs_for_common(self) -> tuple[BerxitConfig, dict]:
        input_ids = common.ids_tensor([self.batch_size, self.seq_length], self.vocab_size - 3) + 3  # no special ids
        attention_mask = common.random_attention_mask([self.batch_size, self.seq_length])
        return self.get_config(), {"input_ids": input_ids, "attention_mask": attention_mask}


class BerxitModelTestBase(common.ModelTesterMixin):
    all_model_classes = (BerxitModel, BerxitForSequenceClassification)
    family = "bert"

    def setUp(self):
        self.model_tester = BerxitModelTester(self, self.family)
        for (family, prefix), reason in SKIPS.items():
            if family == self.family and self._testMethodName.startswith(prefix):
                pytest.skip(reason)

    def test_config(self):
        settings = dict(exit_rule="entropy", exit_threshold=0.5, exit_pooling="mean")
        ConfigTester(self, config_class=BerxitConfig, has_text_modality=False, **settings).run_common_tests()

    def _prepare_for_class(self, inputs_dict, model_class, return_labels=False):
        inputs_dict = super()._prepare_for_class(inputs_dict, model_class, return_labels=return_labels)
        if return_labels:  # both classes train on class labels (the mixin knows only transformers' own heads)
            inputs_dict["labels"] = torch.zeros(self.model_tester.batch_size, dtype=torch.long)
        return inputs_dict


for _family in FAMILIES:
    _name = f"Berxit{_family.replace('-', '').title()}ModelTest"
    globals()[_name] = type(_name, (BerxitModelTestBase, unittest.TestCase), {"family": _family})
