"""BERT: the family every default of `BackboneAdapter` describes."""

from __future__ import annotations

from .adapter import BackboneAdapter


class BertAdapter(BackboneAdapter):
    """BERT (and MiniLM, its distilled sentence encoders): learned positions from 0, token types, a pooler."""
