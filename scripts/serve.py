"""berxit-serve: a BERxiT model behind an HTTP endpoint, answering each input with as few layers as it needs.

    berxit-serve --model_dir runs/rotten_tomatoes-export --runtime onnxruntime --quantized --port 8080
    curl 127.0.0.1:8080/predict -H 'Content-Type: application/json' -d '{"inputs": "A gripping film."}'

It speaks TEI's `POST /predict` and the Inference API's `POST /` (so `huggingface_hub.InferenceClient(base_url=
"http://127.0.0.1:8080").text_classification(text)` works), with `GET /health`, `GET /info`, `GET /metrics`
(Prometheus) and OpenAPI docs at `/docs`. One engine batches every layer call across requests
(`berxit.server.engine`); `--rule none` serves the same model without early exit, the baseline to compare with.
It binds 127.0.0.1 unless `--host` says otherwise; SIGTERM or Ctrl-C stops taking requests, answers those in
flight, then exits. Needs `pip install berxit[serve]`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ..data.tokenizer import load_tokenizer
from ..exit_rules.rules import EXIT_RULES, NO_EARLY_EXIT
from ..serving.loading import RUNTIMES, load_for_serving
from .arguments import command, parse_arguments


@dataclass
class ServeArguments:
    model_dir: str = field(metadata={"help": "A berxit checkpoint: a folder (a run or an export) or a Hub model id."})
    runtime: str = field(
        default="pytorch",
        metadata={"help": "What runs the model: 'pytorch', or 'onnxruntime' for an export.", "choices": list(RUNTIMES)},
    )
    quantized: bool = field(default=False, metadata={"help": "With --runtime onnxruntime, serve the int8 graphs."})
    host: str = field(default="127.0.0.1", metadata={"help": "Address to bind (0.0.0.0: every interface)."})
    port: int = field(default=8080, metadata={"help": "Port to listen on."})
    max_batch_size: int = field(default=32, metadata={"help": "Rows per layer call."})
    max_batch_delay_ms: float = field(
        default=20.0,
        metadata={"help": "How long an input may be passed over for fuller batches before its layer runs first."},
    )
    max_queue: int = field(default=1024, metadata={"help": "Inputs waiting at most; past it requests get 429."})
    max_input_length: int | None = field(
        default=None, metadata={"help": "Tokens per input at most (default: the model's limit)."}
    )
    max_inputs_per_request: int = field(default=32, metadata={"help": "Inputs in one request at most."})
    api_key: str | None = field(
        default=None, metadata={"help": "Require 'Authorization: Bearer <api_key>' on every route but /health."}
    )
    rule: str | None = field(
        default=None,
        metadata={
            "help": "Exit rule (default: the saved operating point's); 'none' runs every layer (no early exit).",
            "choices": [*EXIT_RULES, NO_EARLY_EXIT],
        },
    )
    threshold: float | None = field(default=None, metadata={"help": "Threshold of the certainty or entropy rule."})
    patience: int | None = field(default=None, metadata={"help": "Patience of the patience rule."})
    graceful_shutdown_s: float = field(
        default=30.0, metadata={"help": "How long SIGTERM waits for requests in flight before closing them."}
    )
    log_level: str = field(default="info", metadata={"help": "uvicorn's log level."})

    def __post_init__(self):
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: expected a port number 0..65535, got {self.port}.")
        if self.graceful_shutdown_s < 0:
            raise ValueError(f"graceful_shutdown_s: expected seconds >= 0, got {self.graceful_shutdown_s}.")


@command("berxit-serve")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(ServeArguments, argv, "berxit-serve")
    try:
        import uvicorn

        from ..server import ServerSettings, create_app
    except ImportError as missing:
        raise ValueError(f"berxit-serve needs FastAPI and uvicorn ({missing}); pip install 'berxit[serve]'.") from None
    settings = ServerSettings(
        max_batch_size=args.max_batch_size,
        max_batch_delay_ms=args.max_batch_delay_ms,
        max_queue=args.max_queue,
        max_input_length=args.max_input_length,
        max_inputs_per_request=args.max_inputs_per_request,
        api_key=args.api_key,
        rule=args.rule,
        threshold=args.threshold,
        patience=args.patience,
    )
    tokenizer = load_tokenizer(args.model_dir, "model_dir")
    model = load_for_serving(args.model_dir, runtime=args.runtime, quantized=args.quantized)
    runtime = args.runtime + (" int8" if args.quantized else "")
    app = create_app(model, tokenizer, settings, model_id=args.model_dir, runtime=runtime)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=args.graceful_shutdown_s,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1:])
