"""berxit-loadtest: berxit-serve under load against the same server serving the plain model (every layer), both on
the export's graphs, on loopback.

    berxit-loadtest --model_dir runs/rotten_tomatoes --export_dir runs/rotten_tomatoes-export \\
        --output_dir docs/benchmark/serving

Both servers run side by side with the same batching (`--rule none` makes the plain one: the same engine, every
input through every layer: TEI's dynamic batching, on berxit's layer graphs), and every measurement alternates
between them. In turn: one request at a time (latency); a closed loop of clients (the capacity each keeps up);
open-loop Poisson arrivals of single test texts at `--rates` times the plain server's capacity, each step bounded
by `--step_seconds`; and 64 concurrent clients over the whole test split, whose answers must equal `predict`'s on
the same graphs. Writes `loadtest.{json,md}` and `latency_vs_rate.png` into `--output_dir`.
"""

from __future__ import annotations

import json
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from ...artifacts.atomic_files import check_writable, write_text_atomic
from ...data.tokenizer import load_tokenizer
from ...onnx_runtime.runner import OnnxBerxitModel
from ...reporting.tables import markdown_table
from ...scripts.arguments import command, parse_arguments, run_data
from ...serving.predictions import predict
from ..benchmarking.load_test import LoadStep, closed_loop, one_at_a_time, open_loop
from ..benchmarking.server_process import ServerProcess, berxit_serve

SERVERS = ("plain", "berxit")


@dataclass
class LoadTestArguments:
    model_dir: str = field(metadata={"help": "The run the export was made from (its data names the test split)."})
    export_dir: str = field(metadata={"help": "Its export, made with berxit-export --onnx --quantize int8."})
    output_dir: str = field(default="docs/benchmark/serving", metadata={"help": "Where the results go."})
    quantized: bool = field(default=True, metadata={"help": "Serve the int8 graphs (else the fp32 ones)."})
    max_batch_size: int = field(default=32, metadata={"help": "Both servers' rows per layer call."})
    max_batch_delay_ms: float = field(default=20.0, metadata={"help": "Both servers' batching delay."})
    rates: str = field(
        default="0.1,0.25,0.5,0.75,1.0,1.25,1.5",
        metadata={"help": "Arrival rates, as fractions of the plain server's capacity."},
    )
    step_seconds: float = field(default=10.0, metadata={"help": "How long each rate's step sends."})
    single_requests: int = field(default=300, metadata={"help": "Requests one at a time, per server."})
    capacity_clients: int = field(default=32, metadata={"help": "Clients of the closed loop that measures capacity."})
    slo_ms: float = field(default=100.0, metadata={"help": "The p99 latency a rate must keep to count as held."})

    def __post_init__(self):
        try:
            self.rate_list = [float(rate) for rate in self.rates.split(",")]
        except ValueError:
            raise ValueError(f"rates: expected comma-separated numbers, got {self.rates!r}.") from None
        if not self.rate_list or min(self.rate_list) <= 0:
            raise ValueError(f"rates: expected fractions > 0, got {self.rates!r}.")
        if self.step_seconds <= 0 or self.single_requests < 1 or self.capacity_clients < 1:
            raise ValueError("step_seconds, single_requests and capacity_clients: expected positive values.")


def held(steps: list[LoadStep], slo_ms: float) -> float:
    """The highest offered rate answered whole (nothing rejected or failed) with p99 within the SLO (0: none)."""
    good = [step.offered_per_s for step in steps if step.p99_ms <= slo_ms and not step.rejected and not step.errors]
    return max(good, default=0.0)


def concurrent_check(server: ServerProcess, texts: list[str], passes: int = 2) -> dict:
    """64 clients over every text, 1 to 8 a request, `passes` times: each text's best label (of the last pass), the
    statuses seen, and the server's memory before and after each pass (flat once its buffers have grown)."""
    memory, statuses = [server.memory_mb()[0]], set()
    for _ in range(passes):
        answers, seen = concurrent_pass(server, texts)
        memory.append(server.memory_mb()[0])
        statuses |= seen
    return {"texts": len(texts), "answers": answers, "statuses": sorted(statuses), "rss_mb": memory}


