"""Train the char-LSTM on a text corpus, char-rnn style, with accelerate.

    python -m genmods.text.train --corpus ../shared/data/nietzsche.txt --output-dir runs/nietzsche
    accelerate launch -m genmods.text.train --corpus big.txt --output-dir runs/big     # several GPUs

data → batches → step → eval → checkpoint. The training text is cut into `batch_size` contiguous
streams (per process); each step feeds the next `sequence_length` characters of every stream and
carries the LSTM state over to the next step (truncated backpropagation through time), with a loss
at every position. The last 5% of the corpus is held out and never trained on.

The output folder is a complete Hub model repo (see `export.py`); `checkpoints/` inside it holds the
training state (accelerate's `save_state`: model, optimiser, scheduler, RNG, plus our position and
carried state), written to a temporary folder and renamed into place, so a kill never leaves a
half-written checkpoint. `--resume` continues from the newest one.
"""

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list, set_seed
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from . import CharLSTMConfig, CharLSTMForCausalLM, CharTokenizer
from .corpus import CorpusError, check_trainable, read_corpus, split_heldout
from .export import export_model_folder, heldout_loss
from .generate import sample_at_temperatures
from .sampling import LECTURE_TEMPERATURES, SEED_TEXT

CHECKPOINTS = "checkpoints"
METRICS = "metrics.jsonl"
SNAPSHOT = "epoch-{epoch}"


class TrainingPosition:
    """What accelerate's `save_state` does not know about: where we are and the carried LSTM state."""

    def __init__(self):
        self.epoch = 0
        self.batch = 0  # batches done within `epoch`
        self.step = 0
        self.best_heldout = math.inf
        self.best_epoch = 0
        self.state = None  # (h, c) carried between batches

    def state_dict(self):
        return {
            "epoch": self.epoch, "batch": self.batch, "step": self.step, "best_heldout": self.best_heldout,
            "best_epoch": self.best_epoch, "state": None if self.state is None else [t.cpu() for t in self.state],
        }

    def load_state_dict(self, values):
        self.epoch, self.batch, self.step = values["epoch"], values["batch"], values["step"]
        self.best_heldout, self.best_epoch = values["best_heldout"], values.get("best_epoch", 0)
        self.state = None if values["state"] is None else tuple(values["state"])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genmods.text.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="UTF-8 text file to learn from")
    parser.add_argument("--output-dir", required=True, help="becomes a complete Hub model repo")
    parser.add_argument("--hidden-size", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--embedding-size", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.3, help="between layers and before the head")
    parser.add_argument("--variational-dropout", action="store_true",
                        help="one dropout mask per sequence, the same at every position (Gal & Ghahramani)")
    parser.add_argument("--input-dropout", type=float, default=0.0, help="on the embeddings fed to the LSTM")
    parser.add_argument("--weight-dropout", type=float, default=0.0,
                        help="DropConnect on the hidden-to-hidden weights (weight-dropped LSTM, Merity et al.)")
    parser.add_argument("--embedding-dropout", type=float, default=0.0, help="drops whole characters per batch")
    parser.add_argument("--ema-decay", type=float, default=None,
                        help="evaluate and export an exponential moving average of the weights (e.g. 0.99)")
    parser.add_argument("--sequence-length", type=int, default=128, help="characters per truncated-BPTT window")
    parser.add_argument("--batch-size", type=int, default=64, help="parallel contiguous streams per process")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--mixed-precision", choices=["no", "bf16", "fp16"], default="bf16",
                        help="autocast through accelerate (bf16 is ~2x faster on AVX-512 CPUs)")
    parser.add_argument("--no-lowercase", dest="lowercase", action="store_false",
                        help="keep case (the lecture lowercases)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints")
    parser.add_argument("--snapshot-epochs", type=int, nargs="*", default=[2],
                        help="also export the model after these epochs to OUTPUT/epoch-N (a training stage to compare)")
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--sample-prompt", default=SEED_TEXT)
    parser.add_argument("--heldout-streams", type=int, default=8,
                        help="per-epoch validation runs the held-out text as this many parallel pieces (fast); "
                             "the exported figure is always the exact single pass")
    parser.add_argument("--patience", type=int, default=None,
                        help="stop when the held-out loss has not improved for this many epochs")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (tests, benchmarks)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    return parser.parse_args(argv)


