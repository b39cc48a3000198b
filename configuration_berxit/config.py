"""BerxitConfig: a BERT-family backbone plus the settings that decide when an example may leave early."""

from __future__ import annotations

import dataclasses

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from ..backbones.registry import SUPPORTED_BACKBONES
from ..exit_rules.rules import exit_rule_class, validate_patience, validate_threshold

EXIT_POOLINGS = ("cls", "mean")
CERTAINTY_INPUTS = ("pooled", "pooled_and_answer")
PAPER_CERTAINTY_INPUTS = "pooled"  # the paper's head, and that of every config saved before the choice existed
PROBLEM_TYPES = ("single_label_classification", "regression")


class BerxitConfig(PreTrainedConfig):
    r"""
    Configuration of a BERxiT model: a BERT-family encoder with an exit (pooler + task head) after every layer and
    one certainty head shared by all of them (Xin et al., EACL 2021).

    Args:
        backbone_config (`dict` or `PreTrainedConfig`, *optional*):
            Configuration of the backbone, of a `model_type` berxit can drive layer by layer: "bert", "roberta",
            "xlm-roberta", "distilbert", "albert", "electra", "deberta-v2" or "modernbert". Defaults to a
            BERT-base config.
        exit_rule (`str`, *optional*, defaults to `"certainty"`):
            Default rule of [`BerxitModel.early_exit_forward`] and of serving at `exit_threshold`:
            `"certainty"` (exit once the certainty head says >= threshold), `"entropy"` (DeeBERT: exit once
            `1 - entropy / log(num_labels)` >= threshold) or `"patience"` (PABEE: exit once the prediction has
            not changed for `patience` layers).
        exit_threshold (`float` or `list[float]`, *optional*):
            The operating point of the certainty and entropy rules, in [0, 1]: one value, or one per early exit
            (`num_hidden_layers - 1` values; the last layer always answers). When set, a model in eval mode serves
            at it: `forward` without labels runs only the layers each example needs, so pipelines and
            `Trainer.predict` use it unchanged.
        patience (`int`, *optional*, defaults to 2):
            How many consecutive layers must agree with the previous one before the patience rule exits. With
            `exit_rule="patience"` this is the operating point a model in eval mode serves at.
        exit_promise (`dict`, *optional*):
            What the operating point promises, written by `berxit-sweep` beside it: the chooser, the risk
            (`"harm"` or `"consistency"`), its limit `epsilon`, the `confidence`, the calibration examples and the
            certified bound (see `berxit.evaluation.risk_control`). Read by the model card; serving ignores it.
        exit_pooling (`str`, *optional*, defaults to `"cls"`):
            What every exit (and so the certainty head) reads of its layer: `"cls"`, the [CLS] state (the paper's),
            or `"mean"`, the attention-masked mean over the layer's real tokens, for backbones trained for
            mean-pooled sentence embeddings, whose [CLS] state in the lower layers barely varies across inputs.
            `from_pretrained_backbone` follows what the checkpoint declares.
        certainty_inputs (`str`, *optional*, defaults to `"pooled_and_answer"`):
            What the certainty head reads of each exit: `"pooled_and_answer"`, the exit's pooled vector and its own
            answer (class probabilities, their margin and `1 - entropy / log(num_labels)`; for regression the
            prediction), detached, or `"pooled"`, the pooled vector alone (the paper's). Reading the answer ranks
            right exits above wrong ones better and saves more layers at the same drop (README, *Ablation of the
            certainty head*). A config saved without this setting (before it existed) has the paper's head.
        num_labels (`int`): number of classes; 1 means regression (`problem_type="regression"`).

    Example:

    ```python
    >>> from berxit import BerxitConfig, BerxitModel
    >>> config = BerxitConfig(backbone_config={"model_type": "bert", "num_hidden_layers": 6}, num_labels=2)
    >>> model = BerxitModel(config)
    ```
    """

    model_type = "berxit"
    sub_configs_defaults = {"backbone_config": SubConfigSpec(config_class=AutoConfig, model_type="bert")}
    # Scalars that Trainer must not gather as predictions.
    keys_to_ignore_at_inference = ["task_loss", "certainty_loss", "distillation_loss"]

    backbone_config: dict | PreTrainedConfig | None = None
    exit_rule: str = "certainty"
    exit_threshold: float | list[float] | None = None
    patience: int = 2
    exit_promise: dict | None = None
    exit_pooling: str = "cls"
    certainty_inputs: str = "pooled_and_answer"

    def __post_init__(self, **kwargs):
        supported = SUPPORTED_BACKBONES
        # Settings of the backbone given to berxit's config (`BerxitConfig(..., hidden_size=64)`, or an override at
        # `from_pretrained`) go to the backbone config, which owns them.
        overrides = {key: kwargs.pop(key) for key in list(kwargs) if _is_backbone_setting(key)}
        requested = kwargs.get("num_labels")  # transformers turns a negative count into 0 classes
        if requested is not None and (isinstance(requested, bool) or not isinstance(requested, int) or requested < 1):
            raise ValueError(f"num_labels: expected an int >= 1 (1 means regression), got {requested!r}.")
        if requested is not None and self.id2label is not None and len(self.id2label) != requested:
            raise ValueError(
                f"id2label: expected one name for each class id 0..{requested - 1} (num_labels={requested}), got "
                f"{len(self.id2label)} names."
            )
        if isinstance(self.backbone_config, dict) and "model_type" not in self.backbone_config:
            raise ValueError(f"backbone_config: a dict needs its 'model_type', one of {supported}.")
        super().__post_init__(**kwargs)
        for key, value in self._apply_backbone_overrides(overrides).items():
            setattr(self, key, value)  # neither config's: kept as transformers keeps unknown settings
        if self.num_labels < 1:
            raise ValueError(f"num_labels: expected an int >= 1 (1 means regression), got {self.num_labels}.")
        backbone_type = self.backbone_config.model_type
        if backbone_type not in supported:
            raise ValueError(f"backbone_config: berxit supports the backbone types {supported}, got {backbone_type!r}.")
        if self.problem_type is None:
            self.problem_type = "regression" if self.num_labels == 1 else "single_label_classification"
        if self.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type: expected one of {PROBLEM_TYPES}, got {self.problem_type!r}.")
        if (self.problem_type == "regression") != (self.num_labels == 1):
            raise ValueError(
                f"num_labels: regression needs num_labels=1 and classification at least 2; got num_labels="
                f"{self.num_labels} with problem_type={self.problem_type!r}."
            )
        validate_id2label(self.id2label, self.num_labels)
        if self.exit_pooling not in EXIT_POOLINGS:
            raise ValueError(f"exit_pooling: expected one of {EXIT_POOLINGS}, got {self.exit_pooling!r}.")
        if self.certainty_inputs not in CERTAINTY_INPUTS:
            raise ValueError(f"certainty_inputs: expected one of {CERTAINTY_INPUTS}, got {self.certainty_inputs!r}.")
        rule = exit_rule_class(self.exit_rule, "exit_rule")
        if rule.setting_name != "threshold" and self.exit_threshold is not None:
            raise ValueError(
                f"exit_threshold: the {rule.name} rule takes no threshold; leave it None and set `{rule.setting_name}`."
            )
        if self.exit_threshold is not None:
            validate_threshold(self.exit_threshold, self.num_hidden_layers, name="exit_threshold")
        validate_patience(self.patience)

    @property
    def num_hidden_layers(self) -> int:
        return self.backbone_config.num_hidden_layers

    @num_hidden_layers.setter
    def num_hidden_layers(self, value: int) -> None:
        self.backbone_config.num_hidden_layers = value

    @property
    def hidden_size(self) -> int:
        return self.backbone_config.hidden_size

    @hidden_size.setter
    def hidden_size(self, value: int) -> None:
        self.backbone_config.hidden_size = value

    def _apply_backbone_overrides(self, overrides: dict) -> dict:
        """Sets those of `overrides` that the backbone config has on it; returns the others."""
        for key in [key for key in overrides if hasattr(self.backbone_config, key)]:
            setattr(self.backbone_config, key, overrides.pop(key))
        return overrides

    @property
    def is_regression(self) -> bool:
        return self.problem_type == "regression"

    @property
    def has_operating_point(self) -> bool:
        """Whether the config says where to exit: its rule's setting is saved (a threshold, or the patience)."""
        return exit_rule_class(self.exit_rule, "exit_rule").saved_setting(self) is not None

    def get_text_config(self, decoder=None, encoder=None) -> PreTrainedConfig:
        """The backbone's config: what `resize_token_embeddings` and other text settings must update."""
        return self.backbone_config

    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs):
        model_type = config_dict.get("model_type", cls.model_type)
        if model_type != cls.model_type:
            supported = SUPPORTED_BACKBONES
            hint = (
                "Start from it with `BerxitForSequenceClassification.from_pretrained_backbone(path, num_labels=...)`."
                if model_type in supported
                else f"berxit starts from the backbone types {supported}."
            )
            raise ValueError(
                f"pretrained_model_name_or_path: this is a {model_type!r} checkpoint, not a berxit one. {hint}"
            )
        # Overrides at load (`from_pretrained(path, num_hidden_layers=1)`): the backbone's settings go to the
        # backbone config; berxit's are set as transformers sets them, then checked as the constructor checks them.
        return_unused = kwargs.pop("return_unused_kwargs", False)
        if model_type == cls.model_type and "certainty_inputs" not in config_dict:  # saved before the choice existed
            config_dict = {**config_dict, "certainty_inputs": PAPER_CERTAINTY_INPUTS}
        requested, saved = kwargs.get("num_labels"), config_dict.get("id2label")
        if requested is not None and saved and len(saved) != requested:
            # Re-heading a checkpoint for another label set (`num_labels=5, ignore_mismatched_sizes=True`): the saved
            # names go, and transformers names the new classes LABEL_0..LABEL_{n-1}, as it does for its own models.
            config_dict = {key: value for key, value in config_dict.items() if key not in ("id2label", "label2id")}
        config, unused = super().from_dict(config_dict, return_unused_kwargs=True, **kwargs)
        backbone = {key: unused.pop(key) for key in list(unused) if _is_backbone_setting(key)}
        unused.update(config._apply_backbone_overrides(backbone))
        if requested is None:
            requested = len(saved) if saved else _PLAIN_CONFIG.num_labels  # unsaved: transformers' default
        validate_id2label(config.id2label, requested)
        return (config, unused) if return_unused else config


def _is_backbone_setting(key: str) -> bool:
    """Whether `key` names no setting of berxit's own config (nor of every transformers config): then it belongs to
    the backbone's, e.g. `vocab_size`, `hidden_size` or `num_hidden_layers`."""
    return key not in _OWN_SETTINGS and not key.startswith("_") and not hasattr(_PLAIN_CONFIG, key)


def validate_id2label(id2label: dict, num_labels: int) -> None:
    """The class names must be keyed by the class ids 0..num_labels-1, or a class would be reported by number."""
    ids = sorted(int(key) for key in id2label)
    if ids != list(range(num_labels)):
        raise ValueError(
            f"id2label: expected one name for each class id 0..{num_labels - 1} (num_labels={num_labels}), got the "
            f"ids {ids}."
        )


_PLAIN_CONFIG = PreTrainedConfig()
# berxit's settings, and those every transformers config takes at construction without keeping them as attributes.
_OWN_SETTINGS = {field.name for field in dataclasses.fields(BerxitConfig)} | {
    "attn_implementation",
    "experts_implementation",
    "name_or_path",
    "torch_dtype",
    "per_layer_config",
    "rope_scaling",
    "rope_theta",
}

__all__ = ["BerxitConfig"]