def concurrent_pass(server: ServerProcess, texts: list[str]) -> tuple[list[dict | None], set[int]]:
    generator, chunks, start = random.Random(1), [], 0
    while start < len(texts):
        size = generator.randint(1, 8)
        chunks.append((start, texts[start : start + size]))
        start += size

    def ask(chunk):
        begin, batch = chunk
        response = requests.post(f"{server.url}/predict", json={"inputs": batch, "truncate": True}, timeout=300)
        return begin, response.status_code, response.json() if response.status_code == 200 else []

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(ask, chunks))
    answers = {begin + offset: labels[0] for begin, _, body in results for offset, labels in enumerate(body)}
    return [answers.get(k) for k in range(len(texts))], {status for _, status, _ in results}


@command("berxit-loadtest")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(LoadTestArguments, argv, "berxit-loadtest")
    output_dir = check_writable(Path(args.output_dir), "output_dir")
    _, data_args, task = run_data(Path(args.model_dir))
    texts = list(task.splits["test"]["text"])
    random.Random(0).shuffle(texts)
    options = ["--runtime", "onnxruntime", *(["--quantized"] if args.quantized else [])]
    options += ["--max_batch_size", str(args.max_batch_size), "--max_batch_delay_ms", str(args.max_batch_delay_ms)]
    options += ["--max_input_length", str(data_args.max_length)]
    report: dict = {"arguments": {k: v for k, v in vars(args).items() if k != "rate_list"}, "texts": len(texts)}
    with (
        berxit_serve(args.export_dir, *options, "--rule", "none") as plain,
        berxit_serve(args.export_dir, *options) as berxit,
    ):
        servers = {"plain": plain, "berxit": berxit}
        for name, server in servers.items():  # warm-up
            one_at_a_time(name, server.url, texts, 50)
        single = [one_at_a_time(name, servers[name].url, texts, args.single_requests) for name in SERVERS]
        capacity = [
            closed_loop(name, servers[name].url, texts, clients=args.capacity_clients, seconds=args.step_seconds)
            for name in SERVERS
        ]
        plain_capacity = capacity[0].answered_per_s
        steps = []
        for position, fraction in enumerate(args.rate_list):
            rate = fraction * plain_capacity
            order = SERVERS if position % 2 == 0 else SERVERS[::-1]
            for name in order:
                steps.append(
                    open_loop(
                        name,
                        servers[name].url,
                        texts,
                        rate=rate,
                        seconds=args.step_seconds,
                        max_requests=int(rate * args.step_seconds * 3) + 10,
                        seed=position,
                    )
                )
        memory = {name: server.memory_mb() for name, server in servers.items()}
        checks = {"int8" if args.quantized else "fp32": concurrent_check(berxit, texts)}
    if args.quantized:
        # int8 quantizes each layer's activations with one scale computed on the whole call, so an int8 answer
        # depends on which rows share its call; the fp32 graphs answer each text as it would alone.
        with berxit_serve(args.export_dir, *(option for option in options if option != "--quantized")) as fp32:
            checks["fp32"] = concurrent_check(fp32, texts)
    tokenizer = load_tokenizer(args.export_dir, "export_dir")
    for graphs, check in checks.items():
        expected = predict(
            OnnxBerxitModel(args.export_dir, quantized=graphs == "int8"),
            tokenizer,
            texts,
            max_length=data_args.max_length,
            batch_size=args.max_batch_size,
            show_progress=False,
        )
        served = check.pop("answers")
        check["equal_to_predict"] = sum(
            got is not None and got["label"] == want["label"] and got["exit_layer"] == want["exit_layer"]
            for got, want in zip(served, expected, strict=True)
        )
    by_server = {name: [step for step in steps if step.server == name] for name in SERVERS}
    held_rates = {name: held(by_server[name], args.slo_ms) for name in SERVERS}
    report.update(
        single=[asdict(step) for step in single],
        capacity=[asdict(step) for step in capacity],
        steps=[asdict(step) for step in steps],
        held_per_s=held_rates,
        concurrent=checks,
        memory={name: dict(zip(("rss_mb", "peak_rss_mb"), values, strict=True)) for name, values in memory.items()},
        ratios={
            "single_p50": single[1].p50_ms / single[0].p50_ms,
            "single_p99": single[1].p99_ms / single[0].p99_ms,
            "capacity": capacity[1].answered_per_s / capacity[0].answered_per_s,
            "held": held_rates["berxit"] / held_rates["plain"] if held_rates["plain"] else None,
        },
    )
    write_text_atomic(output_dir / "loadtest.json", json.dumps(report, indent=2))
    table = render(report, args)
    write_text_atomic(output_dir / "loadtest.md", table)
    plot(by_server, args.slo_ms, output_dir / "latency_vs_rate.png")
    print(table)


