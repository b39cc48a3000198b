"""The tokenizer saved beside a model, or an error that says it is missing (not a hint about sentencepiece); and
tokenizing a task's splits with it."""

from __future__ import annotations

from pathlib import Path

from datasets import DatasetDict
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


def tokenize(splits: DatasetDict, tokenizer, max_length: int) -> DatasetDict:
    """Token ids and `labels` for each split; the text columns are dropped."""

    def encode(batch):
        pairs = batch["text_pair"] if "text_pair" in batch else None
        encoded = tokenizer(batch["text"], pairs, truncation=True, max_length=max_length)
        if "label" in batch:  # calibration texts have none
            encoded["labels"] = batch["label"]
        return encoded

    return DatasetDict(
        {name: split.map(encode, batched=True, remove_columns=split.column_names) for name, split in splits.items()}
    )
