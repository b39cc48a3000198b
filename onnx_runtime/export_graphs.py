"""Exporting a BERxiT model to ONNX as its layer-step API: one graph for the embeddings and one per layer (the layer,
its exit and the certainty head), so that a runner on ONNX Runtime can stop after any layer.

Each layer graph builds the backbone's masks and positions from the 2-d attention mask itself, so the runner feeds
only hidden states and the mask. Batch and length axes are dynamic. The export checks itself: ONNX Runtime's
answers must equal PyTorch's on inputs of several lengths, or it raises, naming the family.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from ..artifacts.atomic_files import sha256_file
from .runner import MANIFEST, OnnxBerxitModel, ServedConfig

EMBEDDINGS = "embeddings.onnx"
OPSET = 17
CHECK_LENGTHS = ([9, 2, 5], [4], [16, 16, 1, 7])  # padded batches the self-check compares on
TOLERANCE = 1e-4


class _Embeddings(nn.Module):
    def __init__(self, model, names: list[str]):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        given = dict(zip(self.names, inputs, strict=True))
        hidden_states, _, _ = self.model.embed_inputs(
            given["input_ids"], given["attention_mask"], given.get("token_type_ids"), None, None
        )
        return hidden_states  # (batch, length, hidden)


class _Layer(nn.Module):
    def __init__(self, model, index: int):
        super().__init__()
        self.model, self.index = model, index

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        context = self.model.layer_context(hidden_states, attention_mask, None)
        return self.model.run_layer(self.index, hidden_states, attention_mask, context)  # states, logits, certainty


def layer_file(index: int) -> str:
    return f"layer_{index:02d}.onnx"


def export_onnx(model, folder: str | Path, opset: int = OPSET) -> Path:
    """Writes the ONNX graphs of `model` (a BERxiT model) and their manifest into `folder`; returns it.

    The export runs in eval mode and leaves the model's mode as it was; it raises if ONNX Runtime's answers differ
    from PyTorch's (beyond 1e-4) on the self-check inputs."""
    import onnx
    import onnxruntime

    base = model.base_model
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = base.config
    names = ["input_ids", "attention_mask"]
    if base.adapter.type_vocab_size(config.backbone_config) > 0:
        names.append("token_type_ids")
    was_training = model.training
    model.eval()
    try:
        example = _inputs(config, [6, 3])
        embeddings = _Embeddings(base, names).eval()
        inputs = {name: example[name] for name in names}
        export_graph(embeddings, inputs, ["hidden_states"], folder / EMBEDDINGS, opset)
        with torch.no_grad():
            hidden_states = embeddings(*inputs.values())
        layer_inputs = {"hidden_states": hidden_states, "attention_mask": example["attention_mask"]}
        outputs = ["hidden_states_out", "logits", "certainty"]
        for index in range(config.num_hidden_layers):
            export_graph(_Layer(base, index).eval(), layer_inputs, outputs, folder / layer_file(index), opset)
    finally:
        model.train(was_training)
    manifest = {
        "format": "berxit layer steps",
        "embeddings": EMBEDDINGS,
        "layers": [layer_file(index) for index in range(config.num_hidden_layers)],
        "inputs": names,
        "backbone": config.backbone_config.model_type,
        "max_length": base.adapter.max_sequence_length(config.backbone_config),  # None: positions are relative
        "opset": opset,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
    }
    manifest["sha256"] = graph_digests(folder, manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    check_export(model, folder)
    return folder


def export_graph(
    module: nn.Module, inputs: dict[str, torch.Tensor], outputs: list[str], path: Path, opset: int
) -> None:
    """One ONNX graph of `module` called on `inputs` (by position, in order), with dynamic batch and length axes."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it keeps dynamic
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(path),
            input_names=list(inputs),
            output_names=outputs,
            dynamic_axes={name: {0: "batch", 1: "length"} for name in inputs},
            opset_version=opset,
            dynamo=False,
        )


def quantize_graph(source: Path, target: Path) -> None:
    """ONNX Runtime's dynamic int8 quantisation of a graph's matrix products (`MatMul`; `Gemm` stays fp32).

    Weights are signed, one scale per output channel, in 7 bits (`reduce_range`): on x86 CPUs without VNNI (AVX2
    only) ONNX Runtime's u8 x s8 kernel (VPMADDUBSW) saturates 8-bit weights and the answers drift far from fp32's,
    and an export may be served on either. Per-channel scales win back most of the bit (main job, final layer: 79.7
    per tensor, 81.3 per channel, fp32 82.1); unsigned 8-bit weights (no saturation) keep 82.0 but their kernel
    runs about a fifth slower here.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        op_types_to_quantize=["MatMul"],
        weight_type=QuantType.QInt8,
        reduce_range=True,
        per_channel=True,
    )


def quantize_int8(folder: str | Path, target: str | Path) -> Path:
    """Writes an int8 copy of the export in `folder` into `target`: ONNX Runtime's dynamic quantisation of the
    matrix products (the backbone's linear layers, int8 weights, activations quantised per batch); the exits' and the
    certainty head's small 2-d layers (`Gemm`) stay fp32. Its answers move a little from fp32's, so an operating
    point for it is best chosen on the int8 model itself."""
    folder, target = Path(folder), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    for name in [manifest["embeddings"], *manifest["layers"]]:
        quantize_graph(folder / name, target / name)
    quantization = "int8 (dynamic, MatMul weights per channel, 7 bits)"
    manifest = {**manifest, "quantization": quantization}
    manifest["sha256"] = graph_digests(target, manifest)
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return target


def graph_digests(folder: Path, manifest: dict) -> list[str]:
    """Each graph's SHA-256 in the order the graphs run (embeddings, then each layer), which the runner checks on
    load: a graph damaged, duplicated or listed in another order is refused."""
    return [sha256_file(folder / name) for name in [manifest["embeddings"], *manifest["layers"]]]


def check_export(model, folder: Path) -> None:
    """ONNX Runtime's every exit (logits and certainty) against PyTorch's on padded batches of several lengths."""
    config = model.base_model.config
    served = OnnxBerxitModel(folder.parent, onnx_folder=folder, config=ServedConfig.from_dict(config.to_dict()))
    for lengths in CHECK_LENGTHS:
        inputs = _inputs(config, lengths)
        with torch.no_grad():
            expected = model.base_model(**inputs, early_exit=False)
        got = served.every_exit(**{name: value.numpy() for name, value in inputs.items()})
        for name, reference in (("exit_logits", expected.exit_logits), ("certainties", expected.certainties)):
            gap = float(abs(got[name] - reference.float().numpy()).max())
            if not gap <= TOLERANCE:
                raise ValueError(
                    f"model: its {config.backbone_config.model_type} backbone does not export faithfully to ONNX "
                    f"({name} differ by {gap:.2g} from PyTorch's on lengths {lengths}); not exported."
                )


def _inputs(config, lengths: list[int]) -> dict[str, torch.Tensor]:
    """Right-padded random token ids (never a special id 0-2 nor padding) and their mask, token types 0."""
    generator = torch.Generator().manual_seed(sum(lengths))
    backbone = config.backbone_config
    width = max(lengths)
    input_ids = torch.randint(3, backbone.vocab_size, (len(lengths), width), generator=generator)
    attention_mask = torch.zeros_like(input_ids)
    for row, length in enumerate(lengths):
        attention_mask[row, :length] = 1
        input_ids[row, length:] = backbone.pad_token_id or 0
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": torch.zeros_like(input_ids)}
