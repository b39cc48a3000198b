"""berxit-export: a Hub-ready folder of a fine-tuned, calibrated model, optionally pushed to the Hub.

    berxit-export --model_dir runs/rt --export_dir runs/rt-export [--push_to_hub --hub_model_id you/berxit-rt]

The folder holds safetensors weights, the tokenizer, the config with the full `auto_map`, berxit's source files
(so it loads with `trust_remote_code=True` where berxit is not installed) and a model card with the results
table and curve of `berxit-sweep`. It is written beside its target and swapped in whole. A folder that holds
anything but an earlier berxit export is replaced only with `--overwrite`. The push uses `huggingface_hub` with
the token from `HF_TOKEN` or `hf auth login`; if it fails, the local export stays and the error says why.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers import AutoTokenizer

from ..modeling_berxit import BerxitForSequenceClassification
from .arguments import command, parse_arguments
from .files import check_writable, replace_folder_atomic
from .model_card import model_card
from .train import RUN_INFO, check_weights_belong

MARKER = "berxit_export.json"  # tells an earlier export apart from anything else


@dataclass
class ExportArguments:
    model_dir: str = field(metadata={"help": "A model fine-tuned by berxit-train and calibrated by berxit-sweep."})
    export_dir: str = field(metadata={"help": "The folder to write."})
    sweep_dir: str | None = field(
        default=None, metadata={"help": "berxit-sweep's output (default: <model_dir>/sweep)."}
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an export_dir that holds other files."})
    license: str = field(
        default="apache-2.0",
        metadata={
            "help": "The model card's license (a Hub license id); the packaged MiniLM and berxit are apache-2.0."
        },
    )
    language: str = field(default="en", metadata={"help": "The model card's language (ISO 639-1) of the texts."})
    push_to_hub: bool = field(default=False, metadata={"help": "Push the folder to the Hub as --hub_model_id."})
    hub_model_id: str | None = field(default=None, metadata={"help": "The Hub repository, e.g. you/berxit-rt."})

    def __post_init__(self):
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("hub_model_id: --push_to_hub needs the repository to push to, e.g. you/berxit-rt.")


@command("berxit-export")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(ExportArguments, argv, "berxit-export")
    model_dir, export_dir = Path(args.model_dir), Path(args.export_dir)
    sweep_dir = Path(args.sweep_dir) if args.sweep_dir else model_dir / "sweep"
    for needed in (model_dir / RUN_INFO, sweep_dir / "operating_point.json"):
        if not needed.is_file():
            raise ValueError(f"model_dir: {needed} is missing; run berxit-train and berxit-sweep first.")
    if export_dir.is_file() or (
        export_dir.is_dir() and any(export_dir.iterdir()) and not (export_dir / MARKER).is_file() and not args.overwrite
    ):
        raise ValueError(f"export_dir: {export_dir} already holds something else; pass --overwrite to replace it.")
    check_writable(export_dir.parent, "export_dir")

    run_info = json.loads((model_dir / RUN_INFO).read_text())
    operating = json.loads((sweep_dir / "operating_point.json").read_text())
    check_weights_belong(model_dir, run_info, "model_dir", "berxit-train")
    check_weights_belong(model_dir, operating, "sweep_dir", "berxit-sweep")
    model = BerxitForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    repo = args.hub_model_id or export_dir.name
    # Nothing local goes out: the backbone config names the base model's Hub id, or nothing.
    model.config.backbone_config._name_or_path = run_info["base_model"] or ""
    card = model_card(
        run_info, operating, (sweep_dir / "summary.md").read_text(), model.config, repo, args.license, args.language
    )

    def write(folder: Path) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        shutil.copyfile(sweep_dir / "curve.png", folder / "curve.png")
        card.save(folder / "README.md")
        (folder / MARKER).write_text(json.dumps(operating, indent=2))

    replace_folder_atomic(export_dir, write)
    print((sweep_dir / "summary.md").read_text())
    print(f"Curve: {export_dir / 'curve.png'}")
    print(f"Exported: {export_dir}")
    if args.push_to_hub:
        push(export_dir, args.hub_model_id)


def push(folder: Path, repo_id: str) -> None:
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
    print(f"Pushed: {commit.commit_url}")


if __name__ == "__main__":
    main(sys.argv[1:])
