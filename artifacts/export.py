"""The Hub-ready export of a fine-tuned, calibrated run, and its push to the Hub.

The folder holds safetensors weights, the tokenizer, the config with the full `auto_map`, berxit's source files
(so it loads with `trust_remote_code=True` where berxit is not installed), the sweep's curve and the model card.
It is written beside its target and swapped in whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from transformers import AutoTokenizer

from ..modeling_berxit import BerxitForSequenceClassification
from ..reporting.model_card import model_card
from .files import check_writable, replace_folder_atomic
from .run_record import RUN_INFO, check_weights_belong, read_run

MARKER = "berxit_export.json"  # tells an earlier export apart from anything else
OPERATING_POINT = "operating_point.json"


def export_run(
    model_dir: Path, sweep_dir: Path, export_dir: Path, repo: str, license: str, language: str, overwrite: bool
) -> None:
    """Writes the export of the run in `model_dir`, swept into `sweep_dir`, to `export_dir`.

    A folder that holds anything but an earlier berxit export is replaced only with `overwrite`; results made for
    other weights than the run's are refused.
    """
    for needed in (model_dir / RUN_INFO, sweep_dir / OPERATING_POINT):
        if not needed.is_file():
            raise ValueError(f"model_dir: {needed} is missing; run berxit-train and berxit-sweep first.")
    if export_dir.is_file() or (
        export_dir.is_dir() and any(export_dir.iterdir()) and not (export_dir / MARKER).is_file() and not overwrite
    ):
        raise ValueError(f"export_dir: {export_dir} already holds something else; pass --overwrite to replace it.")
    check_writable(export_dir.parent, "export_dir")

    run_info = read_run(model_dir)
    operating = json.loads((sweep_dir / OPERATING_POINT).read_text())
    check_weights_belong(model_dir, operating, "sweep_dir", "berxit-sweep")
    model = BerxitForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    # Nothing local goes out: the backbone config names the base model's Hub id, or nothing.
    model.config.backbone_config._name_or_path = run_info["base_model"] or ""
    card = model_card(
        run_info, operating, (sweep_dir / "summary.md").read_text(), model.config, repo, license, language
    )

    def write(folder: Path) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        shutil.copyfile(sweep_dir / "curve.png", folder / "curve.png")
        card.save(folder / "README.md")
        (folder / MARKER).write_text(json.dumps(operating, indent=2))

    replace_folder_atomic(export_dir, write)


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
