"""Early exit over a dataset of any size on a Ray cluster: `BerxitPredictor` is the callable class that
`ray.data.Dataset.map_batches` runs in an actor pool, each actor loading the model once.

    import ray
    from berxit.integrations.ray import BerxitPredictor

    ray.init(address="auto")
    reviews = ray.data.read_parquet("s3://bucket/reviews/")
    answered = reviews.map_batches(
        BerxitPredictor,
        fn_constructor_kwargs={"model_dir": "user/berxit-rte", "runtime": "onnxruntime", "quantized": True},
        concurrency=8,          # actors; each answers its batches with the layer-queue scheduler
        num_cpus=2,             # per actor: ONNX Runtime's threads (on GPUs: runtime="pytorch", num_gpus=1)
        batch_size=4096,        # rows Ray hands an actor at once (answered 32 a layer call, sorted by length)
        batch_format="numpy",
    )
    answered.write_parquet("s3://bucket/answers/")

This module does not import Ray: Ray imports it in each actor (`pip install "berxit[ray]"` for Ray itself).
"""

from __future__ import annotations

import numpy as np

from ..data.tokenizer import load_tokenizer
from ..serving.file_predictions import COLUMNS
from ..serving.loading import load_for_serving
from ..serving.predictions import predict


class BerxitPredictor:
    """Adds `predicted_label`, `score`, `exit_layer` and `certainty` to each batch (a dict of numpy arrays): the
    values `berxit-predict` writes for the same rows (score is NaN for regression, where it writes none).

    Args:
        model_dir: a berxit run or export, or a Hub id.
        runtime, quantized: as `berxit-predict` takes them ("onnxruntime" and int8 need an export).
        text_column, text_pair_column: the batch's text column (and second text, for pairs).
        batch_size: rows per layer call (the layer queues sort windows of 8 of them by length).
        max_length, rule, threshold, patience: as `berxit-predict` takes them.
    """

    def __init__(
        self,
        model_dir: str,
        *,
        runtime: str = "onnxruntime",
        quantized: bool = False,
        text_column: str = "text",
        text_pair_column: str | None = None,
        batch_size: int = 32,
        max_length: int | None = None,
        rule: str | None = None,
        threshold: float | None = None,
        patience: int | None = None,
    ):
        self.model = load_for_serving(model_dir, runtime=runtime, quantized=quantized)
        self.tokenizer = load_tokenizer(model_dir, "model_dir")
        self.text_column, self.text_pair_column = text_column, text_pair_column
        self.settings = dict(
            batch_size=batch_size, max_length=max_length, rule=rule, threshold=threshold, patience=patience
        )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for argument, column in (("text_column", self.text_column), ("text_pair_column", self.text_pair_column)):
            if column is not None and column not in batch:
                raise ValueError(f"{argument}: the batch has no column {column!r}; it has {sorted(batch)}.")
        taken = sorted(set(COLUMNS.values()) & set(batch))
        if taken:
            raise ValueError(f"batch: its columns {taken} would be overwritten by the predictions; rename them.")
        texts = [str(text) for text in batch[self.text_column]]
        pairs = None if self.text_pair_column is None else [str(text) for text in batch[self.text_pair_column]]
        if not texts:
            return {**batch, **{column: np.array([]) for column in COLUMNS.values()}}
        answers = predict(self.model, self.tokenizer, texts, text_pairs=pairs, show_progress=False, **self.settings)
        values = {
            "label": np.array([answer["label"] for answer in answers]),
            "score": np.array([np.nan if answer["score"] is None else answer["score"] for answer in answers]),
            "exit_layer": np.array([answer["exit_layer"] for answer in answers], dtype=np.int64),
            "certainty": np.array([answer["certainty"] for answer in answers], dtype=np.float64),
        }
        return {**batch, **{COLUMNS[name]: column for name, column in values.items()}}
