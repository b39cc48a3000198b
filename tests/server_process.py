"""A real server for the tests that need requests caught in flight (SIGTERM, a client going away, a full queue):
run as a script, berxit's app on uvicorn over a runtime whose every layer call sleeps.

    python tests/server_process.py MODEL_DIR DELAY_S SETTINGS_JSON --port PORT
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from berxit.lab.benchmarking.server_process import running

HERE = Path(__file__).parent


def serve_slowly(model_dir, delay_s: float, **settings):
    return running([str(HERE / "server_process.py"), str(model_dir), str(delay_s), json.dumps(settings)])


def main() -> None:
    import uvicorn
    from transformers import AutoTokenizer

    from berxit import BerxitForSequenceClassification
    from berxit.modeling_berxit.row_steps import TorchRowSteps
    from berxit.server import ServerSettings, create_app

    model_dir, delay, settings = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    port = int(sys.argv[sys.argv.index("--port") + 1])

    class SlowSteps(TorchRowSteps):
        def run_rows(self, layer, rows):
            time.sleep(delay)
            return super().run_rows(layer, rows)

    class SlowModel:
        def __init__(self, model):
            self.model = model

        def row_steps(self):
            return SlowSteps(self.model)

    model = BerxitForSequenceClassification.from_pretrained(model_dir).eval()
    app = create_app(SlowModel(model), AutoTokenizer.from_pretrained(model_dir), ServerSettings(**settings))
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")).run()


if __name__ == "__main__":
    main()
