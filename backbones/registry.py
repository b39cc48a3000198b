"""Which adapter drives each backbone type: one line per family."""

from __future__ import annotations

from .adapter import BackboneAdapter
from .albert import AlbertAdapter
from .bert import BertAdapter
from .deberta_v2 import DebertaV2Adapter
from .distilbert import DistilBertAdapter
from .electra import ElectraAdapter
from .modernbert import ModernBertAdapter
from .roberta import RobertaAdapter

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
