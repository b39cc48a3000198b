"""Which adapter drives each backbone type: one line per family."""

from __future__ import annotations

from .backbone_albert import AlbertAdapter
from .backbone_bert import BertAdapter
from .backbone_deberta_v2 import DebertaV2Adapter
from .backbone_distilbert import DistilBertAdapter
from .backbone_electra import ElectraAdapter
from .backbone_modernbert import ModernBertAdapter
from .backbone_roberta import RobertaAdapter
from .backbones import BackboneAdapter

ADAPTERS: dict[str, BackboneAdapter] = {
    "bert": BertAdapter(),
    "roberta": RobertaAdapter(),
    "xlm-roberta": RobertaAdapter(),
    "distilbert": DistilBertAdapter(),
    "albert": AlbertAdapter(),
    "electra": ElectraAdapter(),
    "deberta-v2": DebertaV2Adapter(),
    "modernbert": ModernBertAdapter(),
}
SUPPORTED_BACKBONES = tuple(ADAPTERS)


def backbone_adapter(model_type: str) -> BackboneAdapter:
    return ADAPTERS[model_type]