def batches_of(ids: torch.Tensor, streams: int, sequence_length: int):
    """char-rnn batching: rows are contiguous streams; batch k is columns [k·T, (k+1)·T) and the targets one further."""
    length = (len(ids) - 1) // streams
    inputs = ids[: streams * length].view(streams, length)
    targets = ids[1 : streams * length + 1].view(streams, length)
    return [
        (inputs[:, start : start + sequence_length], targets[:, start : start + sequence_length])
        for start in range(0, length - sequence_length + 1, sequence_length)
    ]


def newest_checkpoint(output_dir: Path) -> Path | None:
    folders = sorted(p for p in (output_dir / CHECKPOINTS).glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))
    return folders[-1] if folders else None


def save_checkpoint(accelerator: Accelerator, output_dir: Path, step: int, keep: int = 2):
    """accelerate's save_state into `step-N.tmp`, then an atomic rename to `step-N`; older ones pruned."""
    root = output_dir / CHECKPOINTS
    final = root / f"step-{step:08d}"
    temporary = root / f"step-{step:08d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(temporary, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(temporary))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        temporary.rename(final)
        for old in sorted(p for p in root.glob("step-*") if not p.name.endswith(".tmp"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def main(argv=None):
    args = parse_args(argv)
    accelerator = Accelerator(mixed_precision=args.mixed_precision)
    output_dir = Path(args.output_dir)

    # data: fail before anything is built if the corpus is unusable
    try:
        raw = read_corpus(args.corpus)
        streams = args.batch_size * accelerator.num_processes
        tokenizer = CharTokenizer.from_corpus(raw, lowercase=args.lowercase)
        corpus = split_heldout(tokenizer.normalise(raw))
        check_trainable(corpus, streams, args.sequence_length)
    except CorpusError as error:
        sys.exit(f"error: {error}")
    if not args.resume and newest_checkpoint(output_dir) is not None:
        sys.exit(f"error: {output_dir} already holds a training run; pass --resume to continue it, "
                 "or choose another --output-dir")
    output_dir.mkdir(parents=True, exist_ok=True)
    set_seed(args.seed)

    train_ids = torch.tensor(tokenizer.convert_tokens_to_ids(list(corpus.train)))
    heldout_ids = torch.tensor(tokenizer.convert_tokens_to_ids(list(corpus.heldout)))
    all_batches = batches_of(train_ids, streams, args.sequence_length)
    rank, size = accelerator.process_index, args.batch_size  # this process's rows of every batch
    batches = [(x[rank * size : (rank + 1) * size], y[rank * size : (rank + 1) * size]) for x, y in all_batches]

    config = CharLSTMConfig(
        vocab_size=len(tokenizer), embedding_size=args.embedding_size, hidden_size=args.hidden_size,
        num_hidden_layers=args.layers, dropout=args.dropout, variational_dropout=args.variational_dropout,
        input_dropout=args.input_dropout, weight_dropout=args.weight_dropout,
        embedding_dropout=args.embedding_dropout, lowercase=args.lowercase,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = CharLSTMForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    total_steps = args.epochs * len(batches)

    def learning_rate_factor(step):  # linear warm-up, then cosine decay to 10%
        if step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        progress = min(1.0, (step - args.warmup_steps) / max(1, total_steps - args.warmup_steps))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    position = TrainingPosition()
    accelerator.register_for_checkpointing(position)
    averaged = None  # the weights evaluated and exported: an average of the recent steps' (Polyak-style), or the live ones
    if args.ema_decay is not None:
        averaged = AveragedModel(accelerator.unwrap_model(model), multi_avg_fn=get_ema_multi_avg_fn(args.ema_decay))
        accelerator.register_for_checkpointing(averaged)

    if args.resume and (checkpoint := newest_checkpoint(output_dir)) is not None:
        accelerator.load_state(str(checkpoint))
        accelerator.print(f"resumed from {checkpoint} (epoch {position.epoch}, batch {position.batch}, step {position.step})")
    elif args.resume:
        accelerator.print(f"no checkpoint in {output_dir / CHECKPOINTS}; starting from scratch")

    recipe = {key: value for key, value in vars(args).items() if key not in ("resume", "output_dir", "max_steps")}
    recipe["corpus"] = str(Path(args.corpus))
    recipe.update(train_characters=len(corpus.train), heldout_characters=len(corpus.heldout),
                  processes=accelerator.num_processes, parameters=sum(p.numel() for p in model.parameters()))
    tokenizer.save_pretrained(output_dir)
    metrics_path = output_dir / METRICS
    started = time.perf_counter()
    chars_per_step = args.batch_size * args.sequence_length * accelerator.num_processes

    while position.epoch < args.epochs:
        if args.patience is not None and position.epoch - position.best_epoch >= args.patience:
            accelerator.print(f"held-out loss has not improved for {args.patience} epochs "
                              f"(best at epoch {position.best_epoch}): stopping")
            break
        model.train()
        progress = tqdm(total=len(batches), initial=position.batch, desc=f"epoch {position.epoch + 1}/{args.epochs}",
                        disable=not accelerator.is_main_process, leave=False)
        epoch_losses, epoch_started = [], time.perf_counter()
        state = None if position.state is None else tuple(t.to(accelerator.device) for t in position.state)
        for inputs, targets in batches[position.batch :]:
            inputs, targets = inputs.to(accelerator.device), targets.to(accelerator.device)
            with accelerator.autocast():
                output = model(input_ids=inputs, state=state, use_cache=False)
                loss = torch.nn.functional.cross_entropy(
                    output.logits.float().reshape(-1, output.logits.shape[-1]), targets.reshape(-1)
                )
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), args.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if averaged is not None:
                averaged.update_parameters(accelerator.unwrap_model(model))
            state = tuple(t.detach().float() for t in output.state)  # carried, but no gradient across windows
            position.batch += 1
            position.step += 1
            position.state = state
            epoch_losses.append(loss.item())
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}")
            if position.step % args.checkpoint_every == 0:
                save_checkpoint(accelerator, output_dir, position.step)
            if args.max_steps is not None and position.step >= args.max_steps:
                break
        progress.close()
        if args.max_steps is not None and position.step >= args.max_steps and position.batch < len(batches):
            save_checkpoint(accelerator, output_dir, position.step)
            accelerator.print(f"stopped at --max-steps {args.max_steps}")
            return

        # end of epoch: evaluate, sample, log, export, checkpoint
        position.epoch += 1
        position.batch = 0
        position.state = None
        evaluated = accelerator.unwrap_model(model) if averaged is None else averaged.module
        if accelerator.is_main_process:
            loss_nats = heldout_loss(evaluated, heldout_ids, args.heldout_streams)
            evaluated.eval()
            samples, _ = sample_at_temperatures(evaluated, tokenizer, args.sample_prompt, LECTURE_TEMPERATURES,
                                                args.sample_length, seed=args.seed)
            evaluated.train()
            record = {
                "epoch": position.epoch, "step": position.step,
                "train_loss": sum(epoch_losses) / max(1, len(epoch_losses)),
                "heldout_nats_per_char": loss_nats, "heldout_bits_per_char": loss_nats / math.log(2),
                "chars_per_second": len(epoch_losses) * chars_per_step / (time.perf_counter() - epoch_started),
                "elapsed_seconds": time.perf_counter() - started,
                "learning_rate": scheduler.get_last_lr()[0],
                "samples": dict(zip(map(str, LECTURE_TEMPERATURES), samples)),
            }
            with metrics_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            accelerator.print(
                f"epoch {position.epoch}: train {record['train_loss']:.4f}, held-out {loss_nats:.4f} nats/char "
                f"({record['heldout_bits_per_char']:.4f} bits/char), {record['chars_per_second']:.0f} chars/s"
            )
            for temperature, text in record["samples"].items():
                accelerator.print(f"  T={temperature}: {text[:120]!r}")
            if position.epoch in args.snapshot_epochs:
                export_model_folder(evaluated, tokenizer, output_dir / SNAPSHOT.format(epoch=position.epoch),
                                    corpus=corpus, recipe=recipe, metrics_path=metrics_path, epoch=position.epoch)
            if loss_nats < position.best_heldout:
                position.best_heldout, position.best_epoch = loss_nats, position.epoch
                export_model_folder(evaluated, tokenizer, output_dir, corpus=corpus, recipe=recipe,
                                    metrics_path=metrics_path, epoch=position.epoch)
        if accelerator.num_processes > 1:  # only the main process evaluates: share its verdict
            shared = [position.best_heldout, position.best_epoch]
            broadcast_object_list(shared)
            position.best_heldout, position.best_epoch = shared
        save_checkpoint(accelerator, output_dir, position.step)

    accelerator.print(f"done: {position.epoch} epochs; best model in {output_dir}")


if __name__ == "__main__":
    main()
