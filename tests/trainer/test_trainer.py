import json

import numpy as np
import pytest
import torch
from tiny_models import VOCAB_SIZE, tiny_model
from torch.utils.data import DataLoader
from transformers import EvalPrediction, TrainerCallback

from berxit import (
    BerxitConfig,
    BerxitForSequenceClassification,
    BerxitMetrics,
    BerxitObjective,
    BerxitTrainer,
    BerxitTrainingArguments,
)
from berxit.evaluation.certainty_fit import fit_linear_head
from berxit.evaluation.records import record_certainty_features
from berxit.modeling_berxit.losses import certainty_targets
from berxit.trainer.recipes import DEFAULT_RECIPE, recipe_settings


def random_dataset(size: int, num_labels: int = 3, length: int = 8, seed: int = 0) -> list[dict]:
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, VOCAB_SIZE, (size, length), generator=generator)
    labels = torch.randint(0, num_labels, (size,), generator=generator)
    return [
        {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": label}
        for ids, label in zip(input_ids, labels, strict=True)
    ]


def make_args(tmp_path, **kwargs) -> BerxitTrainingArguments:
    defaults = dict(
        output_dir=str(tmp_path),
        certainty_holdout=0.0,  # these tests train on a handful of examples; the held-out fit has tests of its own
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        max_steps=4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
        data_seed=0,
        disable_tqdm=True,
    )
    return BerxitTrainingArguments(**{**defaults, **kwargs})


def train_model(args, dataset, callbacks=(), **model_kwargs):
    model = tiny_model(cls=BerxitForSequenceClassification, **model_kwargs).train()
    trainer = BerxitTrainer(model=model, args=args, train_dataset=dataset, callbacks=list(callbacks))
    trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
    return trainer


def logged_objectives(trainer) -> list[str]:
    names = []
    for entry in trainer.state.log_history:
        objectives = [key for key in entry if key in ("loss_all_exits", "loss_final_exit", "loss_early_exits")]
        if objectives:
            assert len(objectives) == 1 and "loss_certainty" in entry
            names.append(objectives[0].removeprefix("loss_"))
    return names


class Snapshots(TrainerCallback):
    """Parameters after every optimizer step."""

    def __init__(self):
        self.states = []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.states.append({name: value.detach().clone() for name, value in model.named_parameters()})


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("alternating", ["all_exits", "final_exit", "all_exits", "final_exit"]),
        ("joint", ["all_exits"] * 4),
        ("two_stage", ["final_exit", "final_exit", "early_exits", "early_exits"]),
    ],
)
def test_each_step_trains_its_strategys_objective(tmp_path, strategy, expected):
    trainer = train_model(make_args(tmp_path, exit_strategy=strategy), random_dataset(16))
    assert logged_objectives(trainer) == expected


def test_two_stage_freezes_backbone_and_final_exit_in_its_second_stage(tmp_path):
    snapshots = Snapshots()
    trainer = train_model(make_args(tmp_path, exit_strategy="two_stage"), random_dataset(16), callbacks=[snapshots])
    first_stage_end, second_stage_end = snapshots.states[1], snapshots.states[3]
    early_exit_names = {"berxit.certainty_head.classifier.weight", "berxit.certainty_head.classifier.bias"} | {
        name for name in first_stage_end if name.startswith("berxit.exits.") and not name.startswith("berxit.exits.3.")
    }
    for name, before in first_stage_end.items():
        changed = not torch.equal(before, second_stage_end[name])
        assert changed == (name in early_exit_names), name
    # The stage's freezing is undone after training.
    assert all(parameter.requires_grad for parameter in trainer.model.parameters())


@pytest.mark.parametrize("certainty_gradient", ["backbone", "head"])
def test_untrained_parameters_do_not_drift_under_weight_decay_and_momentum(tmp_path, certainty_gradient):
    snapshots = Snapshots()
    args = make_args(tmp_path, max_steps=2, weight_decay=0.1, learning_rate=1e-3, certainty_gradient=certainty_gradient)
    train_model(args, random_dataset(8), callbacks=[snapshots])
    after_all_exits, after_final_exit = snapshots.states
    # A final-exit step trains no early task head; the early poolers only where the certainty loss reaches them.
    untrained = ".classifier." if certainty_gradient == "backbone" else "."
    for name, before in after_all_exits.items():
        early = name.startswith("berxit.exits.") and untrained in name and ".exits.3." not in name
        assert torch.equal(before, after_final_exit[name]) == early, name


