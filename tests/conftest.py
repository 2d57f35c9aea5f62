import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach the Hub; fail fast instead of retrying
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
COLLECTED = {}  # what this run collected: {"count": n, "whole_suite": bool} (the README's test count is checked)


def pytest_collection_modifyitems(session, config, items):
    option = config.option
    selected = not (option.keyword or option.markexpr or option.deselect or getattr(option, "lf", False))
    whole = selected and all(Path(arg).resolve() == REPO / "tests" for arg in config.args)
    COLLECTED.update(count=len(items), whole_suite=whole)
NIETZSCHE = REPO.parent / "shared" / "data" / "nietzsche.txt"

# A few sentences in the corpus's style, so the text tests need no data file.
SAMPLE_TEXT = (
    "Supposing that truth is a woman--what then? Is there not ground for suspecting that all philosophers, "
    "in so far as they have been dogmatists, have failed to understand women; that the terrible seriousness "
    "and clumsy importunity with which they have usually paid their addresses to truth, have been unskilled "
    "and unseemly methods for winning a woman? new faculty, and the jubilation reached its climax when kant "
    "first said: 1234567890 (there!) \"quoted\" 'single' [brackets]; colons: and semicolons.\n"
) * 4


@pytest.fixture(scope="session")
def char_tokenizer(tmp_path_factory):
    from genmods.text import CharTokenizer

    return CharTokenizer.from_corpus(SAMPLE_TEXT, lowercase=True, save_directory=str(tmp_path_factory.mktemp("vocab")))


@pytest.fixture(scope="session")
def char_model(char_tokenizer):
    """A small random char-LSTM (its maths does not depend on training)."""
    from genmods.text import CharLSTMConfig, CharLSTMForCausalLM

    torch.manual_seed(0)
    config = CharLSTMConfig(
        vocab_size=len(char_tokenizer), embedding_size=16, hidden_size=48, num_hidden_layers=2, dropout=0.1,
        pad_token_id=char_tokenizer.pad_token_id, initializer_range=0.3,
    )
    return CharLSTMForCausalLM(config).eval()


@pytest.fixture(scope="session")
def saved_char_model(char_model, char_tokenizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("char-lstm")
    char_model.generation_config.pad_token_id = char_tokenizer.pad_token_id
    char_model.save_pretrained(folder)
    char_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def decompression_bomb(tmp_path_factory):
    """A valid 30,000 × 30,000 black PNG of about 100 kB: 900 megapixels once decoded."""
    import struct
    import zlib

    side = 30_000

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + side // 8)  # filter byte + one bit per pixel
    data = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path
