import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from tiny_models import padded_batch, tiny_model
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

from berxit import BerxitForSequenceClassification, BerxitModel
from berxit.modeling_berxit.remote_code import AUTO_MAP, MODELING_FILES, hub_modules, package_source


@pytest.mark.parametrize(
    ("saved_cls", "auto_cls", "loaded_cls"),
    [
        (BerxitForSequenceClassification, AutoModel, BerxitModel),
        (BerxitModel, AutoModelForSequenceClassification, BerxitForSequenceClassification),
        (BerxitForSequenceClassification, AutoModelForSequenceClassification, BerxitForSequenceClassification),
    ],
)
def test_round_trip_is_exact_with_no_missing_or_unexpected_keys(tmp_path, model_type, saved_cls, auto_cls, loaded_cls):
    model = tiny_model(model_type, cls=saved_cls, exit_threshold=0.5)
    model.save_pretrained(tmp_path)
    loaded, info = auto_cls.from_pretrained(tmp_path, output_loading_info=True)
    assert type(loaded) is loaded_cls
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    saved_state, loaded_state = model.base_model.state_dict(), loaded.base_model.state_dict()
    assert saved_state.keys() == loaded_state.keys()
    for key, value in saved_state.items():
        assert torch.equal(value, loaded_state[key]), key
    assert loaded.config.exit_threshold == 0.5
    input_ids, attention_mask = padded_batch(model, [6, 3])
    torch.testing.assert_close(
        loaded.early_exit_forward(input_ids, attention_mask=attention_mask).logits,
        model.early_exit_forward(input_ids, attention_mask=attention_mask).logits,
        rtol=0,
        atol=0,
    )


def test_saved_folder_holds_weights_config_and_flat_remote_code(tmp_path):
    tiny_model(cls=BerxitForSequenceClassification).save_pretrained(tmp_path)
    names = {path.name for path in tmp_path.iterdir()}
    assert {"model.safetensors", "config.json", "configuration_berxit.py", *MODELING_FILES} <= names
    assert json.loads((tmp_path / "config.json").read_text())["auto_map"] == AUTO_MAP
    for name in MODELING_FILES:
        assert "from .." not in (tmp_path / name).read_text(), f"{name} still imports from the package"


def test_remote_code_table_turns_every_flat_file_back_into_its_package_source(tmp_path):
    from pathlib import Path

    import berxit

    tiny_model().save_pretrained(tmp_path)
    root, modules = Path(berxit.__file__).parent, hub_modules()
    assert {"configuration_berxit", "modeling_berxit", "registry", "rules", "bert"} <= set(modules)
    for flat, module in modules.items():
        package, name = module.split(".")
        written = (tmp_path / f"{flat}.py").read_text()
        assert "from .." not in written, f"{flat}.py still imports from the package"
        assert package_source(written, package, modules) == (root / package / f"{name}.py").read_text()


FRESH_PROCESS = textwrap.dedent(
    """
    import sys
    sys.modules["berxit"] = None  # the project is not importable here
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    folder, input_ids, attention_mask = sys.argv[1], torch.load(sys.argv[2]), torch.load(sys.argv[3])
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=0.5)
    classifier = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
    torch.save({"early": early.logits, "layers": early.exit_layers,
                "final": classifier(input_ids, attention_mask=attention_mask).logits}, sys.argv[4])
    # A remotely loaded model saves the same remote code again.
    model.save_pretrained(sys.argv[5])
    AutoModel.from_pretrained(sys.argv[5], trust_remote_code=True)
    """
)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_fresh_process_loads_with_trust_remote_code(tmp_path, model_type, pooling):
    model = tiny_model(model_type, cls=BerxitForSequenceClassification, exit_pooling=pooling)
    model.save_pretrained(tmp_path / "model")
    input_ids, attention_mask = padded_batch(model, [7, 2, 5])
    torch.save(input_ids, tmp_path / "ids.pt")
    torch.save(attention_mask, tmp_path / "mask.pt")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home"), "PYTHONPATH": ""}
    args = ["model", "ids.pt", "mask.pt", "out.pt", "resaved"]
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = torch.load(tmp_path / "out.pt")
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=0.5)
    torch.testing.assert_close(out["early"], early.logits)
    assert out["layers"].tolist() == early.exit_layers.tolist()
    torch.testing.assert_close(out["final"], model(input_ids, attention_mask=attention_mask).logits)


def test_text_classification_pipeline(tmp_path, minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = tiny_model(cls=BerxitForSequenceClassification, num_labels=2)
    model.config.id2label, model.config.label2id = {0: "rotten", 1: "fresh"}, {"rotten": 0, "fresh": 1}
    model.base_model.backbone.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    texts = ["a charming and often affecting journey", "unflinchingly bleak and desperate"]

    classifier = pipeline("text-classification", model=str(tmp_path))
    full = classifier(texts, top_k=None)
    assert all({score["label"] for score in scores} == {"rotten", "fresh"} for scores in full)

    # Served at a saved operating point, the pipeline gets each example's early answer.
    classifier.model.config.exit_threshold = 0.0
    first_exit = classifier(texts, top_k=None)
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model.base_model(**encoded).exit_logits[:, 0].softmax(-1)
    for scores, probabilities in zip(first_exit, expected, strict=True):
        by_label = {score["label"]: score["score"] for score in scores}
        assert by_label["rotten"] == pytest.approx(float(probabilities[0]), abs=1e-5)
        assert by_label["fresh"] == pytest.approx(float(probabilities[1]), abs=1e-5)


def test_re_heading_a_checkpoint_for_another_label_set_names_the_new_classes(tmp_path):
    model = tiny_model(cls=BerxitForSequenceClassification, num_labels=3)
    model.config.id2label, model.config.label2id = {0: "a", 1: "b", 2: "c"}, {"a": 0, "b": 1, "c": 2}
    model.save_pretrained(tmp_path)
    with pytest.raises(OSError, match="pass ignore_mismatched_sizes=True"):  # the heads' sizes differ
        AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=5, ignore_mismatched_sizes=True)
    assert loaded.config.num_labels == 5 and loaded.config.id2label == {i: f"LABEL_{i}" for i in range(5)}
    assert loaded.config.label2id == {f"LABEL_{i}": i for i in range(5)}
    input_ids, attention_mask = padded_batch(loaded, [4, 6])
    assert loaded.eval()(input_ids, attention_mask=attention_mask).exit_logits.shape[-1] == 5
    backbone = model.base_model.backbone.state_dict()
    for name, weight in loaded.base_model.backbone.state_dict().items():
        torch.testing.assert_close(weight, backbone[name], rtol=0, atol=0)
    assert AutoModelForSequenceClassification.from_pretrained(tmp_path).config.id2label == {0: "a", 1: "b", 2: "c"}
