"""Char-LSTM training speed on this CPU.

    python benchmarks/text_training_speed.py [--steps 30] [--keras-epochs 20] [--metrics models/char-lstm-nietzsche/metrics.jsonl]

1. Throughput (chars/s) of `genmods.text.train` against a bare torch loop over the same model, batch
   shapes, optimiser and bf16 autocast (target ≥ 0.9×). The trainer's time is the difference between a
   run of N+K steps and a run of K steps, which cancels its fixed start-up and final checkpoint.
2. The Keras recipe (one LSTM(128) on one-hot 40-character windows taken every 3 characters, softmax over
   the next character, RMSprop lr 0.01, batch 128), trained here for --keras-epochs epochs; its best held-out
   loss (each held-out character predicted from the 40 before it), and when our trainer's run (its
   metrics.jsonl) first reached that loss.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import _path  # noqa: F401,I001  (the repository on sys.path)

from genmods.text import CharLSTMConfig, CharLSTMForCausalLM, CharTokenizer
from genmods.text.corpus import read_corpus, split_heldout
from genmods.text.train import batches_of

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "nietzsche.txt"
SHAPE = dict(hidden_size=512, layers=2, embedding_size=64, dropout=0.35, batch_size=64, sequence_length=128)


def trainer_seconds(steps: int, corpus: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "genmods.text.train", "--corpus", str(corpus), "--output-dir", folder,
                   "--max-steps", str(steps), "--hidden-size", str(SHAPE["hidden_size"]), "--layers", str(SHAPE["layers"]),
                   "--batch-size", str(SHAPE["batch_size"]), "--sequence-length", str(SHAPE["sequence_length"]),
                   "--dropout", str(SHAPE["dropout"])]
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=REPO, capture_output=True, env={"PYTHONPATH": str(REPO), "TQDM_DISABLE": "1",
                                                                              "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
        return time.perf_counter() - started


def bare_loop_seconds(steps: int, train_ids: torch.Tensor, vocab: int) -> float:
    torch.manual_seed(0)
    config = CharLSTMConfig(vocab_size=vocab, hidden_size=SHAPE["hidden_size"], num_hidden_layers=SHAPE["layers"],
                            embedding_size=SHAPE["embedding_size"], dropout=SHAPE["dropout"])
    model = CharLSTMForCausalLM(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    batches = batches_of(train_ids, SHAPE["batch_size"], SHAPE["sequence_length"])
    state, started = None, None
    for step in range(steps + 3):
        if step == 3:  # after warm-up
            started = time.perf_counter()
        x, y = batches[step % len(batches)]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(input_ids=x, state=state, use_cache=False)
            loss = F.cross_entropy(out.logits.float().reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state = tuple(t.detach().float() for t in out.state)
    return time.perf_counter() - started


class KerasRecipe(torch.nn.Module):
    """The textbook model: LSTM(128) over one-hot characters, a softmax over the next one."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab
        self.lstm = torch.nn.LSTM(vocab, 128, batch_first=True)
        self.head = torch.nn.Linear(128, vocab)

    def forward(self, windows):
        output, _ = self.lstm(F.one_hot(windows, self.vocab).float())
        return self.head(output[:, -1])


def keras_recipe(train_ids, heldout_ids, vocab, epochs, window=40, stride=3, batch=128):
    torch.manual_seed(0)
    model = KerasRecipe(vocab)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)
    starts = torch.arange(0, len(train_ids) - window, stride)
    # held-out: every character after the first `window`, predicted from the `window` before it (within the tail)
    heldout_windows = heldout_ids.unfold(0, window + 1, 1)
    best, history, started = math.inf, [], time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        for chunk in starts[torch.randperm(len(starts))].split(batch):
            windows = torch.stack([train_ids[s : s + window + 1] for s in chunk.tolist()])
            loss = F.cross_entropy(model(windows[:, :-1]), windows[:, -1])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            losses = [F.cross_entropy(model(w[:, :-1]), w[:, -1], reduction="sum") for w in heldout_windows.split(2048)]
        heldout = (sum(losses) / len(heldout_windows)).item()
        best = min(best, heldout)
        history.append((epoch, heldout, time.perf_counter() - started))
        print(f"  Keras recipe epoch {epoch}: held-out {heldout:.4f} nats/char ({time.perf_counter() - started:.0f} s)")
    return best, history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--keras-epochs", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--metrics", type=Path, default=REPO / "models" / "char-lstm-nietzsche" / "metrics.jsonl")
    args = parser.parse_args()

    text = read_corpus(args.corpus)
    tokenizer = CharTokenizer.from_corpus(text)
    corpus = split_heldout(tokenizer.normalise(text))
    train_ids = torch.tensor(tokenizer.convert_tokens_to_ids(list(corpus.train)))
    heldout_ids = torch.tensor(tokenizer.convert_tokens_to_ids(list(corpus.heldout)))
    chars = args.steps * SHAPE["batch_size"] * SHAPE["sequence_length"]

    short, long = trainer_seconds(5, args.corpus), trainer_seconds(5 + args.steps, args.corpus)
    trainer = chars / (long - short)
    bare = chars / bare_loop_seconds(args.steps, train_ids, len(tokenizer))
    print(f"training throughput, 2×512 LSTM, batch {SHAPE['batch_size']}×{SHAPE['sequence_length']}, bf16, "
          f"torch threads {torch.get_num_threads()}")
    print(f"  trainer   {trainer:>8.0f} chars/s")
    print(f"  bare loop {bare:>8.0f} chars/s")
    print(f"  ratio     {trainer / bare:>8.2f}  (target ≥ 0.90)")

    print(f"Keras recipe baseline, {args.keras_epochs} epochs:")
    best, _ = keras_recipe(train_ids, heldout_ids, len(tokenizer), args.keras_epochs)
    records = [json.loads(line) for line in args.metrics.read_text().splitlines() if line.strip()]
    reached = next((r for r in records if r["heldout_nats_per_char"] <= best), None)
    print(f"  Keras recipe best held-out: {best:.4f} nats/char ({best / math.log(2):.4f} bits/char)")
    if reached:
        print(f"  our trainer reached it at epoch {reached['epoch']}, {reached['elapsed_seconds']:.0f} s into its run "
              f"({reached['heldout_nats_per_char']:.4f} nats/char, per-epoch 8-stream estimate)")
    else:
        print("  our trainer's run never reached it")


if __name__ == "__main__":
    main()
