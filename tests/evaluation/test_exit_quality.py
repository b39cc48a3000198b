"""Each exit's quality from a record: the AUROC of a score against the exit's correctness is scikit-learn's, and
the per-exit rows hold the metric, the certainty head's and the max-softmax's ranking."""

import math

import torch
from datasets import Dataset, DatasetDict
from sklearn.metrics import roc_auc_score
from tiny_models import tiny_model
from transformers import AutoTokenizer

from berxit import BerxitForSequenceClassification
from berxit.configuration_berxit import BerxitConfig
from berxit.data import tokenize
from berxit.evaluation.exit_quality import agreement_oracle, auroc, exit_quality, refit_head_auroc, refit_head_record
from berxit.evaluation.records import ExitRecord, padded_batches, record_certainty_features, record_exits
from berxit.evaluation.risk_control import Promise
from berxit.lab.analysis.run_comparison import compare_run


def test_auroc_is_scikit_learns_with_ties():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 5, (200,), generator=generator).float()  # many ties
    positive = torch.rand(200, generator=generator) < 0.3 + 0.1 * scores
    assert math.isclose(auroc(scores, positive), roc_auc_score(positive.numpy(), scores.numpy()), rel_tol=1e-9)
    assert math.isnan(auroc(scores, torch.ones(200, dtype=torch.bool)))  # nobody wrong: nothing to rank


def test_exit_quality_has_a_row_per_exit():
    config = tiny_model().config
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 2, (64,), generator=generator)
    logits = torch.randn(64, config.num_hidden_layers, 2, generator=generator)
    logits[:, -1, :] = 0
    logits[torch.arange(64), -1, labels] = 5  # the last exit is always right
    record = ExitRecord(logits, torch.rand(64, config.num_hidden_layers, generator=generator), labels)
    rows = exit_quality(config, record)
    assert [row["exit"] for row in rows] == list(range(1, config.num_hidden_layers + 1))
    assert rows[-1]["accuracy"] == 1.0 and math.isnan(rows[-1]["certainty_auroc"])
    assert all(0 <= row["certainty_auroc"] <= 1 and 0 <= row["softmax_auroc"] <= 1 for row in rows[:-1])


def test_a_refitted_head_learns_what_the_features_say_on_held_out_examples():
    # One feature says whether the exit is right (noisily), the other is noise: fitted on one split, the head ranks
    # the other's right answers first; with no wrong answer to learn from there is nothing to fit.
    generator = torch.Generator().manual_seed(2)
    records, features = {}, {}
    for split in ("validation", "test"):
        labels = torch.randint(0, 2, (200,), generator=generator)
        logits = torch.randn(200, 3, 2, generator=generator)  # (examples, layers, labels)
        right = (logits.argmax(-1) == labels[:, None]).float()  # (examples, layers)
        signal = right + 0.5 * torch.randn(200, 3, generator=generator)
        features[split] = torch.stack([signal, torch.randn(200, 3, generator=generator)], dim=-1)
        records[split] = ExitRecord(logits, torch.rand(200, 3, generator=generator), labels)
    assert all(value > 0.8 for value in refit_head_auroc(features, records))
    always_right = records["validation"].exit_logits.argmax(-1)[:, 0]
    records["validation"] = ExitRecord(
        records["validation"].exit_logits, records["validation"].certainties, always_right
    )
    records["validation"].exit_logits[:] = records["validation"].exit_logits[:, :1]  # every exit answers alike
    assert all(math.isnan(value) for value in refit_head_auroc(features, records))


