"""Early exit on ONNX Runtime: the exported layer graphs driven one layer at a time with the same exit rules and the
same operating point as the PyTorch model, with numpy only (no PyTorch needed).

After each layer the rows whose rule fires leave the batch, and trailing padding that no remaining row needs is cut
off, as in `BerxitModel.early_exit_forward`, so the answers equal it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exit_rules.rules import exit_rule_class, make_exit_rule
from .outputs import OnnxEarlyExitOutput

ONNX_FOLDER = "onnx"  # where an export keeps its graphs, beside the Hub folder's safetensors
ONNX_INT8_FOLDER = "onnx_int8"  # and their int8 copy (`berxit-export --onnx --quantize int8`)
MANIFEST = "berxit_onnx.json"  # what the graphs are, in order, and the versions that made them
OPERATING_POINT = "operating_point.json"  # the graphs' own operating point, where one was chosen on them (int8)


@dataclass
class ServedConfig:
    """What the rules read of a berxit `config.json` (so that serving needs no transformers config class)."""

    num_hidden_layers: int
    num_labels: int
    exit_rule: str = "certainty"
    exit_threshold: float | list[float] | None = None
    patience: int = 2
    id2label: dict[int, str] = field(default_factory=dict)
    exit_promise: dict | None = None

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1

    @classmethod
    def from_json(cls, path: Path) -> ServedConfig:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, config: dict) -> ServedConfig:
        """From a berxit config as a dict (`config.json`, or `BerxitConfig.to_dict()`)."""
        backbone = config["backbone_config"]
        layers = backbone.get("num_hidden_layers", backbone.get("n_layers"))
        names = config.get("id2label") or {"0": "LABEL_0", "1": "LABEL_1"}  # transformers' default, not saved
        id2label = {int(key): value for key, value in names.items()}
        return cls(
            num_hidden_layers=layers,
            num_labels=len(id2label) if config.get("problem_type") != "regression" else 1,
            exit_rule=config.get("exit_rule", "certainty"),
            exit_threshold=config.get("exit_threshold"),
            patience=config.get("patience", 2),
            id2label=id2label,
            exit_promise=config.get("exit_promise"),
        )


class OnnxBerxitModel:
    """A berxit export (`berxit-export --onnx`) served on ONNX Runtime.

    Args:
        folder: the export (with `config.json` and `onnx/`).
        threads: intra-op threads of every session (default: ONNX Runtime's, one per core).
        quantized: serve the int8 graphs (`folder/onnx_int8`) rather than the fp32 ones.
        onnx_folder: where the graphs lie, if not `folder/onnx` (or `folder/onnx_int8`).
        config: the served settings, if not `folder/config.json`'s (with the graphs' own operating point where the
            export chose one on them, as it does for the int8 graphs).

    Sessions run with every graph optimisation and with thread spinning off, so that idle threads between layer
    calls do not slow what runs next.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        threads: int | None = None,
        quantized: bool = False,
        onnx_folder: str | os.PathLike | None = None,
        config: ServedConfig | None = None,
    ):
        folder = Path(folder)
        default = folder / (ONNX_INT8_FOLDER if quantized else ONNX_FOLDER)
        graphs = Path(onnx_folder) if onnx_folder is not None else default
        if not (graphs / MANIFEST).is_file():
            command = "berxit-export --onnx" + (" --quantize int8" if quantized else "")
            raise ValueError(f"model_dir: {folder} holds no ONNX export ({graphs / MANIFEST}); run {command}.")
        self.manifest = json.loads((graphs / MANIFEST).read_text(encoding="utf-8"))
        if config is None:
            config = ServedConfig.from_json(folder / "config.json")
            if (graphs / OPERATING_POINT).is_file():
                point = json.loads((graphs / OPERATING_POINT).read_text(encoding="utf-8"))
                exit_rule_class(point["rule"]).save_setting(config, point["setting"])
        self.config = config
        self.embeddings = open_session(graphs / self.manifest["embeddings"], threads)
        self.embedding_inputs = [node.name for node in self.embeddings.get_inputs()]
        self.layers = [open_session(graphs / name, threads) for name in self.manifest["layers"]]

    def row_steps(self):
        """What the layer-queue scheduler runs on this export (`LayerQueueScheduler(served, batch_size)`)."""
        from .row_steps import OnnxRowSteps

        return OnnxRowSteps(self)

    def embed(self, input_ids, attention_mask=None, token_type_ids=None) -> tuple[np.ndarray, np.ndarray]:
        """The input of layer 0 `(batch, length, hidden)` and the 2-d mask."""
        input_ids = np.asarray(input_ids, dtype=np.int64)
        if input_ids.ndim != 2 or input_ids.size == 0:
            raise ValueError("input_ids: expected a non-empty 2-d array of token ids, (batch_size, sequence_length).")
        mask = np.ones_like(input_ids) if attention_mask is None else np.asarray(attention_mask, dtype=np.int64)
        types = np.zeros_like(input_ids) if token_type_ids is None else np.asarray(token_type_ids, dtype=np.int64)
        if not mask[:, 0].all():  # left padding: each row's tokens moved to the front, as the answers do not change
            order = np.argsort(1 - mask, axis=1, kind="stable")  # (batch, length): real positions first, in order
            input_ids, mask, types = (np.take_along_axis(array, order, 1) for array in (input_ids, mask, types))
        given = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}
        (hidden_states,) = self.embeddings.run(None, {name: given[name] for name in self.embedding_inputs})
        return hidden_states, mask

    def every_exit(self, input_ids, attention_mask=None, token_type_ids=None) -> dict[str, np.ndarray]:
        """Every layer for every row: `exit_logits` `(batch, layers, labels)` and `certainties` `(batch, layers)`."""
        hidden_states, mask = self.embed(input_ids, attention_mask, token_type_ids)
        logits, certainties = [], []
        for layer in self.layers:
            feeds = {"hidden_states": hidden_states, "attention_mask": mask}
            hidden_states, exit_logits, certainty = layer.run(None, feeds)
            logits.append(exit_logits)
            certainties.append(certainty)
        return {"exit_logits": np.stack(logits, 1), "certainties": np.stack(certainties, 1)}

    def early_exit(
        self,
        input_ids,
        attention_mask=None,
        token_type_ids=None,
        rule: str | None = None,
        threshold: float | list[float] | None = None,
        patience: int | None = None,
    ) -> OnnxEarlyExitOutput:
        """Dynamic-depth inference for a batch, at the config's operating point unless `rule`, `threshold` or
        `patience` say otherwise (as `BerxitModel.early_exit_forward`)."""
        exit_rule = make_exit_rule(self.config, rule, threshold, patience)
        hidden_states, mask = self.embed(input_ids, attention_mask, token_type_ids)
        batch = hidden_states.shape[0]
        answers = np.empty((batch, self.config.num_labels), dtype=np.float32)
        certainties = np.empty(batch, dtype=np.float32)
        exit_layers = np.full(batch, len(self.layers), dtype=np.int64)
        active = np.arange(batch)  # the caller's row of each row still running
        hidden_states, mask = _trim(hidden_states, mask)
        for index, layer in enumerate(self.layers):
            feeds = {"hidden_states": hidden_states, "attention_mask": mask}
            hidden_states, logits, certainty = layer.run(None, feeds)  # (active, length, hidden), ...
            stops = exit_rule.decide(index, logits, certainty)  # (active,); everyone at the last layer
            if not stops.any():
                continue
            finished = active[stops]
            answers[finished], certainties[finished], exit_layers[finished] = logits[stops], certainty[stops], index + 1
            running = ~stops
            if not running.any():
                break
            active, hidden_states, mask = active[running], hidden_states[running], mask[running]
            exit_rule.keep_rows(running)
            hidden_states, mask = _trim(hidden_states, mask)
        return OnnxEarlyExitOutput(logits=answers, exit_layers=exit_layers, certainties=certainties)


def open_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session for serving: every graph optimisation, `threads` intra-op threads (default: one
    per core) and thread spinning off, so that idle threads between layer calls do not slow the next one."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads is not None:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _trim(hidden_states: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drops trailing positions that are padding in every remaining row: exact, and less work."""
    real = np.flatnonzero(mask.any(0))
    length = int(real[-1]) + 1 if len(real) else mask.shape[1]
    return np.ascontiguousarray(hidden_states[:, :length]), np.ascontiguousarray(mask[:, :length])