def test_gradient_accumulation_matches_one_big_batch(tmp_path):
    dataset = random_dataset(8)
    common = dict(max_steps=2, optim="sgd", learning_rate=0.1, max_grad_norm=0.0, lr_scheduler_type="constant")
    big = train_model(make_args(tmp_path / "big", per_device_train_batch_size=8, **common), dataset)
    accumulated = train_model(
        make_args(tmp_path / "acc", per_device_train_batch_size=4, gradient_accumulation_steps=2, **common), dataset
    )
    assert logged_objectives(accumulated) == ["all_exits", "final_exit"]
    for (name, expected), actual in zip(big.model.named_parameters(), accumulated.model.parameters(), strict=True):
        torch.testing.assert_close(actual, expected, atol=1e-6, rtol=1e-5, msg=name)


def test_resuming_continues_the_same_objective_sequence(tmp_path):
    dataset = random_dataset(32)
    uninterrupted = train_model(make_args(tmp_path / "a", max_steps=6), dataset)
    # An interrupted run: its checkpoints at steps 3 and 6; then resume from step 3.
    interrupted = make_args(tmp_path / "b", max_steps=6, save_strategy="steps", save_steps=3)
    train_model(interrupted, dataset)
    resumed = train_model(
        make_args(tmp_path / "b", max_steps=6, resume_from_checkpoint=str(tmp_path / "b" / "checkpoint-3")), dataset
    )
    # The resumed log holds steps 1-3 from the checkpoint, then steps 4-6.
    assert logged_objectives(resumed) == logged_objectives(uninterrupted) == ["all_exits", "final_exit"] * 3
    for (name, expected), actual in zip(
        uninterrupted.model.named_parameters(), resumed.model.parameters(), strict=True
    ):
        torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4, msg=name)


def test_the_arguments_recipe_reaches_every_step(tmp_path):
    # The defaults: the paper's recipe with the final exit distilled into the early ones, gradient equilibrium, and
    # a head that learns (in itself) whether each exit answers as the final one, refitted on a held-out tenth.
    defaults = BerxitTrainingArguments(output_dir=str(tmp_path))
    assert defaults.objective("all_exits") == BerxitObjective(
        certainty_target="agreement",
        certainty_gradient="head",
        distillation_weight=1.0,
        distillation_temperature=2.0,
        gradient_equilibrium=True,
    )
    assert defaults.certainty_holdout == 0.1
    assert BerxitTrainingArguments.paper_recipe() == {**BerxitObjective().settings(), "certainty_holdout": 0.0}
    default = recipe_settings(DEFAULT_RECIPE)  # berxit's defaults are the recipe of that name, in full
    assert default.pop("certainty_inputs") == BerxitConfig(backbone_config={"model_type": "bert"}).certainty_inputs
    assert defaults.recipe() == default
    changes = dict(certainty_target="agreement", certainty_loss="bce", gradient_equilibrium=False)
    args = make_args(tmp_path, distillation_weight=0.5, **changes)
    assert args.objective("final_exit") == BerxitObjective(
        "final_exit",
        certainty_target="agreement",
        certainty_loss="bce",
        certainty_gradient="head",
        distillation_weight=0.5,
        distillation_temperature=2.0,
    )
    trainer = train_model(args, random_dataset(16))
    logged = [entry for entry in trainer.state.log_history if "loss_certainty" in entry]
    # Distillation is logged on the steps that train early exits (alternating's all-exits steps).
    assert ["loss_distillation" in entry for entry in logged] == [True, False, True, False]
    with pytest.raises(ValueError, match="certainty_gradient: expected one of"):
        make_args(tmp_path, certainty_gradient="everywhere")


