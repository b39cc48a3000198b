"""The ONNX runner keeps PyTorch's contract (#39): what the model refuses it refuses with the same one-line error,
and an export that is not what was exported (graphs missing, swapped, counted wrong, named outside the folder, an
int8 folder without its own operating point) is refused naming the file, never served."""

import json
import shutil

import numpy as np
import pytest
import torch
from tiny_models import padded_batch, tiny_model

from berxit import BerxitForSequenceClassification
from berxit.onnx_runtime.export_graphs import export_onnx, quantize_int8
from berxit.onnx_runtime.runner import MANIFEST, OnnxBerxitModel


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    model = tiny_model(cls=BerxitForSequenceClassification, exit_threshold=0.5)
    model.save_pretrained(folder)
    export_onnx(model, folder / "onnx")
    return model, folder


IDS = np.array([[5, 6, 7, 0], [8, 9, 0, 0]])
MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
BAD_INPUTS = [
    ("a negative id", dict(input_ids=IDS - 6), ValueError, r"input_ids: ids must lie in \[0, vocab_size="),
    ("an id past the vocabulary", dict(input_ids=IDS + 10_000), ValueError, "input_ids: ids must lie in"),
    ("float ids", dict(input_ids=IDS + 0.5), TypeError, "input_ids: expected whole numbers"),
    ("a float mask", dict(attention_mask=MASK * 0.5), TypeError, "attention_mask: expected whole numbers"),
    ("a mask of 2s", dict(attention_mask=MASK * 2), ValueError, "attention_mask: expected 1 for real tokens and 0"),
    ("an all-zero row", dict(attention_mask=MASK * [[1], [0]]), ValueError, r"rows \[1\] have no real token"),
    ("token types past the table", dict(token_type_ids=IDS), ValueError, "token_type_ids: ids must lie in"),
    ("a mask of another shape", dict(attention_mask=MASK[:, :2]), ValueError, "attention_mask: expected the input's"),
]


@pytest.mark.parametrize(("name", "change", "error", "message"), BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_the_runner_refuses_what_pytorch_refuses(export, name, change, error, message):
    model, folder = export
    inputs = {"input_ids": IDS, "attention_mask": MASK, **change}
    with pytest.raises(error, match=message):
        OnnxBerxitModel(folder, threads=1).early_exit(**inputs)
    torch_inputs = {key: torch.as_tensor(value) for key, value in inputs.items()}
    with pytest.raises((ValueError, TypeError)):  # and PyTorch does too
        model.early_exit_forward(**torch_inputs)


def damaged(folder, tmp_path, change):
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    change(copy / "onnx")
    return copy


def edit_manifest(graphs, **changes):
    manifest = json.loads((graphs / MANIFEST).read_text())
    (graphs / MANIFEST).write_text(json.dumps({**manifest, **changes}))


def manifest_of(graphs) -> dict:
    return json.loads((graphs / MANIFEST).read_text())


BAD_EXPORTS = [
    ("fewer layers listed", lambda g: edit_manifest(g, layers=manifest_of(g)["layers"][:-1]), "lists 3 layer graphs"),
    ("a layer duplicated", lambda g: shutil.copy(g / "layer_00.onnx", g / "layer_01.onnx"), "SHA-256 differs"),
    (
        "layers swapped",
        lambda g: edit_manifest(g, layers=manifest_of(g)["layers"][::-1]),
        "SHA-256 differs|records other graphs",
    ),
    ("a path outside the export", lambda g: edit_manifest(g, embeddings="../../x.onnx"), "not a file of the export"),
    ("an absolute path", lambda g: edit_manifest(g, embeddings="/etc/passwd"), "not a file of the export"),
    ("a graph missing", lambda g: (g / "layer_01.onnx").unlink(), "layer_01.onnx is missing"),
    ("a truncated graph", lambda g: (g / "layer_01.onnx").write_bytes(b"\x08\x07"), "SHA-256 differs"),
    ("no layers in the manifest", lambda g: (g / MANIFEST).write_text('{"embeddings": "e.onnx"}'), "has no layers"),
    ("a damaged manifest", lambda g: (g / MANIFEST).write_text("{"), "is damaged"),
]


@pytest.mark.parametrize(("name", "change", "message"), BAD_EXPORTS, ids=[case[0] for case in BAD_EXPORTS])
def test_an_export_that_is_not_what_was_exported_is_refused(export, tmp_path, name, change, message):
    _, folder = export
    copy = damaged(folder, tmp_path, change)
    with pytest.raises(ValueError, match=f"model_dir: .*({message})"):
        OnnxBerxitModel(copy, threads=1)


def test_fewer_layers_in_the_config_than_graphs_is_refused(export, tmp_path):
    _, folder = export
    copy = damaged(folder, tmp_path, lambda graphs: None)
    config = json.loads((copy / "config.json").read_text())
    config["backbone_config"]["num_hidden_layers"] -= 1
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="lists 4 layer graphs for a model of 3 layers"):
        OnnxBerxitModel(copy, threads=1)


def test_int8_graphs_need_their_own_operating_point(export, tmp_path):
    _, folder = export
    copy = damaged(folder, tmp_path, lambda graphs: None)
    quantize_int8(copy / "onnx", copy / "onnx_int8")
    with pytest.raises(ValueError, match="has no operating_point.json .* export again"):
        OnnxBerxitModel(copy, threads=1, quantized=True)
    (copy / "onnx_int8" / "operating_point.json").write_text(json.dumps({"setting": 0.5}))
    with pytest.raises(ValueError, match="operating_point.json has no rule"):
        OnnxBerxitModel(copy, threads=1, quantized=True)
    (copy / "onnx_int8" / "operating_point.json").write_text(json.dumps({"rule": "certainty", "setting": 7}))
    with pytest.raises(ValueError, match=r"threshold: expected values in \[0, 1\]"):
        OnnxBerxitModel(copy, threads=1, quantized=True)
    (copy / "onnx_int8" / "operating_point.json").write_text(json.dumps({"rule": "certainty", "setting": 0.9}))
    assert OnnxBerxitModel(copy, threads=1, quantized=True).config.exit_threshold == 0.9
    served = OnnxBerxitModel(copy, threads=1, quantized=True)
    input_ids, attention_mask = padded_batch(tiny_model(cls=BerxitForSequenceClassification), [3, 4])
    assert len(served.early_exit(input_ids.numpy(), attention_mask.numpy()).exit_layers) == 2
