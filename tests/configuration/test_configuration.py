import json

import pytest
from tiny_models import tiny_backbone, tiny_config
from transformers import AutoConfig, BertConfig

from berxit import BerxitConfig


def test_round_trip_keeps_backbone_and_exit_settings(tmp_path, model_type):
    config = tiny_config(model_type, num_labels=2, exit_threshold=[0.1, 0.5, 0.9], exit_rule="entropy", patience=3)
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, BerxitConfig)
    assert loaded.backbone_config.model_type == model_type
    assert loaded.num_hidden_layers == 4
    assert (loaded.exit_rule, loaded.exit_threshold, loaded.patience) == ("entropy", [0.1, 0.5, 0.9], 3)
    assert {**loaded.to_dict(), "_name_or_path": ""} == config.to_dict()


def test_problem_type_follows_num_labels():
    assert tiny_config(num_labels=1).is_regression
    assert not tiny_config(num_labels=2).is_regression
    assert BerxitConfig().backbone_config.model_type == "bert"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(exit_threshold=1.5), ValueError, "exit_threshold"),
        (dict(exit_threshold=-0.1), ValueError, "exit_threshold"),
        (dict(exit_threshold=[0.5, 0.5]), ValueError, "num_hidden_layers - 1 = 3"),
        (dict(exit_threshold=["high", 0.5, 0.5]), TypeError, "exit_threshold"),
        (dict(exit_rule="confidence"), ValueError, "exit_rule"),
        (dict(exit_rule="patience", exit_threshold=0.5), ValueError, "patience rule takes no threshold"),
        (dict(patience=0), ValueError, "patience"),
        (dict(patience=1.5), TypeError, "patience"),
        (dict(problem_type="multi_label_classification"), ValueError, "problem_type"),
        (dict(problem_type="regression"), ValueError, "num_labels"),
    ],
)
def test_bad_settings_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        tiny_config(**kwargs)


def test_unsupported_backbone_is_named():
    with pytest.raises(ValueError, match="backbone_config.*'gpt2'"):
        BerxitConfig(backbone_config={"model_type": "gpt2"})


def test_plain_backbone_checkpoint_points_to_from_pretrained_backbone(tmp_path):
    BertConfig(**{k: v for k, v in tiny_backbone().items() if k != "model_type"}).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="from_pretrained_backbone"):
        BerxitConfig.from_pretrained(tmp_path)


def test_a_config_saved_before_the_head_could_read_the_answer_keeps_the_papers_head(tmp_path):
    assert tiny_config().certainty_inputs == "pooled_and_answer"  # a new model's head reads its exit's answer
    tiny_config().save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["certainty_inputs"] == "pooled_and_answer"  # saved even at the default, so it never drifts
    del saved["certainty_inputs"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert AutoConfig.from_pretrained(tmp_path).certainty_inputs == "pooled"
