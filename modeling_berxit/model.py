"""BERxiT models: a BERT-family backbone with an exit after every layer and one shared certainty head."""

from __future__ import annotations

import contextlib
import math
import os
import pickle
from typing import Any

import torch
from safetensors import SafetensorError
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel
from transformers import initialization as init
from transformers.processing_utils import Unpack
from transformers.utils import TransformersKwargs, can_return_tuple, logging
from transformers.utils.output_capturing import capture_outputs

from ..backbones.adapter import (
    declared_exit_pooling,
    is_tracing,
    left_padded_position_ids,
    pooler_keys,
    pretrained_pooler_state,
)
from ..backbones.registry import SUPPORTED_BACKBONES, backbone_adapter
from ..configuration_berxit.config import BerxitConfig
from ..exit_rules.rules import make_exit_rule, replay_exits
from .exits import BerxitCertaintyHead, BerxitExit
from .losses import (
    BerxitObjective,
    certainty_loss,
    certainty_targets,
    check_labels,
    distillation_loss,
    objective_exits,
    scale_gradient,
    task_losses,
)
from .outputs import BerxitEarlyExitOutput, BerxitModelOutput
from .remote_code import AUTO_MAP, write_remote_code

# Under transformers' logging tree, so `transformers.logging.set_verbosity_*` governs berxit's messages too.
logger = logging.get_logger(f"transformers.{__name__}")

# Keyword arguments of `from_pretrained_backbone` that describe the task and exiting rather than the backbone.
BERXIT_CONFIG_KWARGS = (
    "num_labels",
    "id2label",
    "label2id",
    "problem_type",
    "exit_rule",
    "exit_threshold",
    "patience",
    "exit_pooling",
    "certainty_inputs",
)
# What `from_pretrained_backbone` passes on when it looks for the checkpoint's declared pooling.
HUB_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "subfolder")


