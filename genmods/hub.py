"""Uploading to the Hugging Face Hub: one commit with exactly the files we name.

We call `HfApi.create_commit` with explicit `CommitOperationAdd`s rather than `upload_folder`, because
`upload_folder` may split a folder over several commits (its xet pipeline) and its file selection
depends on glob patterns; a model or a Space should arrive as one commit whose contents we can list.
"""

from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi


def commit_files(files: dict[str, Path], repo_id: str, *, repo_type: str, commit_message: str,
                 private: bool = False, token: str | None = None, api: HfApi | None = None, **create_repo_kwargs):
    """Creates the repo if needed, then uploads `files` ({path in repo: local path}) in one commit."""
    api = api or HfApi(token=token)
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, **create_repo_kwargs)
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for name, path in sorted(files.items())]
    return api.create_commit(repo_id=repo_id, repo_type=repo_type, operations=operations, commit_message=commit_message)
