"""A run folder: the fine-tuned model, written staged and swapped in, and `berxit_run.json`, written last, which
marks the run finished and records the SHA-256 of its weights, so that results made for other weights (a sweep,
an export) are refused rather than published."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .atomic_files import read_json, sha256_file, write_text_atomic

RUN_INFO = "berxit_run.json"
WEIGHTS = "model.safetensors"
STAGING = ".berxit-final"  # where the final model is written before it is swapped in
SWEEP = "sweep"  # berxit-sweep's results inside the run folder


def read_run(model_dir: Path) -> dict:
    """The record of the finished run in `model_dir`, checked against the weights beside it."""
    if not (model_dir / RUN_INFO).is_file():
        raise ValueError(f"model_dir: expected a folder written by berxit-train (with {RUN_INFO}), got {model_dir}.")
    run_info = read_json(model_dir / RUN_INFO, "model_dir")
    check_weights_belong(model_dir, run_info, "model_dir", "berxit-train")
    return run_info


def check_weights_belong(model_dir: Path, results: dict, argument: str, maker: str) -> None:
    """Refuses results (a run record, a sweep) made for other weights than those now in `model_dir`."""
    weights = model_dir / WEIGHTS
    if not weights.is_file():
        raise ValueError(f"{argument}: {model_dir} holds no {WEIGHTS}; run berxit-train first.")
    if results.get("weights_sha256") != sha256_file(weights):
        raise ValueError(
            f"{argument}: the results in {model_dir} were made for other weights than its {WEIGHTS} (changed "
            f"since, or written by an older berxit); run {maker} again."
        )


def check_data_unchanged(run_info: dict, fingerprints: dict[str, str]) -> None:
    """Refuses to choose an operating point on data other than the run's: appended rows re-split train, validation and
    test, and the operating point would be chosen and reported on examples the model trained on."""
    recorded = run_info.get("data_sha256")
    if recorded is None:  # a run recorded before berxit fingerprinted its data
        return
    changed = [split for split, digest in fingerprints.items() if recorded.get(split) != digest]
    if changed:
        raise ValueError(
            f"dataset: the {', '.join(changed)} split(s) of {run_info['data']['dataset']} differ from those the run "
            "was trained with (the data changed since berxit-train); validation and test may now hold training "
            "examples. Restore the data, or train again on the new data."
        )


def finish_run(output_dir: Path, save: Callable[[Path], None], run_info: dict, is_main_process: bool = True) -> None:
    """Writes the final model with `save(folder)` into a staging folder, then swaps it into `output_dir`.

    The old run record goes first and the new one, with the weights' SHA-256, last: a run killed in between has no
    record and is not taken for finished. The old sweep is dropped: it belongs to the weights just replaced. Every
    process calls this (the Trainer saves from the main one); only the main one moves files.
    """
    staging = output_dir / STAGING
    if is_main_process and staging.exists():
        shutil.rmtree(staging)  # left by a run killed while saving
    save(staging)
    if not is_main_process:
        return
    run_info = {**run_info, "weights_sha256": sha256_file(staging / WEIGHTS)}
    (output_dir / RUN_INFO).unlink(missing_ok=True)
    for path in staging.iterdir():
        os.replace(path, output_dir / path.name)
    staging.rmdir()
    shutil.rmtree(output_dir / SWEEP, ignore_errors=True)
    write_text_atomic(output_dir / RUN_INFO, json.dumps(run_info, indent=2))
