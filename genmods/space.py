"""Publish the app as a Hugging Face Space, in one commit.

    python -m genmods.space push --space-id OWNER/NAME [--private]

Uploads app.py, requirements.txt, the genmods package, the trained models in models/, and Space.md as
the Space's README.md (its YAML front matter is the Space's configuration). The token comes from
`HF_TOKEN` or `hf auth login`, as huggingface_hub resolves it.
"""

import argparse
import sys
from pathlib import Path

from huggingface_hub import HfApi, SpaceCard

from .hub import commit_files

REPO_ROOT = Path(__file__).resolve().parents[1]
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", "checkpoints"}


def space_files(root: Path = REPO_ROOT) -> dict[str, Path]:
    """{path in the Space: local file} for everything the Space needs to run."""
    card = root / "Space.md"
    if not card.exists():
        raise FileNotFoundError(f"{card} is missing: it becomes the Space's README.md")
    SpaceCard.load(card)  # fails early on broken front matter
    files = {"README.md": card, "app.py": root / "app.py", "requirements.txt": root / "requirements.txt"}
    for folder in ("genmods", "models"):
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not SKIPPED_PARTS & set(relative.parts) and path.suffix not in (".pyc", ".pyi"):
                files[relative.as_posix()] = path
    missing = [name for name, path in files.items() if not path.exists()]
    if missing:
        raise FileNotFoundError(f"missing: {', '.join(missing)}")
    return files


def push_space(space_id: str, *, private: bool = False, token: str | None = None, api: HfApi | None = None,
               root: Path = REPO_ROOT, commit_message: str = "Update genmods Space"):
    return commit_files(space_files(root), space_id, repo_type="space", commit_message=commit_message,
                        private=private, token=token, api=api, space_sdk="gradio")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genmods.space", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    push = commands.add_parser("push", help="upload the app to a Space")
    push.add_argument("--space-id", required=True, help="OWNER/NAME")
    push.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    try:
        info = push_space(args.space_id, private=args.private)
    except FileNotFoundError as error:
        sys.exit(f"error: {error}")
    print(f"pushed to {getattr(info, 'commit_url', args.space_id)}")


if __name__ == "__main__":
    main()
