"""The Space card and the one-commit upload, checked at the HfApi boundary (the Hub is unreachable here)."""

import gradio
import pytest
from huggingface_hub import HfApi, SpaceCard

from genmods.space import main, push_space, space_files

from .conftest import REPO


def test_space_card_configures_a_gradio_space():
    card = SpaceCard.load(REPO / "Space.md")
    data = card.data
    assert data.sdk == "gradio" and data.sdk_version == gradio.__version__
    assert data.app_file == "app.py" and (REPO / data.app_file).exists()
    assert str(data.python_version) == "3.11" and data.license == "mit" and data.short_description
    assert data.suggested_hardware and data.title and data.emoji and data.colorFrom and data.colorTo
    assert "timm/vgg19.tv_in1k" in data.models and "timm/inception_v3.tv_in1k" in data.models
    for tab in ("Text", "DeepDream", "style transfer"):
        assert tab in card.text


def test_push_uploads_the_app_in_one_commit(monkeypatch):
    calls = []
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: calls.append(("create_repo", repo_id, kw)))

    def fake_commit(self, repo_id, operations, **kw):
        calls.append(("create_commit", repo_id, {op.path_in_repo: op.path_or_fileobj for op in operations}, kw))
        return "ok"

    monkeypatch.setattr(HfApi, "create_commit", fake_commit)
    assert push_space("someone/genmods", api=HfApi(token="hf_fake")) == "ok"
    (_, repo, create_kw), (_, _, files, commit_kw) = calls
    assert repo == "someone/genmods" and create_kw["repo_type"] == "space" and create_kw["space_sdk"] == "gradio"
    assert commit_kw["repo_type"] == "space"
    assert files["README.md"] == str(REPO / "Space.md")
    assert {"app.py", "requirements.txt", "genmods/studio/__init__.py", "genmods/text/modeling_charlstm.py",
            "models/char-lstm-nietzsche/model.safetensors", "models/char-lstm-nietzsche-early/config.json",
            "genmods/paintings/starry_night.jpg", "genmods/paintings/PROVENANCE.md"} <= set(files)  # the style examples
    assert not any("__pycache__" in name or name.startswith("tests/") for name in files)


def test_push_refuses_a_tree_without_its_card(tmp_path):
    with pytest.raises(FileNotFoundError, match="Space.md"):
        space_files(tmp_path)
    with pytest.raises(SystemExit):
        main([])