def test_a_held_out_share_stays_out_of_training_and_the_head_is_fitted_on_it(tmp_path):
    dataset = random_dataset(40, num_labels=2)
    args = make_args(tmp_path, certainty_holdout=0.25, learning_rate=1e-4, max_steps=8)
    model = tiny_model(cls=BerxitForSequenceClassification, num_labels=2).train()
    trainer = BerxitTrainer(model=model, args=args, train_dataset=dataset)
    held_out = {tuple(row["input_ids"].tolist()) for row in trainer.certainty_dataset}
    trained = {tuple(row["input_ids"].tolist()) for row in trainer.train_dataset}
    assert len(held_out) == 10 and len(trained) == 30 and not held_out & trained
    other_seed = BerxitTrainer(
        model=model, args=make_args(tmp_path, certainty_holdout=0.25, seed=1), train_dataset=dataset
    )
    assert {tuple(row["input_ids"].tolist()) for row in other_seed.certainty_dataset} == held_out
    batches = []  # what the model read in training mode (the fit runs in eval mode)
    hook = model.register_forward_pre_hook(
        lambda module, args, kwargs: batches.append(kwargs["input_ids"]) if module.training else None,
        with_kwargs=True,
    )
    trainer.train()
    hook.remove()
    assert len(batches) == 8 and {tuple(ids.tolist()) for batch in batches for ids in batch} <= trained
    # The head is the logistic regression of each exit's certainty_target on the held-out examples.
    model.eval()
    features, record = record_certainty_features(model, DataLoader(trainer.certainty_dataset, batch_size=4))
    fit = fit_linear_head(features, certainty_targets(record.exit_logits, record.labels, False, args.certainty_target))
    classifier = model.base_model.certainty_head.classifier
    torch.testing.assert_close(classifier.weight[0].double(), fit.weight, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(torch.sigmoid(fit.logits(features)).float(), record.certainties, atol=1e-5, rtol=1e-4)
    logged = [entry for entry in trainer.state.log_history if "certainty_fit_examples" in entry]
    assert logged == [{**logged[0], "certainty_fit_examples": 10, "certainty_fit_strength": fit.strength}]


def test_the_certainty_fit_leaves_a_head_with_nothing_to_learn_as_it_is(tmp_path):
    model = tiny_model(cls=BerxitForSequenceClassification, num_labels=2)
    with torch.no_grad():
        for exit_ in model.base_model.exits:  # every exit answers class 0, so each agrees with the final one
            exit_.classifier.weight.zero_()
            exit_.classifier.bias.copy_(torch.tensor([1.0, 0.0]))
    before = model.base_model.certainty_head.classifier.weight.clone()
    trainer = BerxitTrainer(model=model, args=make_args(tmp_path, certainty_target="agreement"))
    assert trainer.fit_certainty_head(random_dataset(6, num_labels=2)) == {"certainty_fit_examples": 6}
    torch.testing.assert_close(model.base_model.certainty_head.classifier.weight, before)


def test_bad_training_setups_are_named(tmp_path):
    with pytest.raises(ValueError, match="exit_strategy: expected one of"):
        make_args(tmp_path, exit_strategy="cyclic")
    with pytest.raises(ValueError, match="ddp_find_unused_parameters"):
        make_args(tmp_path, ddp_find_unused_parameters=False)
    for share in (-0.1, 1.0, True, "half"):
        with pytest.raises(ValueError, match="certainty_holdout: expected a share of the training examples"):
            make_args(tmp_path, certainty_holdout=share)
    with pytest.raises(ValueError, match="certainty_holdout: 0.1 of 8 training examples holds out 1"):
        BerxitTrainer(
            model=tiny_model(cls=BerxitForSequenceClassification),
            args=make_args(tmp_path, certainty_holdout=0.1),
            train_dataset=random_dataset(8),
        )

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(random_dataset(8))

    stream = Stream()
    with pytest.raises(ValueError, match="certainty_holdout: needs a train_dataset of known length, got a Stream"):
        BerxitTrainer(
            model=tiny_model(cls=BerxitForSequenceClassification),
            args=make_args(tmp_path, certainty_holdout=0.1),
            train_dataset=stream,
        )
    with pytest.raises(TypeError, match="model: BerxitTrainer needs a berxit model"):
        BerxitTrainer(model=torch.nn.Linear(2, 2), args=make_args(tmp_path))
    with pytest.raises(ValueError, match="even number of optimizer steps"):
        train_model(make_args(tmp_path, exit_strategy="two_stage", max_steps=3), random_dataset(16))
    unlabelled = [{k: v for k, v in row.items() if k != "labels"} for row in random_dataset(8)]
    with pytest.raises(ValueError, match="labels: the batch has no 'labels'"):
        train_model(make_args(tmp_path), unlabelled)


def test_metrics_report_every_exit_certainty_and_the_operating_point():
    model = tiny_model(num_labels=2)
    config = model.config
    # Two layers' worth of hand-made predictions for four examples (labels 0, 1, 1, 0).
    exit_logits = np.zeros((4, 4, 2), dtype=np.float32)
    exit_logits[:, :, 1] = [[1, 1, 1, -1], [1, 1, 1, 1], [-1, 1, 1, 1], [1, -1, -1, -1]]
    certainties = np.array([[0.9, 0.1, 0.1, 0.1], [0.2, 0.9, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.9, 0.1, 0.1]])
    labels = np.array([0, 1, 1, 0])
    prediction = EvalPrediction(predictions=(exit_logits[:, -1], exit_logits, certainties), label_ids=labels)
    metrics = BerxitMetrics(config, threshold=0.5)(prediction)
    assert metrics["exit_1_accuracy"] == 0.25 and metrics["exit_4_accuracy"] == 1.0
    correct_1 = np.array([0, 1, 0, 0])
    assert metrics["exit_1_certainty_brier"] == pytest.approx(float(((certainties[:, 0] - correct_1) ** 2).mean()))
    assert 0 <= metrics["certainty_auc"] <= 1 and "exit_2_f1" in metrics
    # Exit 1's one right answer (certainty 0.2) ranks above two of its three wrong ones; its softmax ties them all.
    assert metrics["exit_1_certainty_auroc"] == pytest.approx(2 / 3) and metrics["exit_1_softmax_auroc"] == 0.5
    # Exits at layers 1, 2, 4, 2: answers wrong, right, right, right.
    assert metrics["avg_exit_layer"] == pytest.approx(9 / 4)
    assert metrics["saved_layers"] == pytest.approx(1 - 9 / 16)
    assert metrics["early_exit_accuracy"] == 0.75
    assert "avg_exit_layer" not in BerxitMetrics(config)(prediction)  # no operating point, no early-exit figures
    assert BerxitMetrics(config, threshold=0.0)(prediction)["avg_exit_layer"] == 1.0  # τ = 0 is an operating point
    with pytest.raises(ValueError, match="threshold"):
        BerxitMetrics(config, threshold=2.0)
    # Four examples certify no risk of 1 point; any risk at all is certified, and the most eager setting wins.
    assert metrics["certified_certainty_saved_layers"] == 0.0 and metrics["certified_patience_saved_layers"] == 0.0
    anything = BerxitMetrics(config, max_drop=100)(prediction)
    assert anything["certified_certainty_saved_layers"] == pytest.approx(1 - 1 / 4)  # everyone leaves at layer 1
    with pytest.raises(ValueError, match="confidence: expected a probability"):
        BerxitMetrics(config, confidence=1.0)


def test_regression_metrics(tmp_path):
    model = tiny_model(num_labels=1)
    exit_logits = np.random.default_rng(0).normal(size=(6, 4, 1)).astype(np.float32)
    certainties = np.random.default_rng(1).uniform(size=(6, 4))
    labels = np.random.default_rng(2).normal(size=6).astype(np.float32)
    prediction = EvalPrediction(predictions=(exit_logits[:, -1], exit_logits, certainties), label_ids=labels)
    metrics = BerxitMetrics(model.config, threshold=0.5)(prediction)
    assert {"exit_1_pearson", "exit_4_spearman", "certainty_spearman", "early_exit_pearson", "saved_layers"} <= set(
        metrics
    )


def test_evaluate_runs_through_trainer_logging(tmp_path):
    dataset = random_dataset(12)
    model = tiny_model(cls=BerxitForSequenceClassification, exit_threshold=0.5)
    # The default held-out share needs no train_dataset: a trainer made to evaluate holds nothing out.
    args = BerxitTrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=5, report_to="none")
    trainer = BerxitTrainer(model=model, args=args, eval_dataset=dataset, compute_metrics=BerxitMetrics(model.config))
    assert trainer.certainty_dataset is None
    metrics = trainer.evaluate()
    assert {"eval_loss", "eval_exit_1_accuracy", "eval_early_exit_accuracy", "eval_saved_layers"} <= set(metrics)
    assert json.dumps(trainer.state.log_history)  # everything logged is plain numbers
