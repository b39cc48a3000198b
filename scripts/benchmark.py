"""berxit-benchmark: how much faster batched early exit really is (a benchmark, not a test).

    berxit-benchmark --model_dir runs/rotten_tomatoes --output_dir docs/benchmark

In one process, with every variant's runs interleaved (repeat -> batch size -> variant) and medians reported:
  (a) `plain`: transformers' BertForSequenceClassification with the same weights (the final exit);
  (b) `no_exit`: `early_exit_forward` with a threshold nobody meets, the cost of our machinery;
  (c) `exit_25` / `exit_50` / `exit_75`: `early_exit_forward` at thresholds that save about 25/50/75% of layers.
At batch size 1, (c) is the one-example-at-a-time loop that earlier implementations run.

Models: the given fine-tuned checkpoint (default: the packaged MiniLM with fresh exits), and a BERT-base-sized
random model (12 layers, hidden 768) whose exits are driven to chosen layers by per-layer thresholds. Inputs are
Rotten Tomatoes reviews packed into exactly `sequence_length` tokens (no padding), plus one padded set that shows
what trimming padding buys. Also measured: seconds per training step of alternating fine-tuning against plain
fine-tuning of the same backbone.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)
from transformers.utils.logging import tqdm

from ..configuration_berxit import BerxitConfig
from ..modeling_berxit import BerxitForSequenceClassification
from ..modeling_berxit.exit_rules import CertaintyRule, replay_exit_layers
from ..trainer import BerxitTrainer, BerxitTrainingArguments
from .arguments import command, parse_arguments
from .data import packaged_backbone_dir, rotten_tomatoes, tokenize
from .files import check_writable, write_text_atomic
from .reports import markdown_table

SAVINGS = {"exit_25": 0.25, "exit_50": 0.50, "exit_75": 0.75}


@dataclass
class BenchmarkArguments:
    output_dir: str = field(default="docs/benchmark", metadata={"help": "Where benchmark.{json,md} go."})
    model_dir: str | None = field(
        default=None, metadata={"help": "A fine-tuned berxit checkpoint (default: packaged MiniLM, fresh exits)."}
    )
    models: str = field(default="checkpoint,bert-base", metadata={"help": "Comma-separated: checkpoint, bert-base."})
    batch_sizes: str = field(default="1,8,32,128", metadata={"help": "Comma-separated batch sizes."})
    sequence_lengths: str = field(default="64,128", metadata={"help": "Comma-separated sequence lengths."})
    examples: int = field(default=128, metadata={"help": "Examples per timed run (at least each batch size)."})
    repeats: int = field(default=3, metadata={"help": "Timed runs of each variant; medians are reported."})
    train_steps: int = field(default=20, metadata={"help": "Steps per training-cost run (0 skips it)."})
    threads: int | None = field(default=None, metadata={"help": "torch threads (default: torch's choice)."})

    def __post_init__(self):
        self.batch_size_list = positive_ints(self.batch_sizes, "batch_sizes")
        self.sequence_length_list = positive_ints(self.sequence_lengths, "sequence_lengths")
        self.model_list = self.models.split(",")
        unknown = set(self.model_list) - {"checkpoint", "bert-base"}
        if unknown:
            raise ValueError(f"models: expected 'checkpoint' and/or 'bert-base', got {sorted(unknown)}.")
        if self.examples < max(self.batch_size_list):
            raise ValueError(f"examples: needs at least the largest batch size ({max(self.batch_size_list)}).")
        if self.repeats < 1:
            raise ValueError(f"repeats: expected at least 1, got {self.repeats}.")


def positive_ints(text: str, argument: str) -> list[int]:
    """A comma-separated list of whole numbers >= 1, or an error naming `argument`."""
    values = [value.strip() for value in text.split(",")]
    if not all(value.isdigit() and int(value) >= 1 for value in values):
        raise ValueError(f"{argument}: expected comma-separated whole numbers >= 1, got {text!r}.")
    return [int(value) for value in values]


def packed_inputs(tokenizer, texts: list[str], count: int, length: int) -> dict[str, torch.Tensor]:
    """`count` rows of exactly `length` tokens: [CLS] + consecutive reviews' tokens + [SEP]."""
    stream = [token for text in texts for token in tokenizer(text, add_special_tokens=False)["input_ids"]]
    body = length - 2
    if len(stream) < count * body:
        raise ValueError(f"examples: not enough review text for {count} rows of {length} tokens.")
    rows = [[tokenizer.cls_token_id, *stream[i * body : (i + 1) * body], tokenizer.sep_token_id] for i in range(count)]
    input_ids = torch.tensor(rows)
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}


