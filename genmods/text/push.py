"""Upload a trained char-LSTM folder to the Hugging Face Hub as a model repo.

    python -m genmods.text.push --model-dir models/char-lstm-nietzsche --repo-id OWNER/char-lstm-nietzsche

The token comes from `HF_TOKEN` or `hf auth login`, as huggingface_hub resolves it. Training state
(`checkpoints/`) and stage snapshots (`epoch-N/`) stay local.
"""

import argparse
import sys
from pathlib import Path

from huggingface_hub import HfApi

from ..hub import commit_files

REQUIRED_FILES = (
    "config.json", "model.safetensors", "generation_config.json", "tokenizer_config.json", "vocab.json",
    "configuration_charlstm.py", "modeling_charlstm.py", "tokenization_charlstm.py", "README.md",
)
OPTIONAL_FILES = ("training_curve.png", "metrics.jsonl", "training_args.json")


def check_model_folder(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model folder not found: {model_dir}")
    missing = [name for name in REQUIRED_FILES if not (model_dir / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{model_dir} is not a complete model folder (missing: {', '.join(missing)}); "
            "export it with `python -m genmods.text.train` first"
        )


def push_model_folder(model_dir, repo_id: str, *, private: bool = False, token: str | None = None,
                      commit_message: str = "Upload char-LSTM", api: HfApi | None = None):
    """Creates the repo if needed and uploads the folder in one commit; returns the commit info."""
    model_dir = Path(model_dir)
    check_model_folder(model_dir)
    files = {name: model_dir / name for name in REQUIRED_FILES + OPTIONAL_FILES if (model_dir / name).exists()}
    return commit_files(files, repo_id, repo_type="model", commit_message=commit_message, private=private,
                        token=token, api=api)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genmods.text.push", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--repo-id", required=True, help="OWNER/NAME on the Hub")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--commit-message", default="Upload char-LSTM")
    args = parser.parse_args(argv)
    try:
        info = push_model_folder(args.model_dir, args.repo_id, private=args.private, commit_message=args.commit_message)
    except FileNotFoundError as error:
        sys.exit(f"error: {error}")
    print(f"uploaded {args.model_dir} to {info.commit_url if hasattr(info, 'commit_url') else args.repo_id}")


if __name__ == "__main__":
    main()
