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

from ..artifacts.atomic_files import sha256_file
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
    vocab_size: int | None = None  # the embedding tables the ids must lie in (None: unchecked)
    type_vocab_size: int = 0  # 0: the family has no token types

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1

    @classmethod
    def from_json(cls, path: Path) -> ServedConfig:
        return cls.from_dict(read_export_json(path, "model_dir", ("backbone_config",)))

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
            vocab_size=backbone.get("vocab_size"),
            type_vocab_size=backbone.get("type_vocab_size", 0) or 0,
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
        self.manifest = read_export_json(graphs / MANIFEST, "model_dir", ("embeddings", "layers"))
        if config is None:
            config = ServedConfig.from_json(folder / "config.json")
            point = graphs / OPERATING_POINT
            if point.is_file():
                point = read_export_json(point, "model_dir", ("rule", "setting"))
                rule = exit_rule_class(point["rule"], "model_dir")
                setting = point["setting"]  # None: nothing certified, the last layer answers
                if setting is not None:
                    setting = rule.check_setting(setting, config.num_hidden_layers)
                rule.save_setting(config, setting)
            elif quantized:  # the int8 graphs answer a little otherwise: the fp32 point is not theirs
                raise ValueError(
                    f"model_dir: {graphs} has no {OPERATING_POINT} (the int8 graphs' own operating point); export "
                    "again with berxit-export --onnx --quantize int8."
                )
        self.config = config
        names = [self.manifest["embeddings"], *self.manifest["layers"]]
        check_graph_files(graphs, names, self.manifest.get("sha256"), config.num_hidden_layers)
        self.embeddings = open_session(graphs / self.manifest["embeddings"], threads)
        self.embedding_inputs = [node.name for node in self.embeddings.get_inputs()]
        self.layers = [open_session(graphs / name, threads) for name in self.manifest["layers"]]

    def row_steps(self):
        """What the layer-queue scheduler runs on this export (`LayerQueueScheduler(served, batch_size)`)."""
        from .row_steps import OnnxRowSteps

        return OnnxRowSteps(self)

    def embed(self, input_ids, attention_mask=None, token_type_ids=None) -> tuple[np.ndarray, np.ndarray]:
        """The input of layer 0 `(batch, length, hidden)` and the 2-d mask."""
        input_ids = _whole_numbers("input_ids", input_ids)
        if input_ids.ndim != 2 or input_ids.size == 0:
            raise ValueError("input_ids: expected a non-empty 2-d array of token ids, (batch_size, sequence_length).")
        mask = np.ones_like(input_ids) if attention_mask is None else _whole_numbers("attention_mask", attention_mask)
        types = np.zeros_like(input_ids) if token_type_ids is None else _whole_numbers("token_type_ids", token_type_ids)
        for name, array in (("attention_mask", mask), ("token_type_ids", types)):
            if array.shape != input_ids.shape:
                raise ValueError(f"{name}: expected the input's shape {input_ids.shape}, got {array.shape}.")
        # The checks PyTorch's model makes (ONNX's Gather would wrap a negative id, and a mask of 2s would count twice).
        if self.config.vocab_size is not None:
            _check_ids("input_ids", input_ids, self.config.vocab_size, "vocab_size")
        if self.config.type_vocab_size > 0:
            _check_ids("token_type_ids", types, self.config.type_vocab_size, "type_vocab_size")
        if ((mask != 0) & (mask != 1)).any():
            raise ValueError("attention_mask: expected 1 for real tokens and 0 for padding, got other values.")
        empty = np.flatnonzero(mask.sum(-1) == 0).tolist()
        if empty:
            raise ValueError(f"attention_mask: the examples at rows {empty} have no real token (all zeros).")
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
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's own exception types (InvalidProtobuf, Fail, ...), one line each
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"model_dir: ONNX Runtime cannot load {path} ({reason}); export again.") from None


def _trim(hidden_states: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drops trailing positions that are padding in every remaining row: exact, and less work."""
    real = np.flatnonzero(mask.any(0))
    length = int(real[-1]) + 1 if len(real) else mask.shape[1]
    return np.ascontiguousarray(hidden_states[:, :length]), np.ascontiguousarray(mask[:, :length])


def read_export_json(path: Path, argument: str, required: tuple[str, ...]) -> dict:
    """A JSON file of an export, with the keys it must have; a damaged or incomplete one is named."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{argument}: {path} is missing; export again.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{argument}: {path} is damaged ({error}); export again.") from None
    missing = [key for key in required if not isinstance(content, dict) or key not in content]
    if missing:
        raise ValueError(f"{argument}: {path} has no {', '.join(missing)}; export again.")
    return content


def check_graph_files(graphs: Path, names: list, sha256: list | None, num_layers: int) -> None:
    """The graphs a manifest names, in the order they run: plain file names inside the export, one per layer, each
    the graph exported in its place (its SHA-256, where the manifest records them: exports before it did not)."""
    if len(names) - 1 != num_layers:
        raise ValueError(
            f"model_dir: {graphs / MANIFEST} lists {len(names) - 1} layer graphs for a model of {num_layers} layers; "
            "export again."
        )
    for name in names:
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise ValueError(f"model_dir: {graphs / MANIFEST} names the graph {name!r}, not a file of the export.")
        if not (graphs / name).is_file():
            raise ValueError(f"model_dir: {graphs / name} is missing; export again.")
    if sha256 is not None:
        if not isinstance(sha256, list) or len(sha256) != len(names):
            raise ValueError(f"model_dir: {graphs / MANIFEST} records other graphs than it lists; export again.")
        for name, digest in zip(names, sha256, strict=True):
            if sha256_file(graphs / name) != digest:
                raise ValueError(
                    f"model_dir: {graphs / name} is not the graph exported in its place (its SHA-256 differs)."
                )


def _whole_numbers(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name}: expected whole numbers (token ids, a 0/1 mask), got dtype {array.dtype}.")
    return array.astype(np.int64, copy=False)


def _check_ids(name: str, ids: np.ndarray, size: int, size_name: str) -> None:
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= size:
        raise ValueError(
            f"{name}: ids must lie in [0, {size_name}={size}), got values from {low} to {high} (do the tokenizer "
            "and the model agree?)."
        )