def plain_twin(model) -> BertForSequenceClassification:
    """transformers' own BertForSequenceClassification with our backbone and final exit's weights."""
    base = model.base_model
    if base.config.backbone_config.model_type != "bert":
        raise ValueError("model_dir: the plain-forward comparison is built for BERT backbones.")
    config = BertConfig(**base.config.backbone_config.to_dict(), num_labels=base.config.num_labels)
    twin = BertForSequenceClassification(config).eval()
    missing, unexpected = twin.bert.load_state_dict(base.backbone.state_dict(), strict=False)
    assert not unexpected and all(key.startswith("pooler.") for key in missing)
    twin.bert.pooler.load_state_dict(base.exits[-1].pooler.state_dict())
    twin.classifier.load_state_dict(base.exits[-1].classifier.state_dict())
    return twin


@torch.no_grad()
def record_certainties(model, inputs, batch_size: int = 32) -> torch.Tensor:
    chunks = []
    for start in range(0, len(inputs["input_ids"]), batch_size):
        batch = {name: value[start : start + batch_size] for name, value in inputs.items()}
        chunks.append(model(**batch).certainties)
    return torch.cat(chunks)


def scalar_threshold(certainties: torch.Tensor, saving: float) -> float:
    """The single threshold whose replayed exits come closest to saving `saving` of the layers."""
    num_layers = certainties.shape[1]
    dummy_logits = torch.zeros(*certainties.shape, 2)
    best, best_gap = 1.0, float("inf")
    for step in range(1001):
        threshold = step / 1000
        layers = replay_exit_layers(CertaintyRule([threshold] * (num_layers - 1)), dummy_logits, certainties)
        gap = abs(1 - layers.float().mean().item() / num_layers - saving)
        if gap < best_gap:
            best, best_gap = threshold, gap
    return best


