"""The GLUE experiment, as data: what runs, with which hyper-parameters, and which targets and claims of the paper
are checked on the results. The runner (`berxit-experiments`) and the report (`docs/RESULTS.md`) both read it."""

from __future__ import annotations

TASKS = ("rte", "mrpc", "stsb", "sst2")
# Plain fine-tuning (transformers' BertForSequenceClassification, no exits: the reference) and the three exit
# strategies of `BerxitTrainingArguments.exit_strategy`.
VARIANTS = ("plain", "alternating", "joint", "two_stage")
RULES = ("certainty", "entropy", "patience")
# The rules the paper's claims compare: BERxiT's learned certainty (with alternating training) against DeeBERT's
# entropy (with two-stage training).
OUR_RULE, DEEBERT_RULE = "certainty", "entropy"

# The paper's hyper-parameters (SPEC §6), the same for every run.
HYPERPARAMETERS = {"learning_rate": 2e-5, "batch_size": 8, "epochs": 3.0, "max_length": 128, "seed": 42}
SST2_TRAIN_EXAMPLES = 8000  # SST-2 trains on this fixed subsample, to fit the grid on 2 CPU cores

# The recipes it can train by are the product's, by name (`berxit.trainer.recipes`); the GLUE grid reproduces the
# paper, so it trains "paper" unless told otherwise (`berxit-experiments --recipe NAME`).

MAX_DROP = 1.0  # points: the drop an operating point may cost (its harm, certified by Learn then Test)
CONFIDENCE = 0.9  # with which probability the operating point keeps MAX_DROP
MIN_SAVED = 0.40  # the share of layers the certainty rule with alternating training should save at that drop
FAST_TASKS = ("sst2", "stsb")  # where MIN_SAVED is the target
CURVE_CLAIM_TASKS = ("rte", "mrpc")  # where the paper says alternating has the best curve
HALF_LAYERS_TASK = "stsb"  # where the paper says about half the layers keep the baseline's correlation

# Each target and claim, as the report states it; `{verdict}` is filled with the tasks that meet and miss it.
CLAIMS = {
    "close": "- Target: alternating's final layer within {max_drop:g} point of plain fine-tuning on every task: "
    "{verdict}.",
    "fast": "- Target: the certainty rule with alternating training saves >= {min_saved:.0f}% of layers at a drop "
    "<= {max_drop:g} point on SST-2 and STS-B (its operating point's test metric against plain fine-tuning's): "
    "{verdict}.",
    "beats": "- Target: at equal drop it saves more than entropy with two-stage training (DeeBERT) on at least 3 of 4 "
    "tasks (on STS-B entropy cannot exit at all, so any saving wins): {verdict}.",
    "half": "- Paper's claim (SPEC §6): on STS-B, close to plain fine-tuning's correlation (within {max_drop:g} "
    "point) with about half the layers (>= {min_saved:.0f}% saved; certainty, alternating): {verdict}.",
    "curve": "- Paper's claim (SPEC §6): on RTE and MRPC alternating beats joint and two-stage on the accuracy-layers "
    "curve (highest certainty curve score): {verdict}.",
}


def run_file_name(strategy: str, seed: int) -> str:
    """A run's JSON name: `<strategy>.json` at the experiment's seed, `<strategy>.seed<N>.json` at another."""
    return f"{strategy}.json" if seed == HYPERPARAMETERS["seed"] else f"{strategy}.seed{seed}.json"


def record_file_name(strategy: str, seed: int, split: str) -> str:
    """The run's record of `split` (every exit's logits and certainty), beside its JSON."""
    return run_file_name(strategy, seed).removesuffix(".json") + f".record_{split}.npz"
