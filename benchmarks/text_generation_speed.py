"""Char-LSTM generation speed on this CPU: generate() vs bare torch loops vs textbook re-feeding.

    python benchmarks/text_generation_speed.py [--new 1000] [--model-dir models/char-lstm-nietzsche]

For a 2-layer 512-unit model: chars/s of `generate()` for 1,000 new characters at batch 3 (three
temperatures, one LSTM step per character through the DynamicCache); the same sampling with bare torch
loops over the same weights (nn.LSTM with oneDNN on and off, and torch.lstm_cell); and the textbook
Keras loop that re-feeds a 40-character window for every new character. Then generate() at batch 1.
"""

import argparse
import time
from pathlib import Path

import torch

import _path  # noqa: F401,I001  (the repository on sys.path)

from genmods.text import CharLSTMConfig, CharLSTMForCausalLM, CharTokenizer
from genmods.text.generate import sample_at_temperatures
from genmods.text.sampling import LECTURE_TEMPERATURES, SEED_TEXT

REPO = Path(__file__).resolve().parents[1]


def load(model_dir: Path):
    if (model_dir / "config.json").exists():
        model = CharLSTMForCausalLM.from_pretrained(model_dir).eval()
        return model, CharTokenizer.from_pretrained(model_dir)
    tokenizer = CharTokenizer.from_corpus("".join(chr(c) for c in range(32, 91)))
    config = CharLSTMConfig(vocab_size=len(tokenizer), hidden_size=512, num_hidden_layers=2, pad_token_id=tokenizer.pad_token_id)
    return CharLSTMForCausalLM(config).eval(), tokenizer


def sample(logits, temperatures):
    return torch.multinomial(torch.softmax(logits / temperatures, dim=-1), 1)


@torch.no_grad()
def bare_nn_lstm(model, ids, new, temperatures, onednn: bool):
    with torch.backends.mkldnn.flags(enabled=onednn):
        output, state = model.model.lstm(model.model.embed(ids))
        token = sample(model.lm_head(output[:, -1]), temperatures)
        for _ in range(new - 1):
            output, state = model.model.lstm(model.model.embed(token), state)
            token = sample(model.lm_head(output[:, -1]), temperatures)


@torch.no_grad()
def bare_lstm_cell(model, ids, new, temperatures):
    lstm, layers = model.model.lstm, model.config.num_hidden_layers
    weights = [(getattr(lstm, f"weight_ih_l{i}"), getattr(lstm, f"weight_hh_l{i}"), getattr(lstm, f"bias_ih_l{i}"),
                getattr(lstm, f"bias_hh_l{i}")) for i in range(layers)]
    output, (h, c) = lstm(model.model.embed(ids))
    h, c = list(h), list(c)
    token = sample(model.lm_head(output[:, -1]), temperatures)
    for _ in range(new - 1):
        x = model.model.embed(token[:, 0])
        for i in range(layers):
            h[i], c[i] = torch.lstm_cell(x, (h[i], c[i]), *weights[i])
            x = h[i]
        token = sample(model.lm_head(x), temperatures)


@torch.no_grad()
def refeed_window(model, ids, new, temperatures, window=40):
    sequence = ids
    for _ in range(new):
        logits = model(input_ids=sequence[:, -window:], use_cache=False).logits[:, -1]
        sequence = torch.cat([sequence, sample(logits, temperatures)], dim=1)


def timed(fn, repeat=2):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--model-dir", type=Path, default=REPO / "models" / "char-lstm-nietzsche")
    args = parser.parse_args()
    model, tokenizer = load(args.model_dir)
    assert model.config.hidden_size == 512 and model.config.num_hidden_layers == 2
    temperatures = torch.tensor(LECTURE_TEMPERATURES).unsqueeze(-1)
    ids = tokenizer(SEED_TEXT, return_tensors="pt").input_ids.repeat(3, 1)
    n = args.new

    results = {
        "generate() batch 3": timed(lambda: sample_at_temperatures(model, tokenizer, SEED_TEXT, LECTURE_TEMPERATURES, n)),
        "bare nn.LSTM, oneDNN on": timed(lambda: bare_nn_lstm(model, ids, n, temperatures, True), repeat=1),
        "bare nn.LSTM, oneDNN off": timed(lambda: bare_nn_lstm(model, ids, n, temperatures, False)),
        "bare torch.lstm_cell": timed(lambda: bare_lstm_cell(model, ids, n, temperatures)),
        "textbook 40-char re-feed": timed(lambda: refeed_window(model, ids, max(50, n // 10), temperatures), repeat=1)
                                    * (n / max(50, n // 10)),  # measured on n/10 chars, scaled
    }
    single = timed(lambda: sample_at_temperatures(model, tokenizer, SEED_TEXT, (0.5,), n))

    print(f"{n} new characters, batch 3, torch threads {torch.get_num_threads()}")
    print(f"{'':>28} {'seconds':>8} {'chars/s/seq':>12} {'chars/s total':>14}")
    for name, seconds in results.items():
        print(f"{name:>28} {seconds:>8.2f} {n / seconds:>12.0f} {3 * n / seconds:>14.0f}")
    fastest_bare = min(v for k, v in results.items() if k.startswith("bare"))
    ours = results["generate() batch 3"]
    print(f"generate() vs textbook re-feed: {results['textbook 40-char re-feed'] / ours:.1f}x faster (target ≥ 20x)")
    print(f"generate() vs fastest bare loop: {ours / fastest_bare:.2f}x the time (target ≤ 1.5x)")
    print(f"generate() at batch 1: {n / single:.0f} new chars/s (target ≥ 1000)")


if __name__ == "__main__":
    main()
