"""Write a trained char-LSTM as a complete Hub model repo.

Folder contents: config.json (with auto_map), model.safetensors, generation_config.json, the
tokenizer files, the three self-contained code files (copied by `save_pretrained` because the
classes are registered for auto classes), README.md (model card), training_curve.png and
metrics.jsonl. A stranger loads it with `AutoModelForCausalLM.from_pretrained(..., trust_remote_code=True)`.
"""

import json
import math
import shutil
from pathlib import Path

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .corpus import Corpus
from .generate import sample_at_temperatures
from .sampling import LECTURE_TEMPERATURES, SEED_TEXT

CURVE = "training_curve.png"
METRICS = "metrics.jsonl"
RECIPE = "training_args.json"


@torch.no_grad()
def heldout_loss(model, ids: torch.Tensor, streams: int = 1) -> float:
    """Mean next-character loss (nats) on the held-out ids, from the zero state. streams=1 is the exact
    metric of `shared/eval/heldout_loss.py` (one pass); more streams cut the text into pieces run in
    parallel, a close upper bound that is several times faster (used for per-epoch validation)."""
    was_training = model.training
    model.eval()
    streams = max(1, min(streams, len(ids) // 64))
    piece = len(ids) // streams
    rows = ids[: piece * streams].view(streams, piece).to(model.device)
    logits = model(input_ids=rows[:, :-1], use_cache=False).logits
    loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
    model.train(was_training)
    return loss.item()


def read_metrics(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_training_curve(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.5), dpi=100)
    epochs = [r["epoch"] for r in records]
    axis.plot(epochs, [r["train_loss"] / math.log(2) for r in records], marker="o", label="training")
    axis.plot(epochs, [r["heldout_bits_per_char"] for r in records], marker="o", label="held-out (last 5%)")
    axis.set_xlabel("epoch")
    axis.set_ylabel("bits per character")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def model_card(*, repo_name: str, bits: float, nats: float, epoch: int, recipe: dict, samples: dict, corpus_name: str) -> ModelCard:
    data = ModelCardData(
        language="en",
        license="mit",
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=["char-lstm", "character-level", "lstm", "text-generation", "custom_code", "genmods"],
        model_name=repo_name,
        eval_results=[
            EvalResult(task_type="text-generation", dataset_type="text", dataset_name=f"{corpus_name} (last 5%, held out)",
                       metric_type="bits_per_character", metric_name="held-out bits/char", metric_value=round(bits, 4)),
            EvalResult(task_type="text-generation", dataset_type="text", dataset_name=f"{corpus_name} (last 5%, held out)",
                       metric_type="loss", metric_name="held-out nats/char", metric_value=round(nats, 4)),
        ],
    )
    sample_block = "\n\n".join(f"**T = {t}**\n\n```text\n{SEED_TEXT}{text}\n```" for t, text in samples.items())
    recipe_lines = "\n".join(f"| {key} | {value} |" for key, value in recipe.items() if key != "sample_prompt")
    body = f"""
# {repo_name}

A character-level LSTM language model trained on {corpus_name}, after the lecture "Generative Deep Learning":
feed it conditioning text, it predicts the next character; sample, append, repeat. The softmax *temperature*
reweights the distribution p → p^(1/T)/Σ: low T is repetitive but locally realistic, high T is creative but
breaks words; ~0.5 is usually best.

**Held-out loss: {nats:.4f} nats/char = {bits:.4f} bits/char** on the last 5% of the corpus (never trained on),
one pass from the zero state, after epoch {epoch}.

## Use

```python
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

model = AutoModelForCausalLM.from_pretrained("{repo_name}", trust_remote_code=True)
tokenizer = AutoTokenizer.from_pretrained("{repo_name}", trust_remote_code=True)
inputs = tokenizer("{SEED_TEXT}", return_tensors="pt")
out = model.generate(**inputs, max_new_tokens=400, do_sample=True, temperature=0.5, top_k=0)
print(tokenizer.decode(out[0]))

# or
generator = pipeline("text-generation", model="{repo_name}", trust_remote_code=True)
```

`generate()` carries the LSTM state from step to step (one LSTM step per new character) and supports
sampling, greedy search, beam search, batches of prompts of different lengths, and streamers. The tokenizer
lowercases (if the model was trained so) and maps typographic quotes and dashes to ASCII; characters the
model never saw are dropped with a warning (`tokenizer.unknown_characters(text)` lists them).

## Training

char-rnn style: the training text is cut into contiguous streams, truncated backpropagation through time
carries the LSTM state across batches, loss at every position; AdamW, warm-up then cosine decay; mixed
precision through accelerate. Trained with `python -m genmods.text.train` from the genmods project.

| setting | value |
|---|---|
{recipe_lines}

![training curve]({CURVE})

## Samples from the seed, epoch {epoch}

{sample_block}
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def store_in_half_precision(path: Path) -> None:
    """Rewrites a weights file with fp16 tensors, the config still saying float32: a 2 × 768 model is 15 MB in the
    repo instead of 29, and `from_pretrained` casts the tensors back to the config's float32 as it loads them. The
    LSTM's weights are small (|w| < 4), well inside fp16's range; on the shipped model the held-out loss is the
    same to four decimals (1.1770 nats/char either way)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
        tensors = {name: handle.get_tensor(name).to(torch.float16).contiguous() for name in handle.keys()}
    save_file(tensors, str(path), metadata=metadata)


def export_model_folder(model, tokenizer, folder, *, corpus: Corpus, recipe: dict, metrics_path: Path, epoch: int,
                        repo_name: str | None = None, corpus_name: str | None = None, sample_length: int = 400) -> float:
    """Save `model` (trained for `epoch` epochs) + tokenizer + generation defaults + card + curve into `folder`;
    returns the exact held-out nats/char."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    heldout_ids = torch.tensor(tokenizer.convert_tokens_to_ids(list(corpus.heldout)))
    nats = heldout_loss(model, heldout_ids, streams=1)
    samples, _ = sample_at_temperatures(model, tokenizer, SEED_TEXT, LECTURE_TEMPERATURES, sample_length, seed=0)
    model.train(was_training)

    generation = model.generation_config
    generation.do_sample, generation.temperature, generation.top_k, generation.top_p = True, 0.5, 0, 1.0
    generation.max_new_tokens = 400
    generation.pad_token_id = tokenizer.pad_token_id
    generation.suppress_tokens = [tokenizer.pad_token_id]
    model.save_pretrained(folder)
    store_in_half_precision(folder / "model.safetensors")
    tokenizer.save_pretrained(folder)

    (folder / RECIPE).write_text(json.dumps(dict(recipe, exported_epoch=epoch), indent=2) + "\n", encoding="utf-8")
    records = read_metrics(metrics_path)
    if metrics_path.resolve() != (folder / METRICS).resolve():
        shutil.copyfile(metrics_path, folder / METRICS)
    if records:
        plot_training_curve(records, folder / CURVE)
    card = model_card(
        repo_name=repo_name or folder.name, bits=nats / math.log(2), nats=nats, epoch=epoch, recipe=recipe,
        samples=dict(zip(map(str, LECTURE_TEMPERATURES), samples)),
        corpus_name=corpus_name or Path(str(recipe.get("corpus", "the corpus"))).name,
    )
    card.save(folder / "README.md")
    return nats


def main(argv=None):
    """python -m genmods.text.export MODEL_DIR OUTPUT_DIR [--repo-name OWNER/NAME]

    Re-exports a trained folder (e.g. a stage snapshot) as a complete Hub repo under another name:
    re-measures the held-out loss, re-samples, rewrites the card. The corpus and recipe come from the
    folder's training_args.json.
    """
    import argparse
    import sys

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from . import CharLSTMForCausalLM  # noqa: F401  (registers the model with the Auto classes)
    from .corpus import CorpusError, read_corpus, split_heldout

    parser = argparse.ArgumentParser(prog="python -m genmods.text.export", description=main.__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--repo-name", default=None, help="name used in the card (default: the output folder's name)")
    parser.add_argument("--corpus", default=None, help="override the corpus path recorded in training_args.json")
    args = parser.parse_args(argv)
    recipe_path = args.model_dir / RECIPE
    if not recipe_path.exists():
        sys.exit(f"error: {recipe_path} is missing; export folders written by genmods.text.train")
    recipe = json.loads(recipe_path.read_text(encoding="utf-8"))
    try:
        tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
        corpus = split_heldout(tokenizer.normalise(read_corpus(args.corpus or recipe["corpus"])))
    except CorpusError as error:
        sys.exit(f"error: {error}")
    model = AutoModelForCausalLM.from_pretrained(args.model_dir)
    metrics = args.model_dir / METRICS
    epoch = recipe.pop("exported_epoch")
    nats = export_model_folder(model, tokenizer, args.output_dir, corpus=corpus, recipe=recipe, metrics_path=metrics,
                               epoch=epoch, repo_name=args.repo_name)
    print(f"exported {args.output_dir}: held-out {nats:.4f} nats/char ({nats / math.log(2):.4f} bits/char)")


if __name__ == "__main__":
    main()
