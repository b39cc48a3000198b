"""Serving many inputs: the layer-queue scheduler answers as `early_exit_forward` on each example alone, in input
order; `predict` and `berxit-predict` turn texts into labelled predictions; float32 certainty in a bf16 model."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import torch
from tiny_models import padded_batch, tiny_model
from transformers import AutoTokenizer

from berxit import BerxitForSequenceClassification
from berxit.scripts import predict as predict_cli
from berxit.serving import LayerQueueScheduler
from berxit.serving.predictions import predict

RULES = {"certainty": dict(threshold=0.5), "entropy": dict(threshold=0.3), "patience": dict(patience=1)}


def alone(model, input_ids, attention_mask, **kwargs):
    rows = []
    for ids, mask in zip(input_ids, attention_mask, strict=True):
        real = mask.bool()
        rows.append(model.early_exit_forward(ids[real][None], attention_mask=mask[real][None], **kwargs))
    return rows


@pytest.mark.parametrize("rule", list(RULES))
def test_scheduler_equals_each_example_alone_in_input_order(model_type, rule):
    model = tiny_model(model_type, seed=4)
    lengths = torch.randint(1, 40, (200,), generator=torch.Generator().manual_seed(0)).tolist()
    input_ids, attention_mask = padded_batch(model, lengths)
    expected = alone(model, input_ids, attention_mask, rule=rule, **RULES[rule])
    batches = [
        {"input_ids": input_ids[start : start + 16], "attention_mask": attention_mask[start : start + 16]}
        for start in range(0, len(lengths), 16)
    ]
    out = LayerQueueScheduler(model, batch_size=8, rule=rule, **RULES[rule]).run(batches)
    assert out.exit_layers.tolist() == [int(row.exit_layers) for row in expected]
    assert len(set(out.exit_layers.tolist())) > 1
    torch.testing.assert_close(out.logits, torch.cat([row.logits for row in expected]), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.certainties, torch.cat([row.certainties for row in expected]), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("window", [8, None, 1000])
def test_length_aware_scheduler_equals_each_example_alone_on_skewed_lengths(window):
    model = tiny_model(seed=4, exit_threshold=0.5)
    generator = torch.Generator().manual_seed(1)
    lengths = [int(x) for x in torch.randint(1, 6, (150,), generator=generator)]
    lengths += [int(x) for x in torch.randint(40, 60, (30,), generator=generator)]
    lengths = [lengths[i] for i in torch.randperm(len(lengths), generator=generator).tolist()]
    input_ids, attention_mask = padded_batch(model, lengths)
    expected = alone(model, input_ids, attention_mask)
    batches = [
        {"input_ids": input_ids[start : start + 10], "attention_mask": attention_mask[start : start + 10]}
        for start in range(0, len(lengths), 10)
    ]
    out = LayerQueueScheduler(model, batch_size=8, window=window).run(batches)
    assert out.exit_layers.tolist() == [int(row.exit_layers) for row in expected]
    torch.testing.assert_close(out.logits, torch.cat([row.logits for row in expected]), atol=1e-5, rtol=1e-4)


def test_a_wider_window_pads_less():
    model = tiny_model(seed=4, exit_threshold=0.5)
    lengths = [3, 50] * 40
    input_ids, attention_mask = padded_batch(model, lengths)
    batches = [
        {"input_ids": input_ids[start : start + 8], "attention_mask": attention_mask[start : start + 8]}
        for start in range(0, len(lengths), 8)
    ]

    def padding(window: int) -> int:
        """Padded tokens the layer calls ran beside the real ones."""
        scheduler = LayerQueueScheduler(model, batch_size=8, window=window)
        run_rows, calls = scheduler.steps.run_rows, []

        def counted(layer, rows):
            calls.append(len(rows) * max(map(len, rows)) - sum(map(len, rows)))
            return run_rows(layer, rows)

        scheduler.steps.run_rows = counted
        scheduler.run(batches)
        return sum(calls)

    assert padding(window=64) < 0.5 * padding(window=8)


def test_scheduler_answers_each_example_as_soon_as_it_exits():
    model = tiny_model(seed=4)
    input_ids, attention_mask = padded_batch(model, [5, 9, 2, 7] * 5)
    read = []

    def batches():
        for start in range(0, 20, 2):
            read.append(start)
            yield {"input_ids": input_ids[start : start + 2], "attention_mask": attention_mask[start : start + 2]}

    answers = LayerQueueScheduler(model, batch_size=2, threshold=0.0, window=2).answers(batches())
    index, (_, layer, _) = next(answers)
    assert layer == 1 and len(read) <= 2  # answered before the rest of the input is read
    assert sorted([index, *(index for index, _ in answers)]) == list(range(20))


def test_scheduler_takes_left_padded_batches_and_the_saved_operating_point():
    model = tiny_model(seed=4, exit_threshold=0.5)
    input_ids, attention_mask = padded_batch(model, [5, 9, 2, 7])
    left_ids, left_mask = torch.zeros_like(input_ids), torch.zeros_like(attention_mask)
    for row, length in enumerate(attention_mask.sum(-1).tolist()):
        left_ids[row, -length:], left_mask[row, -length:] = input_ids[row, :length], 1
    out = LayerQueueScheduler(model, batch_size=3).run([{"input_ids": left_ids, "attention_mask": left_mask}])
    expected = alone(model, input_ids, attention_mask)
    assert out.exit_layers.tolist() == [int(row.exit_layers) for row in expected]
    torch.testing.assert_close(out.logits, torch.cat([row.logits for row in expected]), atol=1e-5, rtol=1e-4)


def test_scheduler_refuses_what_it_cannot_serve():
    model = tiny_model(exit_threshold=0.5)
    with pytest.raises(ValueError, match="batch_size: expected a whole number >= 1"):
        LayerQueueScheduler(model, batch_size=0)
    with pytest.raises(ValueError, match=r"window: expected a whole number >= batch_size \(8\), got 4"):
        LayerQueueScheduler(model, batch_size=8, window=4)
    with pytest.raises(ValueError, match="model: it is in training mode"):
        LayerQueueScheduler(tiny_model(exit_threshold=0.5).train())
    with pytest.raises(ValueError, match="threshold: the 'certainty' rule needs a threshold"):
        LayerQueueScheduler(tiny_model())
    with pytest.raises(ValueError, match="batches: no examples"):
        LayerQueueScheduler(model).run([])
    with pytest.raises(ValueError, match=r"batches: unexpected inputs \['pixel_values'\]"):
        LayerQueueScheduler(model).run([{"input_ids": torch.ones(1, 3, dtype=torch.long), "pixel_values": 0}])


def test_certainty_is_float32_in_bf16_and_threshold_one_never_exits():
    model = tiny_model(seed=4).to(torch.bfloat16)
    with torch.no_grad():  # the certainty head's linear says 8 for everyone: sigmoid(8) = 0.99966, 1.0 in bf16
        model.certainty_head.classifier.weight.zero_()
        model.certainty_head.classifier.bias.fill_(8.0)
    assert float(torch.sigmoid(torch.tensor(8.0, dtype=torch.bfloat16))) == 1.0
    input_ids, attention_mask = padded_batch(model, [6, 3, 8])
    full = model(input_ids, attention_mask=attention_mask)
    assert full.certainties.dtype == torch.float32
    torch.testing.assert_close(full.certainties, torch.full((3, 4), float(torch.sigmoid(torch.tensor(8.0)))))
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=1.0)
    assert early.exit_layers.tolist() == [4, 4, 4]
    scheduled = LayerQueueScheduler(model, threshold=1.0).run(
        [{"input_ids": input_ids, "attention_mask": attention_mask}]
    )
    assert scheduled.exit_layers.tolist() == [4, 4, 4]


TEXTS = [f"a {word} film , number {i}" for i, word in enumerate(["good", "dull", "fine", "awful"] * 10)]


def test_predict_returns_named_labels_in_input_order(text_model_dir):
    model = BerxitForSequenceClassification.from_pretrained(text_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(text_model_dir)
    rows = predict(model, tokenizer, TEXTS, batch_size=4, show_progress=False)
    assert len(rows) == len(TEXTS)
    for text, row in zip(TEXTS, rows, strict=True):
        one = model.early_exit_forward(**tokenizer(text, return_tensors="pt"))
        probabilities = one.logits[0].softmax(-1)
        assert row["label"] == model.config.id2label[int(probabilities.argmax())]
        assert row["score"] == pytest.approx(float(probabilities.max()), abs=1e-5)
        assert row["exit_layer"] == int(one.exit_layers) and row["certainty"] == pytest.approx(float(one.certainties))
    with pytest.raises(ValueError, match="texts: expected a list of texts, got one string"):
        predict(model, tokenizer, "one string")
    with pytest.raises(ValueError, match="texts: expected a list of non-empty strings"):
        predict(model, tokenizer, ["a", " "])
    with pytest.raises(ValueError, match=r"text_pairs: expected one per text \(2\), got 1"):
        predict(model, tokenizer, ["a", "b"], text_pairs=["c"])


def test_predict_cli_writes_every_row_with_its_prediction(text_model_dir, tmp_path, capsys):
    source = tmp_path / "reviews.csv"
    pd.DataFrame({"id": range(len(TEXTS)), "review": TEXTS}).to_csv(source, index=False)
    model = BerxitForSequenceClassification.from_pretrained(text_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(text_model_dir)
    expected = predict(model, tokenizer, TEXTS, show_progress=False)

    output = tmp_path / "predictions.csv"
    argv = ["--model_dir", str(text_model_dir), "--input", str(source), "--text_column", "review"]
    predict_cli.main([*argv, "--output", str(output), "--batch_size", "4"])
    table = pd.read_csv(output)
    assert table.columns.tolist() == ["id", "review", "predicted_label", "score", "exit_layer", "certainty"]
    assert table["id"].tolist() == list(range(len(TEXTS)))
    assert table["predicted_label"].tolist() == [row["label"] for row in expected]
    assert table["exit_layer"].tolist() == [row["exit_layer"] for row in expected]
    assert "40 predictions written to" in capsys.readouterr().out

    lines = tmp_path / "predictions.jsonl"
    predict_cli.main([*argv, "--output", str(lines), "--rule", "patience", "--patience", "1"])
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert len(records) == len(TEXTS) and set(records[0]) == {
        "id",
        "review",
        "predicted_label",
        "score",
        "exit_layer",
        "certainty",
    }

    # An existing output is kept unless --overwrite; input columns are never overwritten.
    before = output.read_bytes()
    with pytest.raises(SystemExit):
        predict_cli.main([*argv, "--output", str(output)])
    assert "exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert output.read_bytes() == before
    clash = tmp_path / "clash.csv"
    pd.DataFrame({"review": TEXTS, "score": 1}).to_csv(clash, index=False)
    with pytest.raises(SystemExit):
        predict_cli.main(["--model_dir", str(text_model_dir), "--input", str(clash), "--text_column", "review",
                          "--output", str(tmp_path / "out.csv")])  # fmt: skip
    assert "input: its columns ['score'] would be overwritten" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


SERVING_ONLY = """
import sys
for name in ("matplotlib", "scipy", "sklearn", "accelerate", "berxit.lab"):
    sys.modules[name] = None  # what `pip install berxit` does not install, and the lab
from berxit.scripts import predict
predict.main(sys.argv[1:])
"""


def test_predicting_needs_no_training_or_lab_package(text_model_dir, tmp_path):
    source, output = tmp_path / "texts.txt", tmp_path / "predictions.jsonl"
    source.write_text("\n".join(TEXTS[:6]) + "\n")
    argv = ["--model_dir", str(text_model_dir), "--input", str(source), "--output", str(output)]
    done = subprocess.run([sys.executable, "-c", SERVING_ONLY, *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(output.read_text().splitlines()) == 6