def test_the_recorded_features_are_what_the_certainty_head_reads(tiny_bert):
    model = BerxitForSequenceClassification.from_pretrained_backbone(tiny_bert, num_labels=3).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    texts = ["a good film", "awful", "a long and dull film , too long", "fine", "great fun"]
    dataset = tokenize(DatasetDict(test=Dataset.from_dict({"text": texts, "label": [0, 1, 2, 0, 1]})), tokenizer, 16)
    dataset = dataset["test"]
    features, same_pass = record_certainty_features(model, padded_batches(dataset, tokenizer, 3))
    record = record_exits(model, dataset, tokenizer, batch_size=3)
    head = model.base_model.certainty_head
    replayed = torch.sigmoid(head.classifier(features).float()).squeeze(-1)  # (examples, layers)
    torch.testing.assert_close(replayed, record.certainties, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(same_pass.exit_logits, record.exit_logits)
    assert same_pass.labels.tolist() == [0, 1, 2, 0, 1]


def regression_records(generator, examples: int = 300, layers: int = 4) -> tuple[dict, dict]:
    """Records of validation and test where exit k lies a random distance from the final exit's answer, and
    features whose first column says (noisily) how far: what a refitted head can learn to rank."""
    records, features = {}, {}
    for split in ("validation", "test"):
        labels = 5 * torch.rand(examples, generator=generator)
        distance = torch.rand(examples, layers, generator=generator) * torch.linspace(2, 0, layers)  # 0 at the last
        answers = labels[:, None] + distance * torch.sign(torch.randn(examples, 1, generator=generator))
        signal = distance + 0.1 * torch.randn(examples, layers, generator=generator)
        features[split] = torch.stack([signal, torch.randn(examples, layers, generator=generator)], dim=-1)
        labels = labels + 0.1 * torch.randn(examples, generator=generator)  # the final exit is not always right
        records[split] = ExitRecord(answers[..., None], torch.rand(examples, layers, generator=generator), labels)
    return records, features


def test_the_agreement_oracle_scores_each_exit_by_how_it_agrees_with_the_final_one():
    config = BerxitConfig(backbone_config={"model_type": "bert", "num_hidden_layers": 4}, num_labels=1)
    records, _ = regression_records(torch.Generator().manual_seed(3))
    test = records["test"]
    oracle = agreement_oracle(config, test)
    distance = (test.exit_logits - test.exit_logits[:, -1:]).abs().squeeze(-1)  # (examples, layers)
    assert torch.allclose(oracle.certainties, 1 - torch.tanh(distance))
    assert torch.equal(oracle.exit_logits, test.exit_logits) and torch.equal(oracle.labels, test.labels)
    classes = BerxitConfig(backbone_config={"model_type": "bert", "num_hidden_layers": 3}, num_labels=2)
    logits = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 2.0]], [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]])
    oracle = agreement_oracle(classes, ExitRecord(logits, torch.zeros(2, 3), torch.tensor([1, 0])))
    assert oracle.certainties.tolist() == [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]  # its first exit to agree answers


def test_a_head_refitted_to_agreement_ranks_how_far_each_exit_lies_from_the_final_one():
    from scipy.stats import spearmanr

    records, features = regression_records(torch.Generator().manual_seed(4))
    refit = refit_head_record(features, records)
    test = records["test"]
    distance = (test.exit_logits - test.exit_logits[:, -1:]).abs().squeeze(-1)[:, :-1]  # (examples, early exits)
    assert spearmanr(refit.certainties[:, :-1].flatten(), distance.flatten())[0] < -0.9  # far: low certainty
    assert torch.equal(refit.exit_logits, test.exit_logits)


def test_a_regression_comparison_shows_the_refitted_head_and_the_oracle_beside_the_rules():
    config = BerxitConfig(backbone_config={"model_type": "bert", "num_hidden_layers": 4}, num_labels=1)
    records, features = regression_records(torch.Generator().manual_seed(5))
    row = compare_run(config, records, "spearman", Promise("harm", 0.05, 0.9), 5.0, features)
    saved = row["saved_within"]
    assert list(saved) == ["static depth", "certainty", "refit head", "agreement oracle"]
    # The trained certainties here are noise; the refit head reads the distance, and the oracle knows it.
    assert saved["certainty"] < min(saved["refit head"], saved["agreement oracle"])
    assert "refit head" not in compare_run(config, records, "spearman", Promise("harm", 0.05, 0.9), 5.0)["saved_within"]
