"""Early exit on ONNX Runtime: the exported layer graphs, driven with the same rules, answer as the PyTorch model
does on every family and rule, an export checks itself, and serving needs no PyTorch."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from tiny_models import FAMILIES, padded_batch, splitting_rule, tiny_model

from berxit import BerxitForSequenceClassification
from berxit.onnx_runtime.export_graphs import export_onnx
from berxit.onnx_runtime.runner import OnnxBerxitModel, ServedConfig
from berxit.scripts import export, predict
from berxit.serving import LayerQueueScheduler

LENGTHS = [9, 3, 12, 5, 12, 1, 7, 4]


@pytest.fixture(scope="module", params=FAMILIES)
def exported(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    model = tiny_model(request.param, cls=BerxitForSequenceClassification)
    model.save_pretrained(folder)
    export_onnx(model, folder / "onnx")
    return model, folder


@pytest.mark.parametrize("rule", ["certainty", "entropy", "patience"])
@pytest.mark.parametrize("padding", ["right", "left"])
def test_onnx_runtime_answers_as_pytorch(exported, rule, padding):
    model, folder = exported
    served = OnnxBerxitModel(folder, threads=1)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    if padding == "left":  # each row's padding moved to its front
        shifts = [input_ids.shape[1] - length for length in LENGTHS]
        input_ids = torch.stack([row.roll(shift) for row, shift in zip(input_ids, shifts, strict=True)])
        attention_mask = torch.stack([row.roll(shift) for row, shift in zip(attention_mask, shifts, strict=True)])
    kwargs = splitting_rule(model.base_model, *padded_batch(model, LENGTHS), rule)
    expected = model.early_exit_forward(input_ids, attention_mask=attention_mask, **kwargs)
    got = served.early_exit(input_ids.numpy(), attention_mask.numpy(), **kwargs)
    assert got.exit_layers.tolist() == expected.exit_layers.tolist()
    np.testing.assert_allclose(got.logits, expected.logits.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(got.certainties, expected.certainties.numpy(), atol=1e-4, rtol=1e-4)
    assert len(set(got.exit_layers.tolist())) > 1, "the test needs examples that leave at different layers"


def test_the_papers_certainty_head_exports(tmp_path):
    model = tiny_model(cls=BerxitForSequenceClassification, certainty_inputs="pooled")  # the default reads the answer
    model.save_pretrained(tmp_path)
    export_onnx(model, tmp_path / "onnx")
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    kwargs = splitting_rule(model.base_model, input_ids, attention_mask, "certainty")
    expected = model.early_exit_forward(input_ids, attention_mask=attention_mask, **kwargs)
    got = OnnxBerxitModel(tmp_path, threads=1).early_exit(input_ids.numpy(), attention_mask.numpy(), **kwargs)
    assert got.exit_layers.tolist() == expected.exit_layers.tolist()
    np.testing.assert_allclose(got.certainties, expected.certainties.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("rule", ["certainty", "patience"])
def test_the_layer_queue_scheduler_runs_on_onnx_runtime(exported, rule):
    model, folder = exported
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    kwargs = splitting_rule(model.base_model, input_ids, attention_mask, rule)
    batches = [{"input_ids": input_ids[i : i + 3], "attention_mask": attention_mask[i : i + 3]} for i in (0, 3, 6)]
    expected = LayerQueueScheduler(model, batch_size=3, **kwargs).run(batches)
    numpy_batches = [{name: value.numpy() for name, value in batch.items()} for batch in batches]
    got = LayerQueueScheduler(OnnxBerxitModel(folder, threads=1), batch_size=3, **kwargs).run(numpy_batches)
    assert got.exit_layers.tolist() == expected.exit_layers.tolist()
    np.testing.assert_allclose(got.logits, expected.logits.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(got.certainties, expected.certainties.numpy(), atol=1e-4, rtol=1e-4)


def test_the_manifest_records_graphs_and_versions(exported):
    model, folder = exported
    manifest = json.loads((folder / "onnx" / "berxit_onnx.json").read_text())
    assert len(manifest["layers"]) == model.config.num_hidden_layers
    assert manifest["backbone"] == model.config.backbone_config.model_type
    assert set(manifest["versions"]) == {"torch", "onnx", "onnxruntime"} and manifest["opset"] >= 17


def test_an_export_serves_its_operating_point_without_torch(tmp_path, finished_run):
    export.main(["--model_dir", str(finished_run), "--export_dir", str(tmp_path / "export"), "--onnx"])
    model = BerxitForSequenceClassification.from_pretrained(tmp_path / "export").eval()
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    expected = model(input_ids, attention_mask=attention_mask)  # at the operating point in config.json
    np.save(tmp_path / "input_ids.npy", input_ids.numpy())
    np.save(tmp_path / "attention_mask.npy", attention_mask.numpy())
    script = f"""
