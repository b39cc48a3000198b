"""The Hub-ready export of a fine-tuned, calibrated run, and its push to the Hub.

The folder holds safetensors weights, the tokenizer, the config with the full `auto_map`, berxit's source files
(so it loads with `trust_remote_code=True` where berxit is not installed), the sweep's curve and the model card.
It is written beside its target and swapped in whole.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from ..artifacts.atomic_files import check_writable, read_json, replace_folder_atomic
from ..artifacts.run_record import RUN_INFO, check_weights_belong, read_run
from ..data import TaskData
from ..data.tokenizer import load_tokenizer
from ..evaluation.records import ExitRecord
from ..exit_rules.rules import exit_rule_class
from ..modeling_berxit import BerxitForSequenceClassification
from ..onnx_runtime.export_graphs import export_onnx, quantize_int8
from ..onnx_runtime.runner import ONNX_FOLDER, ONNX_INT8_FOLDER
from ..reporting.model_card import model_card
from .calibrate_int8 import calibrate_int8

MARKER = "berxit_export.json"  # tells an earlier export apart from anything else
OPERATING_POINT = "operating_point.json"


def export_run(
    model_dir: Path,
    sweep_dir: Path,
    export_dir: Path,
    *,
    repo: str,
    license: str,
    language: str,
    overwrite: bool,
    onnx: bool = False,
    quantize: str | None = None,
    task: TaskData | None = None,
    max_length: int | None = None,
) -> None:
    """Writes the export of the run in `model_dir`, swept into `sweep_dir`, to `export_dir`.

    With `quantize="int8"`, the int8 graphs get their own operating point, chosen on `task`'s validation split
    (tokenized to `max_length`) with the sweep's rule and promise (`workflows.calibrate_int8`).

    Only an earlier berxit export is replaced, and only with `overwrite`; a folder that is, holds or lies inside the
    run or the sweep is refused, and so are results made for other weights than the run's, or a sweep whose
    operating point is not the one the config serves.
    """
    for needed in (model_dir / RUN_INFO, sweep_dir / OPERATING_POINT):
        if not needed.is_file():
            raise ValueError(f"model_dir: {needed} is missing; run berxit-train and berxit-sweep first.")
    check_export_dir(export_dir, {"model_dir": model_dir, "sweep_dir": sweep_dir}, overwrite)
    check_writable(export_dir.parent, "export_dir")

    run_info = read_run(model_dir)
    operating = read_json(sweep_dir / OPERATING_POINT, "sweep_dir")
    check_weights_belong(model_dir, operating, "sweep_dir", "berxit-sweep")
    model = BerxitForSequenceClassification.from_pretrained(model_dir)
    check_config_serves(model.config, operating, sweep_dir)
    tokenizer = load_tokenizer(model_dir, "model_dir")
    # Nothing local goes out: the backbone config names the base model's Hub id, or nothing.
    model.config.backbone_config._name_or_path = run_info["base_model"] or ""
    card = model_card(
        run_info,
        operating,
        (sweep_dir / "summary.md").read_text(),
        config=model.config,
        repo=repo,
        license=license,
        language=language,
    )

    def write(folder: Path) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        shutil.copyfile(sweep_dir / "curve.png", folder / "curve.png")
        card.save(folder / "README.md")
        if onnx:  # checked against PyTorch before the folder is published
            export_onnx(model, folder / ONNX_FOLDER)
        if quantize == "int8":
            quantize_int8(folder / ONNX_FOLDER, folder / ONNX_INT8_FOLDER)
            fp32_test = sweep_dir / "record_test.npz"  # the sweep's, for the table against fp32
            fp32_test = ExitRecord.load(fp32_test, model.config) if fp32_test.is_file() else None
            graphs = folder / ONNX_INT8_FOLDER
            calibrate_int8(
                graphs,
                model.config,
                task,
                tokenizer=tokenizer,
                max_length=max_length,
                operating=operating,
                fp32_test=fp32_test,
            )
        (folder / MARKER).write_text(json.dumps(operating, indent=2))

    replace_folder_atomic(export_dir, write)


def check_export_dir(export_dir: Path, sources: dict[str, Path], overwrite: bool) -> None:
    """An export replaces only an earlier export (with `overwrite`) or an empty folder: never a run or a sweep it
    reads, a folder inside one, a folder holding one, nor any other folder, `overwrite` or not."""
    target = export_dir.resolve()
    for argument, source in sources.items():
        source = source.resolve()
        if target == source or target in source.parents or source in target.parents:
            where = "is" if target == source else "holds" if target in source.parents else "lies inside"
            raise ValueError(
                f"export_dir: {export_dir} {where} the {argument} {source} it exports from; choose a folder of its "
                "own, e.g. <model_dir>-export."
            )
    if export_dir.is_file():
        raise ValueError(f"export_dir: {export_dir} is a file; expected a folder for the export.")
    if not export_dir.is_dir() or not any(export_dir.iterdir()):
        return
    if not (export_dir / MARKER).is_file():
        raise ValueError(
            f"export_dir: {export_dir} holds files that are not a berxit export; an export replaces only an earlier "
            "export. Choose an empty or new folder."
        )
    if not overwrite:
        raise ValueError(f"export_dir: {export_dir} holds an earlier export; pass --overwrite to replace it.")


def check_config_serves(config, operating: dict, sweep_dir: Path) -> None:
    """The card describes the sweep in `sweep_dir`: it must be the one whose operating point the config serves."""
    served = (config.exit_rule, exit_rule_class(config.exit_rule).saved_setting(config))
    swept = copy.deepcopy(config)  # what the sweep wrote: its setting, or the last layer where none was certified
    exit_rule_class(operating["rule"]).save_setting(swept, operating["setting"])
    if served != (swept.exit_rule, exit_rule_class(swept.exit_rule).saved_setting(swept)):
        raise ValueError(
            f"sweep_dir: {sweep_dir} holds the {operating['rule']} operating point {operating['setting']}, but the "
            f"model's config.json serves {served[0]} at {served[1]} (written by another berxit-sweep); pass the "
            "--sweep_dir of the sweep that wrote config.json, or run berxit-sweep again."
        )


def push(folder: Path, repo_id: str) -> str:
    """Pushes `folder` to the Hub repository `repo_id` with `huggingface_hub`; returns the commit's URL.

    If the push fails, the local export stays and the error says why.
    """
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="Upload berxit model")
    except Exception as error:  # the network, the token, the server: say which, keep the export
        raise SystemExit(
            f"Push to {repo_id} at {api.endpoint} failed ({type(error).__name__}: {error}). "
            f"The export in {folder} is intact; push it again when the problem is fixed."
        ) from error
    return commit.commit_url
