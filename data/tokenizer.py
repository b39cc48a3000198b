"""The tokenizer saved beside a model, or an error that says it is missing (not a hint about sentencepiece)."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer

# What a saved tokenizer leaves in its folder: any one of them.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model")


def load_tokenizer(model_dir: str | Path, argument: str):
    """`AutoTokenizer.from_pretrained(model_dir)`; a local folder with no tokenizer files is refused by name."""
    folder = Path(model_dir)
    if folder.is_dir() and not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ValueError(
            f"{argument}: {folder} holds no tokenizer (none of {', '.join(TOKENIZER_FILES)}); save the model's "
            "tokenizer beside it with tokenizer.save_pretrained(folder)."
        )
    return AutoTokenizer.from_pretrained(model_dir)
