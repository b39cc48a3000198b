"""Integration: alternating fine-tuning of the packaged MiniLM on the packaged Rotten Tomatoes reviews."""

import pytest
from transformers import AutoTokenizer

from berxit import BerxitForSequenceClassification, BerxitMetrics, BerxitTrainer, BerxitTrainingArguments
from berxit.data import rotten_tomatoes

MARGIN = 0.05  # over the majority-class rate


@pytest.fixture(scope="module")
def fine_tuned(minilm_dir, tmp_path_factory):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    data = rotten_tomatoes().splits
    splits = {"train": data["train"].select(range(960)), "validation": data["validation"].select(range(256))}
    splits = {
        name: split.map(lambda batch: tokenizer(batch["text"], truncation=True, max_length=64), batched=True)
        .rename_column("label", "labels")
        .remove_columns("text")
        for name, split in splits.items()
    }
    model = BerxitForSequenceClassification.from_pretrained_backbone(minilm_dir, num_labels=2, exit_threshold=0.5)
    args = BerxitTrainingArguments(
        output_dir=str(tmp_path_factory.mktemp("run")),
        exit_strategy="alternating",
        per_device_train_batch_size=16,
        per_device_eval_batch_size=64,
        learning_rate=2e-4,
        max_steps=100,
        logging_steps=10,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=42,
        disable_tqdm=True,
    )
    trainer = BerxitTrainer(
        model=model,
        args=args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        processing_class=tokenizer,
        compute_metrics=BerxitMetrics(model.config),
    )
    trainer.train()
    labels = splits["validation"]["labels"]
    chance = max(sum(labels), len(labels) - sum(labels)) / len(labels)
    return trainer, trainer.evaluate(), chance


def test_final_and_early_exits_score_above_chance(fine_tuned):
    _, metrics, chance = fine_tuned
    assert metrics["eval_exit_6_accuracy"] > chance + MARGIN
    early = [metrics[f"eval_exit_{layer}_accuracy"] for layer in range(1, 6)]
    assert max(early) > chance + MARGIN, early


def test_training_log_shows_each_objective(fine_tuned):
    trainer, _, _ = fine_tuned
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert logged and all({"loss_all_exits", "loss_final_exit", "loss_certainty"} <= set(entry) for entry in logged)
    # An all-exits step sums six exits' losses; a final-exit step has one.
    assert all(entry["loss_all_exits"] > entry["loss_final_exit"] for entry in logged)