class BerxitPreTrainedModel(PreTrainedModel):
    config: BerxitConfig
    config_class = BerxitConfig
    base_model_prefix = "berxit"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True  # the backbone's layers checkpoint themselves, under every objective
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    # The losses are per-batch means: Trainer must not pass `num_items_in_batch`, and divides over accumulation.
    accepts_loss_kwargs = False
    # The names `output_hidden_states` and `output_attentions` collect. The backbone is a PreTrainedModel of its own,
    # so transformers hooks its layers with the backbone's own `_can_record_outputs`; no module of ours matches these.
    _can_record_outputs = {"hidden_states": "BackboneLayer", "attentions": "BackboneSelfAttention"}

    @classmethod
    def is_custom_code(cls) -> bool:
        """False, also as remote code: berxit initialises through `transformers.initialization`, which leaves loaded
        weights alone by itself. (transformers' guard for custom code skips every module without weights of its
        own, and so the backbone's initialisation at the parent module, ModernBERT's depth-scaled output
        projections, when `from_pretrained` initialises missing weights.)"""
        return False

    def _init_weights(self, module):
        # The backbone is a PreTrainedModel and initialises itself; this covers the exits and certainty head.
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=self.config.backbone_config.initializer_range)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):  # in ModernBERT's exit poolers
            init.ones_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, BerxitCertaintyHead) and module.starts_from_entropy:  # after its linear layer
            weight, bias = module.answer_start(module.classifier.weight)
            init.copy_(module.classifier.weight, weight)
            init.constant_(module.classifier.bias, bias)

    @classmethod
    def from_pretrained_backbone(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs):
        r"""
        Starts a BERxiT model from a plain pretrained encoder checkpoint (a Hub id or a local folder) of a
        supported family: BERT, RoBERTa, XLM-RoBERTa, DistilBERT, ALBERT, ELECTRA, DeBERTa-v2/v3 or ModernBERT.

        Every backbone weight is loaded exactly. Every exit's pooler starts as a copy of the checkpoint's pretrained
        pooler, or of the dense layer of its own classification head in families without a pooler (DistilBERT's
        `pre_classifier`, ELECTRA's and DeBERTa's head, ModernBERT's `head`) when the checkpoint has one. What is
        new (the exits' task heads, the certainty head, and poolers the checkpoint lacks) is logged by name.

        Args:
            pretrained_model_name_or_path: the plain checkpoint.
            kwargs: `num_labels`, `id2label`, `label2id`, `problem_type`, `exit_rule`, `exit_threshold`,
                `patience`, `exit_pooling` and `certainty_inputs` go to [`BerxitConfig`]; the rest (`revision`, `dtype`,
                `attn_implementation`, ...) to `AutoModel.from_pretrained` for the backbone. Without
                `exit_pooling`, the exits pool as the checkpoint's own sentence embeddings do: `"mean"` for a
                sentence-transformers checkpoint that declares mean pooling, `"cls"` otherwise.

        Example:

        ```python
        >>> from berxit import BerxitForSequenceClassification
        >>> model = BerxitForSequenceClassification.from_pretrained_backbone("google-bert/bert-base-uncased")
        ```
        """
        _check_local_path(pretrained_model_name_or_path)
        config_kwargs = {key: kwargs.pop(key) for key in BERXIT_CONFIG_KWARGS if key in kwargs}
        hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}
        backbone_type = AutoConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs).model_type
        if backbone_type not in SUPPORTED_BACKBONES:
            raise ValueError(
                f"pretrained_model_name_or_path: {pretrained_model_name_or_path} is a {backbone_type!r} checkpoint; "
                f"berxit starts from the backbone types {SUPPORTED_BACKBONES}."
            )
        adapter = backbone_adapter(backbone_type)
        # transformers' load report would call the pooler's weights UNEXPECTED (the backbone is built without its
        # pooler): berxit says below what becomes of every weight instead. Errors still raise.
        with _load_report_quieted():
            backbone, loading_info = AutoModel.from_pretrained(
                pretrained_model_name_or_path, output_loading_info=True, **adapter.backbone_kwargs, **kwargs
            )
        if config_kwargs.get("exit_pooling") is None:
            config_kwargs["exit_pooling"] = declared_exit_pooling(
                backbone.config, pretrained_model_name_or_path, **hub_kwargs
            )
        config = BerxitConfig(backbone_config=backbone.config.to_dict(), **config_kwargs)
        if "attn_implementation" in kwargs:
            config._attn_implementation = kwargs["attn_implementation"]
        model = cls(config).to(backbone.dtype)

        model.base_model.backbone.load_state_dict(backbone.state_dict())
        new_weights = [f"backbone.{key}" for key in loading_info["missing_keys"]]
        pooler = pretrained_pooler_state(adapter, backbone, pretrained_model_name_or_path, **hub_kwargs)
        if pooler is not None:
            for exit_ in model.base_model.exits:
                exit_.pooler.load_state_dict(pooler)
        else:
            new_weights.append("exits.*.pooler")
        new_weights += ["exits.*.classifier", "certainty_head"]
        copied = "its pooler (or head) is copied into every exit's pooler; " if pooler is not None else ""
        unexpected = set(loading_info["unexpected_keys"])
        used = pooler_keys(adapter, list(pooler or {}), backbone.base_model_prefix, unexpected) or {}
        unused = sorted(unexpected - set(used.values()))
        unused_note = ""
        if unused:
            shown = ", ".join(unused[:8]) + (" ..." if len(unused) > 8 else "")
            unused_note = f" Checkpoint weights unused (not part of an encoder with exits): {shown}."
        logger.warning(
            f"{cls.__name__} starts from the {config.backbone_config.model_type} checkpoint "
            f"{pretrained_model_name_or_path}: every backbone weight is loaded; {copied}these weights are new and "
            f"need fine-tuning: {', '.join(new_weights)}. The exits pool {config.exit_pooling!r}." + unused_note
        )
        return model

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *args, **kwargs):
        """`PreTrainedModel.from_pretrained`, with errors that name the folder or file at fault."""
        _check_local_path(pretrained_model_name_or_path)
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        except SafetensorError as error:
            raise OSError(
                f"pretrained_model_name_or_path: the weights in {pretrained_model_name_or_path} cannot be read "
                f"(truncated, empty or not safetensors: {error})."
            ) from error
        except pickle.UnpicklingError:  # torch.load(weights_only=True) met more than tensors
            raise OSError(
                f"pretrained_model_name_or_path: the pickled weights in {pretrained_model_name_or_path} hold objects "
                "other than tensors, which berxit does not unpickle (they could run code); save the model as "
                "safetensors where you trust it (model.save_pretrained(folder))."
            ) from None
        except RuntimeError as error:
            if "ignore_mismatched_sizes" not in str(error):
                raise
            raise OSError(
                f"pretrained_model_name_or_path: the sizes in the config of {pretrained_model_name_or_path} (with "
                "any overrides passed) disagree with its weights (the load report above names them); restore its "
                "config.json, or pass ignore_mismatched_sizes=True to start those weights anew."
            ) from error

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs):
        """`PreTrainedModel.save_pretrained`, plus the flat source files that `trust_remote_code=True` loads."""
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory: expected a directory, got the file {save_directory}.")
        os.makedirs(save_directory, exist_ok=True)
        # Written before the weights so that `push_to_hub=True` uploads them along.
        write_remote_code(save_directory)
        self.config.auto_map = dict(AUTO_MAP)
        return super().save_pretrained(save_directory, *args, **kwargs)