import sys
sys.modules["torch"] = None  # importing torch fails here
import numpy as np
import pandas as pd
from berxit.onnx_runtime.runner import OnnxBerxitModel, ServedConfig
served = OnnxBerxitModel({str(tmp_path / "export")!r})
out = served.early_exit(np.load({str(tmp_path / "input_ids.npy")!r}), np.load({str(tmp_path / "attention_mask.npy")!r}))
np.save({str(tmp_path / "layers.npy")!r}, out.exit_layers)
np.save({str(tmp_path / "logits.npy")!r}, out.logits)
from berxit.serving import LayerQueueScheduler
queued = LayerQueueScheduler(served, batch_size=3).run([{{"input_ids": np.load({str(tmp_path / "input_ids.npy")!r}),
    "attention_mask": np.load({str(tmp_path / "attention_mask.npy")!r})}}])
np.save({str(tmp_path / "queued.npy")!r}, queued.exit_layers)
from transformers import AutoTokenizer
from berxit.serving.predictions import predict
tokenizer = AutoTokenizer.from_pretrained({str(tmp_path / "export")!r}, trust_remote_code=False)
answers = predict(served, tokenizer, ["a charming film", "dull"], show_progress=False)
assert [set(answer) for answer in answers] == [{{"label", "score", "exit_layer", "certainty"}}] * 2
assert sys.modules["torch"] is None
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert np.load(tmp_path / "layers.npy").tolist() == expected.exit_layers.tolist()
    assert np.load(tmp_path / "queued.npy").tolist() == expected.exit_layers.tolist()
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), expected.logits.detach().numpy(), atol=1e-4)


def test_berxit_predict_on_onnx_runtime_answers_as_on_pytorch(tmp_path, finished_run, reviews_csv):
    export.main(["--model_dir", str(finished_run), "--export_dir", str(tmp_path / "export"), "--onnx"])
    argv = ["--model_dir", str(tmp_path / "export"), "--input", str(reviews_csv), "--text_column", "review"]
    for runtime in ("pytorch", "onnxruntime"):
        predict.main([*argv, "--output", str(tmp_path / f"{runtime}.csv"), "--runtime", runtime, "--batch_size", "8"])
    on_torch, on_onnx = (pd.read_csv(tmp_path / f"{runtime}.csv") for runtime in ("pytorch", "onnxruntime"))
    assert on_onnx["predicted_label"].tolist() == on_torch["predicted_label"].tolist()
    assert on_onnx["exit_layer"].tolist() == on_torch["exit_layer"].tolist()
    np.testing.assert_allclose(on_onnx["score"], on_torch["score"], atol=1e-4)
    np.testing.assert_allclose(on_onnx["certainty"], on_torch["certainty"], atol=1e-4)


def test_an_export_that_differs_from_pytorch_is_refused(tmp_path, monkeypatch):
    from berxit.onnx_runtime import export_graphs as onnx_export

    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)  # no gap passes: the check must refuse, naming the family
    with pytest.raises(ValueError, match="model: its bert backbone does not export faithfully to ONNX"):
        export_onnx(tiny_model("bert"), tmp_path / "onnx")


