"""One token per character, with the text normalisation the model was trained with.

Self-contained on purpose: a model folder pushed to the Hub is loaded with `trust_remote_code`,
so this file imports nothing from `genmods`.
"""

import json
import os

from transformers import PreTrainedTokenizer
from transformers.utils import logging

logger = logging.get_logger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json"}

# Typographic characters people paste into a prompt, mapped to the plain ASCII forms that
# Project Gutenberg texts (our corpus) use. Applied before the vocabulary lookup.
TYPOGRAPHIC_TO_ASCII = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "--", "\u2015": "--", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\t": " ", "\r\n": "\n", "\r": "\n",
}


class CharTokenizer(PreTrainedTokenizer):
    """Character tokenizer for [`CharLSTMForCausalLM`].

    `encode` adds no special tokens, so `len(input_ids) == len(text)` for text made of known
    characters. Characters outside the vocabulary (after normalisation) are dropped with a warning
    that names them; `unknown_characters(text)` tells a caller which they are beforehand.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file, lowercase=True, pad_token="<pad>", clean_up_tokenization_spaces=False, **kwargs):
        with open(vocab_file, encoding="utf-8") as handle:
            self.vocab: dict[str, int] = json.load(handle)
        self.ids_to_chars = {index: char for char, index in self.vocab.items()}
        self.lowercase = lowercase
        super().__init__(
            pad_token=pad_token,
            lowercase=lowercase,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            special_tokens_pattern="none",
            **kwargs,
        )

    @classmethod
    def from_corpus(cls, text: str, lowercase: bool = True, save_directory: str | None = None, **kwargs):
        """Builds the vocabulary from every distinct character of `text` (after normalisation), sorted,
        with `<pad>` last. The vocabulary file is written to `save_directory` (a temporary folder if None)."""
        import tempfile

        normalised = cls._normalise(text, lowercase)
        chars = sorted(set(normalised))
        vocab = {char: index for index, char in enumerate(chars)}
        vocab["<pad>"] = len(vocab)
        directory = save_directory or tempfile.mkdtemp(prefix="char-vocab-")
        os.makedirs(directory, exist_ok=True)
        vocab_file = os.path.join(directory, VOCAB_FILES_NAMES["vocab_file"])
        with open(vocab_file, "w", encoding="utf-8") as handle:
            json.dump(vocab, handle, ensure_ascii=False, indent=0)
        return cls(vocab_file=vocab_file, lowercase=lowercase, **kwargs)

    @staticmethod
    def _normalise(text: str, lowercase: bool) -> str:
        for typographic, ascii_form in TYPOGRAPHIC_TO_ASCII.items():
            if typographic in text:
                text = text.replace(typographic, ascii_form)
        return text.lower() if lowercase else text

    def normalise(self, text: str) -> str:
        """The text as the model sees it: typographic quotes and dashes made ASCII, lowercased if trained so."""
        return self._normalise(text, self.lowercase)

    def unknown_characters(self, text: str) -> list[str]:
        """Characters of `text` that are not in the vocabulary after normalisation, in order of first appearance."""
        seen = []
        for char in self.normalise(text):
            if char not in self.vocab and char not in seen:
                seen.append(char)
        return seen

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    def prepare_for_tokenization(self, text, is_split_into_words=False, **kwargs):
        return self.normalise(text), kwargs

    def _tokenize(self, text, **kwargs):
        tokens = [char for char in text if char in self.vocab]
        if len(tokens) != len(text):
            dropped = "".join(dict.fromkeys(char for char in text if char not in self.vocab))
            logger.warning(f"Dropped characters the model has never seen: {dropped!r}")
        return tokens

    def _convert_token_to_id(self, token):
        return self.vocab[token]

    def _convert_id_to_token(self, index):
        return self.ids_to_chars[index]

    def convert_tokens_to_string(self, tokens):
        return "".join(tokens)

    def save_vocabulary(self, save_directory, filename_prefix=None):
        name = (filename_prefix + "-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"]
        path = os.path.join(save_directory, name)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.vocab, handle, ensure_ascii=False, indent=0)
        return (path,)


__all__ = ["CharTokenizer"]
