"""berxit behind an HTTP endpoint: the app (`create_app`), its continuous layer-batching engine and its settings.
Needs `pip install berxit[serve]` (FastAPI, uvicorn, prometheus_client); `berxit-serve` runs it."""

from .app import create_app
from .engine import LayerBatchingEngine
from .settings import ServerSettings

__all__ = ["LayerBatchingEngine", "ServerSettings", "create_app"]