def test_int8_graphs_quantise_the_backbone_and_stay_close(exported, tmp_path):
    import onnx

    from berxit.onnx_runtime.export_graphs import quantize_int8

    model, folder = exported
    quantize_int8(folder / "onnx", folder / "onnx_int8")
    layer = onnx.load(folder / "onnx_int8" / "layer_00.onnx")
    assert "MatMulInteger" in {node.op_type for node in layer.graph.node}
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    fp32 = OnnxBerxitModel(folder).every_exit(input_ids.numpy(), attention_mask.numpy())
    # Not yet calibrated (no operating point of its own): every exit is recorded with the fp32 config's settings.
    settings = ServedConfig.from_json(folder / "config.json")
    int8 = OnnxBerxitModel(folder, quantized=True, config=settings).every_exit(
        input_ids.numpy(), attention_mask.numpy()
    )
    scale = np.abs(fp32["exit_logits"]).max()
    assert np.abs(int8["exit_logits"] - fp32["exit_logits"]).max() < 0.1 * scale
    # The default head reads each exit's answer too, so the logits' rounding reaches the certainties (tiny_model's
    # exits are sharp: a small change of logits moves the negentropy); int8 chooses its own operating point.
    gap = np.abs(int8["certainties"] - fp32["certainties"])
    assert gap.mean() < 0.05 and gap.max() < 0.2


def test_the_int8_export_chooses_its_own_operating_point(tmp_path, finished_run):
    argv = ["--model_dir", str(finished_run), "--export_dir", str(tmp_path / "export"), "--onnx", "--quantize", "int8"]
    export.main(argv)
    fp32 = json.loads((finished_run / "sweep" / "operating_point.json").read_text())
    int8 = json.loads((tmp_path / "export" / "onnx_int8" / "operating_point.json").read_text())
    assert int8["rule"] == fp32["rule"] and int8["quantization"] == "int8"
    assert {key: int8["promise"][key] for key in ("risk", "epsilon", "confidence", "chooser")} == {
        key: fp32["promise"][key] for key in ("risk", "epsilon", "confidence", "chooser")
    }
    served = OnnxBerxitModel(tmp_path / "export", quantized=True)
    assert served.config.exit_rule == int8["rule"] and served.config.exit_threshold == int8["setting"]
    assert OnnxBerxitModel(tmp_path / "export").config.exit_threshold == fp32["setting"]  # fp32 keeps the sweep's
    summary = (tmp_path / "export" / "onnx_int8" / "summary.md").read_text()
    assert "fp32_accuracy" in summary and "int8_certainty_auroc" in summary


def test_serving_speed_times_every_runtime_on_the_test_split(tmp_path, finished_run):
    from berxit.lab.scripts import serving_speed

    argv = ["--model_dir", str(finished_run), "--export_dir", str(tmp_path / "export"), "--onnx", "--quantize", "int8"]
    export.main(argv)
    serving_speed.main(
        ["--model_dir", str(finished_run), "--export_dir", str(tmp_path / "export"), "--repeats", "1", "--threads", "1"]
    )
    rows = {
        row["variant"]: row
        for row in json.loads((finished_run / "serving_speed" / "serving_speed.json").read_text())["rows"]
    }
    assert set(rows) == {
        "PyTorch, every layer",
        "PyTorch, every layer, sorted by length",
        "ONNX Runtime, every layer",
        "ONNX Runtime, every layer, sorted by length",
        "ONNX Runtime int8, every layer",
        "ONNX Runtime int8, every layer, sorted by length",
        "berxit on PyTorch",
        "berxit on ONNX Runtime",
        "berxit on ONNX Runtime int8",
    }
    assert rows["PyTorch, every layer"]["speedup"] == 1.0 and all(row["examples_per_s"] > 0 for row in rows.values())
    for runtime in ("PyTorch", "ONNX Runtime", "ONNX Runtime int8"):  # each against its own runtime's careful user
        assert rows[f"{runtime}, every layer, sorted by length"]["speedup_over_sorted_plain"] == 1.0
    # The same operating point on the same weights: fp32 graphs answer and exit as PyTorch does.
    for key in ("avg_exit_layer", "accuracy"):
        assert rows["berxit on ONNX Runtime"][key] == pytest.approx(rows["berxit on PyTorch"][key], abs=1e-6)
