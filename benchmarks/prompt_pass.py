"""The prompt pass of the trained char-LSTM (2 × 512): the ways to run a long conditioning text through it.

    python benchmarks/prompt_pass.py [--lengths 500 2000] [--repeat 3]

Each way is timed on the same prompt (the lecture's seed text repeated), in one long-lived worker thread (as the Space's text
batcher runs it), best of `--repeat`:
- nn.LSTM (oneDNN): the fused CPU kernel, torch's default;
- nn.LSTM, oneDNN off: the native kernel (`torch.backends.mkldnn.flags(enabled=False)`);
- chunks of 128, oneDNN off: the same in pieces, carrying the state;
- step loop: `torch.lstm_cell` one character at a time (what decoding uses);
- nn.LSTM in a fresh thread per call: what the app did before the batcher (a new thread per request);
- old app path: the distribution pass plus generate()'s prefill (two passes), in a fresh thread per
  request as the app ran it, and in a long-lived thread;
- ours: `genmods.text.generate._prompt_state` (one pass, the state and p(next character)).
Ratios are against the old app path, measured in the same process.
"""

import argparse
import threading
import time

import torch

import _path  # noqa: F401,I001  (the repository on sys.path)
from genmods.studio import load_text_model
from genmods.text.generate import _prompt_state, prepare_prompt
from genmods.text.sampling import SEED_TEXT


def in_thread(function):
    """Runs `function` in a fresh thread and returns its duration."""
    seconds = {}

    def run():
        with torch.no_grad():
            started = time.perf_counter()
            function()
            seconds["value"] = time.perf_counter() - started

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seconds["value"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    model, tokenizer = load_text_model("converged")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, model {model.config.num_hidden_layers} × "
          f"{model.config.hidden_size}")

    for length in args.lengths:
        text = (SEED_TEXT + " ") * (length // len(SEED_TEXT) + 1)
        ids = prepare_prompt(tokenizer, text[:length]).input_ids
        embeds = model.model.embed(ids).detach()

        def native():
            with torch.backends.mkldnn.flags(enabled=False):
                model.model.lstm(embeds)

        def chunked():
            state = None
            with torch.backends.mkldnn.flags(enabled=False):
                for start in range(0, length, 128):
                    _, state = model.model.lstm(embeds[:, start:start + 128], state)

        def old_app_path():  # the distribution's forward pass, then generate()'s prefill of the same prompt
            model(input_ids=ids, use_cache=False)
            model.generate(input_ids=ids, max_new_tokens=1, do_sample=False)

        ways = {
            "nn.LSTM (oneDNN)": lambda: model.model.lstm(embeds),
            "nn.LSTM, oneDNN off": native,
            "chunks of 128, oneDNN off": chunked,
            "step loop (lstm_cell)": lambda: model.model._run_steps(embeds, None, None, all_layers=False),
            "old app path, long-lived thread": old_app_path,
            "ours: _prompt_state": lambda: _prompt_state(model, prepare_prompt(tokenizer, text[:length])),
        }
        results = {}
        worker_results = {}

        def worker():
            with torch.no_grad():
                for name, function in ways.items():
                    times = []
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        function()
                        times.append(time.perf_counter() - started)
                    worker_results[name] = min(times)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        results.update(worker_results)
        results["nn.LSTM, fresh thread per call"] = min(in_thread(lambda: model.model.lstm(embeds)) for _ in range(args.repeat))
        results["old app path, fresh thread"] = min(in_thread(old_app_path) for _ in range(args.repeat))
        baseline = results["old app path, fresh thread"]
        print(f"\n{length} characters (seconds, best of {args.repeat}; ratio = time / old app path)")
        for name, seconds in results.items():
            print(f"  {name:34s} {seconds:7.3f} s   {seconds / baseline:5.2f}×")


if __name__ == "__main__":
    main()
