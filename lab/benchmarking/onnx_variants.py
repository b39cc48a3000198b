"""The benchmark's ONNX Runtime variants: the family's plain classifier exported as one graph (`ort_plain`, what a
careful CPU user serves), berxit's layer graphs with a threshold nobody meets (`ort_no_exit`) and at the benchmark's
thresholds (`ort_exit_25/50/75`), the layer-queue scheduler on them (`ort_scheduler_50`), and the same with ONNX
Runtime's int8 quantisation (`ort_int8_...`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from ...onnx_runtime.export_graphs import OPSET, export_graph, export_onnx, quantize_graph, quantize_int8
from ...onnx_runtime.runner import OnnxBerxitModel, ServedConfig, open_session
from ...serving import LayerQueueScheduler
from .timing import SCHEDULED


def onnx_calls(model, twin, thresholds: dict[str, object], threads: int | None, inputs: dict) -> dict:
    """`{variant: call(batch) -> exit layers}` for every ONNX Runtime variant (batches are torch dicts on the CPU;
    a scheduler variant's call takes the list of every batch).

    The graphs live in a temporary folder for the process's life (the calls hold their sessions)."""
    folder = Path(tempfile.mkdtemp(prefix="berxit-onnx-benchmark-"))
    export_onnx(model, folder / "onnx")
    quantize_int8(folder / "onnx", folder / "onnx_int8")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in inputs]
    export_plain(twin, names, folder)
    config = ServedConfig.from_dict(model.config.to_dict())
    calls = {}
    for prefix, quantized, plain_file in (("ort", False, "plain.onnx"), ("ort_int8", True, "plain_int8.onnx")):
        plain = open_session(folder / plain_file, threads)
        served = OnnxBerxitModel(folder, threads=threads, quantized=quantized, config=config)
        calls[f"{prefix}_plain"] = _plain_call(plain, names, model.config.num_hidden_layers)
        calls[f"{prefix}_no_exit"] = _exit_call(served, 1.0)
        calls.update(
            {f"{prefix}_{variant}": _exit_call(served, threshold) for variant, threshold in thresholds.items()}
        )
        for variant, saving in SCHEDULED.items():
            calls[f"{prefix}_{variant}"] = _scheduled_call(served, thresholds[saving])
    return calls


def export_plain(twin, names: list[str], folder: Path) -> None:
    """The plain classifier `twin` as one ONNX graph taking `names` (`folder/plain.onnx`) and its int8 copy
    (`plain_int8.onnx`), quantised as berxit's layer graphs are."""
    example = {name: torch.ones(2, 8, dtype=torch.long) for name in names}
    export_graph(_Logits(twin.eval(), names), example, ["logits"], folder / "plain.onnx", OPSET)
    quantize_graph(folder / "plain.onnx", folder / "plain_int8.onnx")


class _Logits(torch.nn.Module):
    def __init__(self, twin, names: list[str]):
        super().__init__()
        self.twin, self.names = twin, names

    def forward(self, *inputs):
        return self.twin(**dict(zip(self.names, inputs, strict=True))).logits


def _plain_call(session, names: list[str], num_layers: int):
    def call(batch):
        session.run(None, {name: batch[name].numpy() for name in names})
        return torch.full((len(batch["input_ids"]),), num_layers)

    return call


def _scheduled_call(served: OnnxBerxitModel, threshold):
    def call(split):
        batches = [{name: batch[name].numpy() for name in ("input_ids", "attention_mask")} for batch in split]
        scheduler = LayerQueueScheduler(served, len(batches[0]["input_ids"]), rule="certainty", threshold=threshold)
        return torch.from_numpy(scheduler.run(batches).exit_layers)

    return call


def _exit_call(served: OnnxBerxitModel, threshold):
    def call(batch):
        out = served.early_exit(
            batch["input_ids"].numpy(), batch["attention_mask"].numpy(), threshold=threshold, rule="certainty"
        )
        return torch.from_numpy(out.exit_layers)

    return call