def render(report: dict, args: LoadTestArguments) -> str:
    single = {step["server"]: step for step in report["single"]}
    capacity = {step["server"]: step["answered_per_s"] for step in report["capacity"]}

    def row(measure: str, values: dict[str, float]) -> dict:
        ratio = values["berxit"] / values["plain"] if values["plain"] else None
        return {"measure": measure, **{name: values[name] for name in SERVERS}, "berxit / plain": ratio}

    rows = [
        row("one request at a time: p50 ms", {name: single[name]["p50_ms"] for name in SERVERS}),
        row("one request at a time: p99 ms", {name: single[name]["p99_ms"] for name in SERVERS}),
        row("closed-loop capacity: answers/s", capacity),
        row(f"highest rate held with p99 <= {args.slo_ms:g} ms: requests/s", report["held_per_s"]),
    ]
    steps = [
        {
            "server": step["server"],
            "offered/s": f"{step['offered_per_s']:.0f}",
            "answered/s": f"{step['answered_per_s']:.0f}",
            "p50 ms": f"{step['p50_ms']:.1f}",
            "p90 ms": f"{step['p90_ms']:.1f}",
            "p99 ms": f"{step['p99_ms']:.1f}",
            "429": step["rejected"],
            "errors": step["errors"],
        }
        for step in sorted(report["steps"], key=lambda step: (step["offered_per_s"], step["server"]))
    ]
    graphs = "int8" if args.quantized else "fp32"
    return (
        f"# berxit-serve under load ({report['texts']} test texts, one a request; max_batch_size "
        f"{args.max_batch_size}, max_batch_delay_ms {args.max_batch_delay_ms:g}; {graphs} on ONNX Runtime)\n\n"
        f"{markdown_table(rows, digits=2)}\n"
        f"{concurrent_lines(report['concurrent'])}\n\n"
        f"## Open-loop steps\n\n{markdown_table(steps)}"
    )


def concurrent_lines(concurrent: dict) -> str:
    lines = []
    for graphs, check in concurrent.items():
        lines.append(
            f"- 64 concurrent clients over the test split, {graphs} graphs: {check['equal_to_predict']} of "
            f"{check['texts']} answers equal to `predict`'s (label and exit layer); statuses {check['statuses']}; "
            f"RSS before and after each of {len(check['rss_mb']) - 1} passes: "
            f"{', '.join(f'{value:.0f}' for value in check['rss_mb'])} MB."
        )
    if "int8" in concurrent:
        lines.append(
            "- int8 quantizes each layer's activations with one scale computed on the whole call, so an int8 answer "
            "depends on which rows share its layer call (`predict` itself answers some texts otherwise at batch 1 "
            "than at 32); on the fp32 graphs each answer is the text's alone."
        )
    return "\n".join(lines)


def plot(by_server: dict[str, list[LoadStep]], slo_ms: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.5, 4))
    for name, steps in by_server.items():
        rates = [step.offered_per_s for step in steps]
        (line,) = axes.plot(rates, [step.p99_ms for step in steps], marker="o", label=f"{name} p99")
        axes.plot(
            rates,
            [step.p50_ms for step in steps],
            marker=".",
            linestyle="--",
            color=line.get_color(),
            label=f"{name} p50",
        )
    axes.axhline(slo_ms, color="grey", linewidth=0.8, linestyle=":", label=f"SLO {slo_ms:.0f} ms")
    axes.set_xlabel("offered load (requests/s, one text each)")
    axes.set_ylabel("latency (ms)")
    axes.set_yscale("log")
    axes.legend(fontsize=8)
    axes.set_title("berxit-serve against the same server without early exit")
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp, dpi=120)
    plt.close(figure)
    tmp.replace(path)


if __name__ == "__main__":
    main(sys.argv[1:])
