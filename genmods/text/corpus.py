"""Reading a training corpus, checking it is usable, and splitting off the held-out tail."""

from dataclasses import dataclass
from pathlib import Path

HELDOUT_FRACTION = 0.05


class CorpusError(ValueError):
    """The corpus cannot be trained on; the message says why, in words a person can act on."""


@dataclass
class Corpus:
    train: str
    heldout: str

    @property
    def text(self) -> str:
        return self.train + self.heldout


def read_corpus(path: str | Path) -> str:
    """The file's text, or a `CorpusError` for a missing, empty or binary file."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus file not found: {path}")
    if path.is_dir():
        raise CorpusError(f"corpus path is a folder, not a text file: {path}")
    raw = path.read_bytes()
    if not raw.strip():
        raise CorpusError(f"corpus file is empty: {path}")
    if b"\x00" in raw[:65536]:
        raise CorpusError(f"corpus file looks binary (it contains NUL bytes), not text: {path}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"corpus file is not UTF-8 text ({error.reason} at byte {error.start}): {path}") from None


def split_heldout(text: str) -> Corpus:
    """The last 5% of the characters are held out, exactly as `shared/eval/heldout_loss.py` takes them."""
    cut = int(len(text) * (1 - HELDOUT_FRACTION))
    return Corpus(train=text[:cut], heldout=text[cut:])


def check_trainable(corpus: Corpus, streams: int, sequence_length: int) -> None:
    """char-rnn batching cuts the training text into `streams` contiguous rows; each row must hold at
    least one window of `sequence_length` inputs plus the target after it."""
    needed = streams * (sequence_length + 1)
    if len(corpus.train) < needed:
        raise CorpusError(
            f"corpus too short: {len(corpus.train)} training characters, but batch size × (sequence length + 1) "
            f"= {streams} × {sequence_length + 1} = {needed} are needed; use a longer text or smaller "
            "--batch-size / --sequence-length"
        )
    if len(corpus.heldout) < 2:
        raise CorpusError("corpus too short to hold out 5% for validation")