class BerxitModel(BerxitPreTrainedModel):
    r"""
    The full early-exit model: backbone, one exit per layer and the shared certainty head.

    - `forward` runs every layer and returns every exit's logits and certainty, and the loss of an objective.
    - `early_exit_forward` runs each example only as deep as it needs, in batches (generate-style).
    - In eval mode at an operating point (`config.exit_threshold` set, or `config.exit_rule="patience"`),
      `forward` *is* `early_exit_forward` there, so pipelines and `Trainer.predict` serve at it unchanged. A call
      that needs every layer (labels, `output_hidden_states`, `output_attentions`) still runs every layer and
      reports each example's answer at that point in `logits` and `exit_layers`.
    """

    def __init__(self, config: BerxitConfig):
        super().__init__(config)
        # Not a module: the adapter holds no weights, it says how to drive `self.backbone` a layer at a time.
        self.adapter = backbone_adapter(config.backbone_config.model_type)
        self.backbone = self.adapter.build_backbone(config.backbone_config)
        self.exits = nn.ModuleList(BerxitExit(config) for _ in range(config.num_hidden_layers))
        self.certainty_head = BerxitCertaintyHead(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.backbone.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module):
        self.backbone.set_input_embeddings(value)

    def embed_inputs(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        token_type_ids: torch.Tensor | None,
        position_ids: torch.Tensor | None,
        inputs_embeds: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Step 1 of running the model a layer at a time (`forward`, `early_exit_forward` and the serving scheduler
        all do): checks the inputs; returns the embedded batch, an explicit 2-d attention mask, and the position ids
        the layers must see (None: the backbone's own)."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("input_ids: give exactly one of input_ids and inputs_embeds.")
        if input_ids is not None:
            if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
                raise ValueError("input_ids: expected a 2-d tensor of token ids, shape (batch_size, sequence_length).")
            if input_ids.is_floating_point():
                raise TypeError(f"input_ids: expected integer token ids, got dtype {input_ids.dtype}.")
            shape = tuple(input_ids.shape)
        else:
            if not isinstance(inputs_embeds, torch.Tensor) or inputs_embeds.dim() != 3:
                raise ValueError(
                    "inputs_embeds: expected a 3-d tensor of shape (batch_size, sequence_length, hidden_size)."
                )
            width = self.adapter.embedding_size(self.config.backbone_config)
            if inputs_embeds.shape[-1] != width:
                raise ValueError(
                    f"inputs_embeds: expected vectors of the backbone's embedding size {width}, "
                    f"got {inputs_embeds.shape[-1]}."
                )
            shape = tuple(inputs_embeds.shape[:2])
        if 0 in shape:
            raise ValueError(f"input_ids: the batch is empty (shape {shape}).")
        backbone_config = self.config.backbone_config
        limit = self.adapter.max_sequence_length(backbone_config)
        if limit is not None and shape[1] > limit:
            raise ValueError(f"input_ids: sequences of {shape[1]} tokens exceed the backbone's limit of {limit}.")
        for name, tensor in (
            ("attention_mask", attention_mask),
            ("token_type_ids", token_type_ids),
            ("position_ids", position_ids),
        ):
            if tensor is not None and tuple(tensor.shape) != shape:
                raise ValueError(f"{name}: expected the input's shape {shape}, got {tuple(tensor.shape)}.")
        if not is_tracing():
            self._check_input_values(input_ids, attention_mask, token_type_ids)
        if attention_mask is not None:
            if position_ids is None:
                position_ids = left_padded_position_ids(self.adapter, backbone_config, attention_mask)
        if attention_mask is None:
            device = (input_ids if input_ids is not None else inputs_embeds).device
            attention_mask = torch.ones(shape, dtype=torch.long, device=device)  # (batch, length)
        hidden_states = self.adapter.embed(
            self.backbone, input_ids, token_type_ids, position_ids, inputs_embeds, attention_mask
        )  # (batch, length, hidden)
        return hidden_states, attention_mask, position_ids

    def _check_input_values(
        self, input_ids: torch.Tensor | None, attention_mask: torch.Tensor | None, token_type_ids: torch.Tensor | None
    ) -> None:
        """The checks that read values back from the device (skipped under tracing): ids inside their tables, a
        0/1 mask with a real token in every row."""
        backbone_config = self.config.backbone_config
        if input_ids is not None:
            _check_ids("input_ids", input_ids, backbone_config.vocab_size, "vocab_size")
        type_vocab_size = self.adapter.type_vocab_size(backbone_config)
        if token_type_ids is not None and type_vocab_size > 0:
            _check_ids("token_type_ids", token_type_ids, type_vocab_size, "type_vocab_size")
        if attention_mask is not None:
            if ((attention_mask != 0) & (attention_mask != 1)).any():
                raise ValueError("attention_mask: expected 1 for real tokens and 0 for padding, got other values.")
            empty = (attention_mask.sum(-1) == 0).nonzero().flatten().tolist()
            if empty:
                raise ValueError(f"attention_mask: the examples at rows {empty} have no real token (all zeros).")

    def layer_context(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor | None
    ) -> Any:
        """Step 2: what the backbone's layers need beside the hidden states (its own masks, relative or rotary
        positions); build it again whenever the batch's rows or length change."""
        return self.adapter.layer_context(self.backbone, hidden_states, attention_mask, position_ids)

    def run_layer(
        self,
        index: int,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor,
        context: Any,
        objective: BerxitObjective | None = None,
        **kwargs,
    ) -> tuple[torch.Tensor, ...]:
        """Step 3, once per layer: runs layer `index` and its exit; returns the new hidden states, the exit's logits
        and its certainty.

        `attention_mask` is the 2-d mask of the batch, `context` what `layer_context` built from it. `objective`,
        given when training, says where the gradients go (gradient equilibrium, the certainty head's reach); the
        values are the same without it."""
        hidden_states = self.adapter.run_layer(self.backbone, index, hidden_states, context, **kwargs)
        equilibrium = objective is not None and objective.gradient_equilibrium
        exits_to_come = self.config.num_hidden_layers - index  # this layer's exit and those above it
        if equilibrium:
            hidden_states = scale_gradient(hidden_states, 1.0 / exits_to_come)
        exit_input = self.adapter.exit_states(self.backbone, hidden_states)  # (batch, length, hidden)
        pooled, logits = self.exits[index](exit_input, attention_mask)  # (batch, hidden), (batch, labels)
        if objective is not None and objective.certainty_gradient == "head":
            pooled = pooled.detach()  # (batch, hidden): the certainty loss trains the head alone
        if equilibrium:
            hidden_states = scale_gradient(hidden_states, float(exits_to_come - 1))
        return hidden_states, logits, self.certainty_head(pooled, logits)  # certainty: (batch,), float32

    def init_regression_outputs(self, value: float) -> None:
        """Starts every exit's regression output at `value`: give it the mean of the training labels.

        With MSE on targets far from 0 (STS-B's 0-5), exits that start at 0 learn the offset first, fastest by
        saturating their pooled vectors; with every exit pulling the shared layers that way, the representation
        flattens and the final exit fails too. Packaged MiniLM, STS-B, alternating, 3 epochs: final-layer Spearman
        0.11 from 0, 0.86 from the mean (plain fine-tuning, one exit from 0: 0.85).
        """
        if not self.config.is_regression:
            raise ValueError("init_regression_outputs: this model classifies; only regression (num_labels=1) has one.")
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"value: expected a finite number (the training labels' mean), got {value!r}.")
        with torch.no_grad():
            for exit_ in self.exits:
                exit_.classifier.bias.fill_(float(value))

    def _serves_early_exit(self, early_exit: bool | None, labels: torch.Tensor | None, kwargs: dict) -> bool:
        """Whether `forward` answers through `early_exit_forward`. `early_exit=None` (the default): in eval mode at
        the config's operating point, unless the call needs every layer (labels for the losses, or every layer's
        hidden states or attentions); True or False: as the caller says."""
        needs_every_layer = (
            labels is not None
            or kwargs.get("output_hidden_states", self.config.output_hidden_states)
            or kwargs.get("output_attentions", self.config.output_attentions)
        )
        if early_exit is None:
            return not self.training and self.config.has_operating_point and not needs_every_layer
        if early_exit is not True and early_exit is not False:
            raise TypeError(f"early_exit: expected True, False or None, got {early_exit!r}.")
        if early_exit and needs_every_layer:
            raise ValueError(
                "early_exit: True answers from each example's own exit; labels, output_hidden_states and "
                "output_attentions need every layer (pass early_exit=False or leave it None)."
            )
        return early_exit

    @capture_outputs
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        objective: str | BerxitObjective = "all_exits",
        early_exit: bool | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> BerxitModelOutput | BerxitEarlyExitOutput:
        r"""
        The standard arguments of a transformers encoder (`input_ids` or `inputs_embeds`, `attention_mask`,
        `token_type_ids`, `position_ids`, `output_hidden_states`, `output_attentions`, `return_dict`), plus:

        labels (`torch.Tensor` of shape `(batch_size,)`, *optional*):
            Class indices (integers) or regression targets (floats). Given labels, the loss is the task loss of
            `objective` plus the certainty loss.
        objective (`str` or [`BerxitObjective`], *optional*, defaults to `"all_exits"`):
            Which exits' task losses to train: `"all_exits"`, `"final_exit"` or `"early_exits"` (the paper's
            recipe), or a [`BerxitObjective`] that also says how the certainty and distillation losses are made.
            The certainty loss is added whatever the exits.
        early_exit (`bool`, *optional*):
            Which answer the call gets. `True`: [`BerxitEarlyExitOutput`], each example run only as deep as the
            rule needs (as `early_exit_forward`, in eval mode); `False`: [`BerxitModelOutput`], every layer and
            every exit. `None` (the default): early exit in eval mode at the config's operating point unless the
            call needs every layer (labels, `output_hidden_states`, `output_attentions`), so pipelines and
            `Trainer.predict` serve there unchanged.
        """
        objective = BerxitObjective.of(objective)
        if self._serves_early_exit(early_exit, labels, kwargs):
            return self.early_exit_forward(
                input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, **kwargs
            )

        hidden_states, attention_mask, position_ids = self.embed_inputs(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds
        )  # (batch, length, hidden), (batch, length), (batch, length) or None
        context = self.layer_context(hidden_states, attention_mask, position_ids)
        all_logits, all_certainties = [], []
        for index in range(self.config.num_hidden_layers):
            hidden_states, logits, certainty = self.run_layer(
                index, hidden_states, attention_mask, context, objective if labels is not None else None, **kwargs
            )
            all_logits.append(logits)
            all_certainties.append(certainty)
        exit_logits = torch.stack(all_logits, dim=1)  # (batch, layers, labels)
        certainties = torch.stack(all_certainties, dim=1)  # (batch, layers)

        logits, exit_layers = exit_logits[:, -1], None  # (batch, labels)
        if not self.training and self.config.has_operating_point:
            exit_layers, logits = replay_exits(make_exit_rule(self.config), exit_logits, certainties)

        loss = task_loss = certainty = distillation = None
        if labels is not None:
            labels = check_labels(labels, exit_logits.shape[0], self.config)
            if self.config.is_regression:
                labels = labels.to(exit_logits.dtype)
            # Stacked from the list, not sliced from `exit_logits`: exits outside the objective get no gradient.
            trained_exits = objective_exits(objective.exits, len(all_logits))
            trained = torch.stack(all_logits[trained_exits], dim=1)  # (batch, trained exits, labels)
            task_loss = task_losses(trained, labels, self.config.is_regression).sum()
            targets = certainty_targets(
                exit_logits, labels, self.config.is_regression, objective.certainty_target
            )  # (batch, layers)
            certainty = certainty_loss(certainties, targets, objective.certainty_loss)
            loss = task_loss + objective.certainty_weight * certainty
            students = [all_logits[i] for i in range(len(all_logits) - 1)[trained_exits]]  # trained early exits
            if objective.distillation_weight > 0 and students:
                distillation = distillation_loss(
                    torch.stack(students, dim=1), exit_logits[:, -1], objective.distillation_temperature
                )
                loss = loss + objective.distillation_weight * distillation

        return BerxitModelOutput(
            loss=loss,
            logits=logits,
            exit_logits=exit_logits,
            certainties=certainties,
            exit_layers=exit_layers,
            task_loss=task_loss,
            certainty_loss=certainty,
            distillation_loss=distillation,
        )

    @torch.no_grad()
    def early_exit_forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        threshold: float | list[float] | None = None,
        rule: str | None = None,
        patience: int | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> BerxitEarlyExitOutput:
        r"""
        Dynamic-depth inference for a batch of any size (call it on a model in eval mode, as `generate`).

        After each layer the examples whose rule fires leave the batch; later layers run only on those still
        active, trimmed to their longest sequence, so the work really falls. Results come back in the caller's
        order and equal running each example alone.

        Args:
            threshold (`float` or `list[float]`, *optional*):
                For the certainty and entropy rules: one value in [0, 1] or one per early exit. Defaults to
                `config.exit_threshold`.
            rule (`str`, *optional*):
                `"certainty"`, `"entropy"` or `"patience"`; defaults to `config.exit_rule`.
            patience (`int`, *optional*):
                For the patience rule; defaults to `config.patience`.
        """
        if self.training:
            raise ValueError(
                "early_exit_forward: the model is in training mode, where dropout makes exits random; call "
                "model.eval() first."
            )
        exit_rule = make_exit_rule(self.config, rule, threshold, patience)
        hidden_states, attention_mask, position_ids = self.embed_inputs(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds
        )  # (batch, length, hidden), (batch, length), (batch, length) or None
        batch_size, num_layers = hidden_states.shape[0], self.config.num_hidden_layers
        device = hidden_states.device

        answer_logits = hidden_states.new_empty(batch_size, self.config.num_labels)  # (batch, labels)
        answer_certainties = torch.empty(batch_size, device=device)  # (batch,), float32
        exit_layers = torch.full((batch_size,), num_layers, dtype=torch.long, device=device)  # (batch,), 1-based
        active = torch.arange(batch_size, device=device)  # (active,): caller's row of each row still running

        hidden_states, attention_mask, position_ids = _trim_padding(hidden_states, attention_mask, position_ids)
        context = self.layer_context(hidden_states, attention_mask, position_ids)
        for index in range(num_layers):
            hidden_states, logits, certainty = self.run_layer(index, hidden_states, attention_mask, context, **kwargs)
            stops = exit_rule.decide(index, logits, certainty)  # (active,); everyone at the last layer
            if not stops.any():
                continue
            finished = active[stops]  # (finished,)
            answer_logits[finished] = logits[stops]
            answer_certainties[finished] = certainty[stops]
            exit_layers[finished] = index + 1
            running = ~stops  # (active,)
            if not running.any():
                break
            active, hidden_states, attention_mask = active[running], hidden_states[running], attention_mask[running]
            if position_ids is not None:
                position_ids = position_ids[running]  # (active, length)
            exit_rule.keep_rows(running)
            hidden_states, attention_mask, position_ids = _trim_padding(hidden_states, attention_mask, position_ids)
            context = self.layer_context(hidden_states, attention_mask, position_ids)

        return BerxitEarlyExitOutput(logits=answer_logits, exit_layers=exit_layers, certainties=answer_certainties)


class BerxitForSequenceClassification(BerxitPreTrainedModel):
    """[`BerxitModel`] under the sequence-classification Auto class, so `pipeline("text-classification")` works.

    Checkpoints of the two classes are interchangeable: `AutoModel` and `AutoModelForSequenceClassification`
    both load either with no missing or unexpected keys.
    """

    def __init__(self, config: BerxitConfig):
        super().__init__(config)
        self.berxit = BerxitModel(config)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        objective: str | BerxitObjective = "all_exits",
        early_exit: bool | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> BerxitModelOutput | BerxitEarlyExitOutput:
        """See [`BerxitModel.forward`]."""
        return self.berxit(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            inputs_embeds,
            labels=labels,
            objective=objective,
            early_exit=early_exit,
            return_dict=True,
            **kwargs,
        )

    def early_exit_forward(self, *args, **kwargs) -> BerxitEarlyExitOutput:
        """See [`BerxitModel.early_exit_forward`]."""
        return self.berxit.early_exit_forward(*args, **kwargs)

    def init_regression_outputs(self, value: float) -> None:
        """See [`BerxitModel.init_regression_outputs`]."""
        self.berxit.init_regression_outputs(value)


@contextlib.contextmanager
def _load_report_quieted():
    """Holds back transformers' load report (a warning) while the backbone loads; its errors still raise."""
    report_logger = logging.get_logger("transformers.modeling_utils")
    level = report_logger.level
    report_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        report_logger.setLevel(level)


def _check_local_path(pretrained_model_name_or_path: str | os.PathLike) -> None:
    """A name that can only be a local path (not `name` or `namespace/name`) must exist: else the Hub client
    answers with a message about repository ids."""
    name = str(pretrained_model_name_or_path)
    looks_local = isinstance(pretrained_model_name_or_path, os.PathLike) or name.startswith(("/", ".", "~"))
    if (looks_local or name.count("/") > 1) and not os.path.exists(os.path.expanduser(name)):
        raise OSError(f"pretrained_model_name_or_path: no such folder {name} (and it is no Hub model id).")


def _check_ids(name: str, ids: torch.Tensor, size: int, size_name: str) -> None:
    """Ids outside an embedding table would fail deep inside it with an IndexError; say which argument instead."""
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= size:
        raise ValueError(
            f"{name}: ids must lie in [0, {size_name}={size}), got values from {low} to {high} (do the tokenizer "
            "and the model agree?)."
        )


def _trim_padding(
    hidden_states: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Drops trailing positions that are padding in every remaining example: exact, and less work."""
    real_positions = attention_mask.bool().any(0).nonzero()
    if len(real_positions) == 0:
        return hidden_states, attention_mask, position_ids
    length = int(real_positions[-1]) + 1  # (active, length', ...) below
    if position_ids is not None:
        position_ids = position_ids[..., :length]
    return hidden_states[:, :length], attention_mask[:, :length], position_ids


__all__ = ["BerxitPreTrainedModel", "BerxitModel", "BerxitForSequenceClassification"]
