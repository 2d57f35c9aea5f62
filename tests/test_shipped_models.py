"""The trained char-LSTMs in models/: complete, loadable without genmods, and as good as the card says."""

import json
import re
import subprocess
import sys

import pytest

from .conftest import NIETZSCHE, REPO

MODELS = REPO / "models"
METRIC = REPO.parent / "shared" / "eval" / "heldout_loss.py"


@pytest.mark.parametrize("stage", ["char-lstm-nietzsche", "char-lstm-nietzsche-early"])
def test_stage_folders_are_complete_hub_repos(stage):
    from genmods.text.push import check_model_folder

    folder = MODELS / stage
    check_model_folder(folder)
    assert json.loads((folder / "config.json").read_text())["auto_map"]["AutoModelForCausalLM"]
    assert "new faculty, and the jubilation reached its climax when kant" in (folder / "README.md").read_text()


def test_stages_fit_the_size_budget():
    assert sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file()) <= 60 * 2**20


@pytest.mark.skipif(not (NIETZSCHE.exists() and METRIC.exists()), reason="needs ../shared/data and ../shared/eval")
def test_converged_model_meets_the_heldout_target_as_a_stranger_measures_it(tmp_path):
    """shared/eval/heldout_loss.py loads the folder with trust_remote_code, in a process without genmods."""
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)}
    results = {}
    for stage in ("char-lstm-nietzsche", "char-lstm-nietzsche-early"):
        run = subprocess.run([sys.executable, str(METRIC), str(MODELS / stage), str(NIETZSCHE)], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        results[stage] = float(re.search(r"held-out: ([0-9.]+) nats/char", run.stdout).group(1))
    assert results["char-lstm-nietzsche"] <= 1.40
    assert results["char-lstm-nietzsche"] < results["char-lstm-nietzsche-early"]
    card = (MODELS / "char-lstm-nietzsche" / "README.md").read_text()
    assert f"{results['char-lstm-nietzsche']:.4f} nats/char" in card


@pytest.mark.parametrize("stage", ["char-lstm-nietzsche", "char-lstm-nietzsche-early"])
def test_stage_folders_carry_the_current_model_code(stage):
    """What trust_remote_code runs for a stranger is what genmods runs and tests."""
    for name in ("configuration_charlstm.py", "modeling_charlstm.py", "tokenization_charlstm.py"):
        assert (MODELS / stage / name).read_text() == (REPO / "genmods" / "text" / name).read_text(), name
