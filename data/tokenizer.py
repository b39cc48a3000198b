"""The tokenizer saved beside a model, or an error that says it is missing (not a hint about sentencepiece); and
tokenizing a task's splits with it."""

from __future__ import annotations

from pathlib import Path

from datasets import DatasetDict
from transformers import AutoTokenizer

# More characters than any one token spans: a text this many times longer than the token limit keeps tokens to spare.
CHARACTERS_PER_TOKEN = 64
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


def shortened(tokenizer, texts: list[str] | None, max_length: int | None) -> list[str] | None:
    """`texts` with each huge one cut (at a space) to a prefix that still holds more than `max_length` tokens, so that
    truncation keeps exactly the same tokens without tokenizing the whole text first (a 50 MB cell took 7 GB)."""
    if texts is None or max_length is None or max_length > 1_000_000:  # no real limit
        return texts
    limit = max_length * CHARACTERS_PER_TOKEN
    kept = []
    for text in texts:
        if len(text) > limit:
            space = text.rfind(" ", 0, limit)
            prefix = text[: space if space > 0 else limit]
            tokens = tokenizer(prefix, add_special_tokens=False, truncation=True, max_length=max_length + 1)
            if len(tokens["input_ids"]) > max_length:
                text = prefix
        kept.append(text)
    return kept


def tokenize(splits: DatasetDict, tokenizer, max_length: int) -> DatasetDict:
    """Token ids and `labels` for each split; the text columns are dropped."""

    def encode(batch):
        pairs = shortened(tokenizer, batch["text_pair"] if "text_pair" in batch else None, max_length)
        texts = shortened(tokenizer, batch["text"], max_length)
        encoded = tokenizer(texts, pairs, truncation=True, max_length=max_length)
        if "label" in batch:  # calibration texts have none
            encoded["labels"] = batch["label"]
        return encoded

    return DatasetDict(
        {name: split.map(encode, batched=True, remove_columns=split.column_names) for name, split in splits.items()}
    )
