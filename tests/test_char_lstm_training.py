"""The trainer: bad corpora are refused up front, a killed run resumes exactly, the output folder is a Hub repo."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from genmods.text.corpus import split_heldout
from genmods.text.train import batches_of, main

from .conftest import REPO, SAMPLE_TEXT

TINY = ["--hidden-size", "24", "--embedding-size", "8", "--layers", "2", "--batch-size", "4",
        "--sequence-length", "16", "--sample-length", "20", "--mixed-precision", "no", "--snapshot-epochs", "1"]


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(SAMPLE_TEXT * 3, encoding="utf-8")
    return path


def run_trainer(*args, **popen):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    return subprocess.Popen([sys.executable, "-m", "genmods.text.train", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


@pytest.mark.parametrize(
    "content, message",
    [(None, "not found"), (b"", "empty"), (b"   \n", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
     (b"\xff\xfe\xfa not utf8", "not UTF-8"), (b"far too short", "too short")],
)
def test_unusable_corpus_is_refused_before_training(tmp_path, content, message, capsys):
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["--corpus", str(path), "--output-dir", str(tmp_path / "out"), *TINY])
    assert message in str(exit_info.value)
    assert not (tmp_path / "out").exists()


def test_heldout_is_the_last_five_percent_and_never_trained_on():
    text = "".join(chr(97 + i % 26) for i in range(2000))
    corpus = split_heldout(text)
    assert corpus.heldout == text[int(len(text) * 0.95):] and corpus.train + corpus.heldout == text
    ids = torch.arange(len(corpus.train))
    batches = batches_of(ids, streams=4, sequence_length=16)
    seen = torch.cat([torch.cat([x.flatten(), y.flatten()]) for x, y in batches])
    assert seen.max() < len(corpus.train)


def test_char_rnn_batches_are_contiguous_streams():
    ids = torch.arange(1001)
    batches = batches_of(ids, streams=4, sequence_length=10)
    (x0, y0), (x1, _) = batches[0], batches[1]
    assert torch.equal(y0, x0 + 1)  # targets are the next character
    assert torch.equal(x1[:, 0], x0[:, -1] + 1)  # the next batch continues each row: the carried state fits
    assert torch.equal(x0[:, 0], torch.tensor([0, 250, 500, 750]))


def test_killed_run_resumes_where_its_checkpoint_left_off(tmp_path, corpus_file):
    common = ["--corpus", corpus_file, *TINY, "--epochs", "3", "--checkpoint-every", "4"]
    reference = run_trainer(*common, "--output-dir", tmp_path / "reference")
    out, _ = reference.communicate(timeout=600)
    assert reference.returncode == 0, out

    killed_dir = tmp_path / "killed"
    victim = run_trainer(*common, "--output-dir", killed_dir)
    deadline = time.time() + 300
    while not list((killed_dir / "checkpoints").glob("step-*[0-9]")) and time.time() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    out, _ = victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGKILL and "done:" not in out

    resumed = run_trainer(*common, "--output-dir", killed_dir, "--resume")
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    assert "resumed from" in out and "step 0)" not in out

    expected = load_file(tmp_path / "reference" / "model.safetensors")
    actual = load_file(killed_dir / "model.safetensors")
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name
    epochs = [json.loads(line)["epoch"] for line in (killed_dir / "metrics.jsonl").read_text().splitlines()]
    assert epochs[-1] == 3


def test_refuses_to_overwrite_a_run_without_resume(tmp_path, corpus_file):
    args = ["--corpus", str(corpus_file), "--output-dir", str(tmp_path / "run"), *TINY, "--epochs", "1"]
    main(args)
    with pytest.raises(SystemExit, match="--resume"):
        main(args)


def test_output_folder_is_a_complete_hub_repo(tmp_path, corpus_file):
    out = tmp_path / "run"
    main(["--corpus", str(corpus_file), "--output-dir", str(out), *TINY, "--epochs", "2"])
    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer_config.json", "vocab.json",
                 "configuration_charlstm.py", "modeling_charlstm.py", "tokenization_charlstm.py", "README.md",
                 "training_curve.png", "metrics.jsonl", "training_args.json"):
        assert (out / name).exists(), name
    generation = json.loads((out / "generation_config.json").read_text())
    assert generation["do_sample"] is True and generation["temperature"] == 0.5 and generation["top_k"] == 0
    assert generation["max_new_tokens"] == 400
    card = (out / "README.md").read_text()
    assert "library_name: transformers" in card and "bits_per_character" in card
    assert "T = 0.2" in card and "T = 0.5" in card and "T = 1.0" in card
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[0]["samples"]) == {"0.2", "0.5", "1.0"}
    assert abs(records[0]["heldout_bits_per_char"] - records[0]["heldout_nats_per_char"] / 0.6931471805599453) < 1e-9
    assert (out / "epoch-1" / "model.safetensors").exists()  # the early stage snapshot


def test_push_sends_exactly_the_model_files(tmp_path, corpus_file, monkeypatch):
    from huggingface_hub import HfApi

    from genmods.text.push import push_model_folder

    out = tmp_path / "run"
    main(["--corpus", str(corpus_file), "--output-dir", str(out), *TINY, "--epochs", "1"])
    calls = {}
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: calls.setdefault("repo", (repo_id, kw)))

    def fake_commit(self, repo_id, operations, **kw):
        calls["files"] = sorted(op.path_in_repo for op in operations)
        calls["card"] = next(op for op in operations if op.path_in_repo == "README.md").path_or_fileobj
        calls["commit"] = (repo_id, kw)
        return "commit-info"

    monkeypatch.setattr(HfApi, "create_commit", fake_commit)
    assert push_model_folder(out, "someone/char-lstm", api=HfApi(token="hf_fake")) == "commit-info"
    assert calls["repo"][0] == "someone/char-lstm" and calls["repo"][1]["exist_ok"] is True
    assert open(calls["card"]).read().startswith("---\nlanguage: en")
    assert calls["commit"][1]["repo_type"] == "model"
    assert calls["files"] == sorted([
        "README.md", "config.json", "configuration_charlstm.py", "generation_config.json", "metrics.jsonl",
        "model.safetensors", "modeling_charlstm.py", "tokenization_charlstm.py", "tokenizer_config.json",
        "training_args.json", "training_curve.png", "vocab.json",
    ])


def test_push_refuses_an_incomplete_folder(tmp_path):
    from genmods.text.push import main as push_main

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SystemExit, match="missing: model.safetensors"):
        push_main(["--model-dir", str(tmp_path), "--repo-id", "someone/x"])


def test_patience_stops_when_the_heldout_loss_stops_improving(tmp_path, corpus_file, capsys):
    out = tmp_path / "run"
    # learning rate 0: the held-out loss can never improve on epoch 1
    main(["--corpus", str(corpus_file), "--output-dir", str(out), *TINY, "--epochs", "6", "--patience", "2",
          "--learning-rate", "0"])
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    assert "has not improved for 2 epochs (best at epoch 1)" in capsys.readouterr().out


def test_export_command_renames_a_stage_snapshot(tmp_path, corpus_file):
    from genmods.text.export import main as export_main

    out = tmp_path / "run"
    main(["--corpus", str(corpus_file), "--output-dir", str(out), *TINY, "--epochs", "2"])
    export_main([str(out / "epoch-1"), str(tmp_path / "early"), "--repo-name", "someone/early"])
    card = (tmp_path / "early" / "README.md").read_text()
    assert "# someone/early" in card and "after epoch 1." in card
    assert json.loads((tmp_path / "early" / "training_args.json").read_text())["exported_epoch"] == 1


def test_trainer_runs_distributed_with_two_processes(tmp_path, corpus_file):
    """The multi-GPU path, exercised on the CPU: torchrun (what `accelerate launch` uses underneath) starts two
    processes that accelerate joins over gloo; each trains its own streams, the main one evaluates and exports."""
    out = tmp_path / "ddp"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", ACCELERATE_USE_CPU="true")
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29561",
                          "-m", "genmods.text.train", "--corpus", str(corpus_file), "--output-dir", str(out), *TINY,
                          "--epochs", "2", "--checkpoint-every", "20"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads((out / "training_args.json").read_text())["processes"] == 2
    assert [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert (out / "model.safetensors").exists() and list((out / "checkpoints").glob("step-*"))


def test_exported_weights_are_stored_in_half_precision_and_load_as_float32(tmp_path, corpus_file):
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    out = tmp_path / "run"
    main(["--corpus", str(corpus_file), "--output-dir", str(out), *TINY, "--epochs", "1"])
    with safe_open(str(out / "model.safetensors"), "pt") as handle:
        assert {handle.get_tensor(name).dtype for name in handle.keys()} == {torch.float16}
    model = AutoModelForCausalLM.from_pretrained(out)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