def driven_thresholds(certainties: torch.Tensor, saving: float) -> list[float]:
    """Per-layer thresholds that spread the exits evenly over five layers centred on `(1 - saving) * L`."""
    count, num_layers = certainties.shape
    centre = round((1 - saving) * num_layers)
    width = min(2, centre - 1, num_layers - centre)
    targets = list(range(centre - width, centre + width + 1))
    per_layer = {layer: count // len(targets) + (i < count % len(targets)) for i, layer in enumerate(targets)}
    active = torch.ones(count, dtype=torch.bool)
    thresholds = []
    for layer in range(1, num_layers):
        leaving = per_layer.get(layer, 0)
        values = certainties[active, layer - 1].sort(descending=True).values
        if leaving == 0:
            threshold = 1.0
        elif leaving >= len(values):
            threshold = 0.0
        else:  # between the `leaving`-th highest and the next: exactly `leaving` examples reach it
            threshold = float((values[leaving - 1] + values[leaving]) / 2)
        thresholds.append(threshold)
        active &= ~(certainties[:, layer - 1] >= threshold)
    return thresholds


def timed_run(call, inputs, batch_size: int) -> tuple[float, list]:
    """Runs `call` over `inputs` in batches; returns the wall time and the outputs."""
    start = time.perf_counter()
    with torch.no_grad():
        outputs = [
            call({name: value[i : i + batch_size] for name, value in inputs.items()})
            for i in range(0, len(inputs["input_ids"]), batch_size)
        ]
    return time.perf_counter() - start, outputs


def measure(model, twin, inputs, thresholds: dict[str, object], args) -> list[dict]:
    """Interleaved timed runs of every variant at every batch size; one row per batch size and variant."""
    num_layers = model.config.num_hidden_layers

    def early_exit(threshold):
        return lambda batch: model.early_exit_forward(**batch, threshold=threshold).exit_layers

    calls = {"plain": lambda batch: twin(**batch).logits, "no_exit": early_exit(1.0)}
    calls.update({variant: early_exit(threshold) for variant, threshold in thresholds.items()})
    times = {(batch_size, variant): [] for batch_size in args.batch_size_list for variant in calls}
    exit_layers = {"plain": torch.full((len(inputs["input_ids"]),), num_layers)}
    for _ in tqdm(range(args.repeats), desc="Timing repeats", unit="repeat"):
        for batch_size in args.batch_size_list:
            for variant, call in calls.items():
                seconds, outputs = timed_run(call, inputs, batch_size)
                times[(batch_size, variant)].append(seconds)
                if variant != "plain":
                    exit_layers[variant] = torch.cat(outputs)
    rows = []
    for batch_size in args.batch_size_list:
        plain = statistics.median(times[(batch_size, "plain")])
        for variant in calls:
            median = statistics.median(times[(batch_size, variant)])
            mean_layer = exit_layers[variant].float().mean().item()
            ideal = num_layers / mean_layer
            rows.append(
                {
                    "batch_size": batch_size,
                    "variant": variant,
                    "median_s": median,
                    "examples_per_s": len(inputs["input_ids"]) / median,
                    "avg_exit_layer": mean_layer,
                    "realised_speedup": plain / median,
                    "ideal_speedup": ideal,
                    "realised_over_ideal": plain / median / ideal,
                }
            )
    return rows


def padding_gain(model, twin, tokenizer, texts: list[str], length: int, args) -> dict:
    """Real reviews padded to `length`, batch 32: plain runs the padding, `no_exit` trims it away."""
    encoded = tokenizer(texts[: args.examples], padding="max_length", truncation=True, max_length=length)
    inputs = {name: torch.tensor(encoded[name]) for name in ("input_ids", "attention_mask")}
    calls = {
        "plain": lambda batch: twin(**batch).logits,
        "no_exit": lambda batch: model.early_exit_forward(**batch, threshold=1.0).logits,
    }
    times = {variant: [] for variant in calls}
    for _ in range(args.repeats):
        for variant, call in calls.items():
            times[variant].append(timed_run(call, inputs, 32)[0])
    plain, trimmed = statistics.median(times["plain"]), statistics.median(times["no_exit"])
    real_tokens = inputs["attention_mask"].sum().item() / inputs["attention_mask"].numel()
    return {"plain_s": plain, "no_exit_trimmed_s": trimmed, "speedup": plain / trimmed, "real_token_share": real_tokens}


def load_models(args) -> dict[str, BerxitForSequenceClassification]:
    models = {}
    if "checkpoint" in args.model_list:
        if args.model_dir:
            model = BerxitForSequenceClassification.from_pretrained(args.model_dir)
        else:
            model = BerxitForSequenceClassification.from_pretrained_backbone(packaged_backbone_dir(), num_labels=2)
        models["checkpoint"] = model
    if "bert-base" in args.model_list:
        torch.manual_seed(0)
        model = BerxitForSequenceClassification(BerxitConfig(backbone_config=BertConfig().to_dict(), num_labels=2))
        with torch.no_grad():  # spread the random certainties so that thresholds can place exits
            model.base_model.certainty_head.classifier.weight.mul_(10.0)
        models["bert-base"] = model
    for model in models.values():
        model.eval().config.exit_threshold = None  # forward must run every layer when recording
    return models


def training_cost(args, tokenizer) -> dict:
    """Seconds per optimizer step: alternating fine-tuning against plain fine-tuning of the same backbone."""
    data = rotten_tomatoes().splits
    train = tokenize(data.__class__({"train": data["train"].select(range(16 * args.train_steps))}), tokenizer, 64)
    common = dict(
        per_device_train_batch_size=16,
        max_steps=args.train_steps,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        seed=42,
        use_cpu=True,
        dataloader_pin_memory=False,
    )
    seconds = {"plain": [], "alternating": []}
    for _ in range(args.repeats):
        for kind in seconds:
            if kind == "plain":
                model = BertForSequenceClassification.from_pretrained(packaged_backbone_dir(), num_labels=2)
                trainer_cls, training_args = Trainer, TrainingArguments(output_dir="/tmp/berxit-bench", **common)
            else:
                model = BerxitForSequenceClassification.from_pretrained_backbone(packaged_backbone_dir(), num_labels=2)
                trainer_cls, training_args = (
                    BerxitTrainer,
                    BerxitTrainingArguments(output_dir="/tmp/berxit-bench", **common),
                )
            trainer = trainer_cls(
                model=model,
                args=training_args,
                train_dataset=train["train"],
                data_collator=DataCollatorWithPadding(tokenizer),
            )
            output = trainer.train()
            seconds[kind].append(output.metrics["train_runtime"] / args.train_steps)
    plain, alternating = statistics.median(seconds["plain"]), statistics.median(seconds["alternating"])
    return {"plain_s_per_step": plain, "alternating_s_per_step": alternating, "ratio": alternating / plain}


@command("berxit-benchmark")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(BenchmarkArguments, argv, "berxit-benchmark")
    output_dir = check_writable(args.output_dir, "output_dir")
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir or packaged_backbone_dir())
    texts = rotten_tomatoes().splits["test"]["text"]
    report = {"arguments": {k: v for k, v in asdict(args).items() if not k.endswith("_list")}, "runs": []}
    report["torch_threads"] = torch.get_num_threads()
    for name, model in load_models(args).items():
        twin = plain_twin(model)
        for length in tqdm(args.sequence_length_list, desc=f"Benchmarking {name}", unit="length"):
            inputs = packed_inputs(tokenizer, texts, args.examples, length)
            reference = record_certainties(model, inputs)
            choose = scalar_threshold if name == "checkpoint" else driven_thresholds
            thresholds = {variant: choose(reference, saving) for variant, saving in SAVINGS.items()}
            with torch.no_grad():
                first = {key: value[:8] for key, value in inputs.items()}
                torch.testing.assert_close(twin(**first).logits, model(**first).logits, atol=1e-4, rtol=1e-4)
            rows = measure(model, twin, inputs, thresholds, args)
            run = {"model": name, "sequence_length": length, "thresholds": thresholds, "rows": rows}
            if name == "checkpoint":
                run["padded_batch_32"] = padding_gain(model, twin, tokenizer, texts, length, args)
            report["runs"].append(run)
            print(f"\n{name}, {length} tokens\n" + markdown_table(rows))
            write_text_atomic(output_dir / "benchmark.json", json.dumps(report, indent=2))
    if args.train_steps:
        report["training"] = training_cost(args, tokenizer)
        print(f"\ntraining: {report['training']}")
    write_text_atomic(output_dir / "benchmark.json", json.dumps(report, indent=2))
    write_text_atomic(output_dir / "benchmark.md", render(report))


def render(report: dict) -> str:
    lines = ["# Batched early exit: benchmark", "", f"torch threads: {report['torch_threads']}", ""]
    for run in report["runs"]:
        lines += [f"## {run['model']}, {run['sequence_length']} tokens", "", markdown_table(run["rows"])]
        if "padded_batch_32" in run:
            lines += ["Real reviews padded to this length, batch 32 (trimming padding):", ""]
            lines += [markdown_table([run["padded_batch_32"]])]
    if "training" in report:
        lines += ["## Training cost (seconds per optimizer step)", "", markdown_table([report["training"]])]
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
