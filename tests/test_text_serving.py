"""Serving text to many visitors: requests batched into one generate(), each with its own seed, and
bounded prompts."""

import threading

import gradio as gr
import pytest
import torch

from genmods import studio
from genmods.text.batching import TextBatcher
from genmods.text.generate import (
    PromptError,
    TextRequest,
    generate_requests,
    prepare_prompt,
    sample_at_temperatures,
)

PROMPTS = ["truth is a woman", "kant", "the jubilation reached its climax when kant first said: 12", "a"]


def request(tokenizer, prompt, seed, length=30, temperatures=(0.2, 0.5, 1.0), greedy=False):
    return TextRequest(prepare_prompt(tokenizer, prompt), temperatures, length, seed, greedy)


def test_batched_generation_equals_one_by_one_for_the_same_seeds(char_model, char_tokenizer):
    alone = []
    for i, prompt in enumerate(PROMPTS):
        single = request(char_tokenizer, prompt, seed=i, length=20 + 10 * i)
        generate_requests(char_model, char_tokenizer, [single])
        alone.append(single.texts)
    together = [request(char_tokenizer, prompt, seed=i, length=20 + 10 * i) for i, prompt in enumerate(PROMPTS)]
    together.append(request(char_tokenizer, "kant", seed=9, length=25, greedy=True))
    generate_requests(char_model, char_tokenizer, together)
    assert [r.texts for r in together[:-1]] == alone
    assert [len(r.texts[0]) for r in together] == [20, 30, 40, 50, 25]
    assert len(set(together[-1].texts)) == 1  # greedy rows agree whatever their temperature
    assert all(r.finished and r.stopped_by is None for r in together)


def test_each_request_samples_with_its_own_generator_not_the_global_rng(char_model, char_tokenizer):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    texts, _ = sample_at_temperatures(char_model, char_tokenizer, "kant", max_new_tokens=30, seed=4)
    assert torch.equal(torch.rand(3), expected)  # generation drew nothing from torch's global RNG
    again, _ = sample_at_temperatures(char_model, char_tokenizer, "kant", max_new_tokens=30, seed=4 + 2**32)
    other, _ = sample_at_temperatures(char_model, char_tokenizer, "kant", max_new_tokens=30, seed=5)
    assert again == texts and other != texts  # seeds are taken modulo 2**32


def test_request_alone_and_inside_a_concurrent_burst_of_ten_give_the_same_text(char_model, char_tokenizer):
    batcher = TextBatcher(char_model, char_tokenizer, window=0.2)
    alone = request(char_tokenizer, PROMPTS[0], seed=11, length=60)
    list(batcher.stream(alone))
    burst = [request(char_tokenizer, PROMPTS[0], seed=11, length=60) for _ in range(10)]
    burst += [request(char_tokenizer, prompt, seed=i, length=80) for i, prompt in enumerate(PROMPTS)]
    threads = [threading.Thread(target=lambda r=r: list(batcher.stream(r))) for r in burst]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert max(batcher.batch_sizes) > 1  # they were served together
    assert all(r.texts == alone.texts for r in burst[:10])


def test_a_stopped_request_ends_without_stopping_the_others(char_model, char_tokenizer):
    stopped = request(char_tokenizer, "kant", seed=1, length=400)
    other = request(char_tokenizer, "truth", seed=2, length=60)
    stopped.on_update = lambda r: r.stop.set() if len(r.texts[0]) == 5 else None
    generate_requests(char_model, char_tokenizer, [stopped, other])
    assert stopped.stopped_by == "stop" and len(stopped.texts[0]) == 5
    assert other.stopped_by is None and len(other.texts[0]) == 60


def test_long_prompts_are_refused_with_their_length_and_the_limit(char_tokenizer):
    assert len(prepare_prompt(char_tokenizer, "a" * 2000, max_length=2000).text) == 2000
    with pytest.raises(PromptError, match="2,001 characters; the limit is 2,000"):
        prepare_prompt(char_tokenizer, "a" * 2001, max_length=2000)


def test_the_text_handler_caps_the_prompt_and_takes_any_seed():
    with pytest.raises(gr.Error, match="100,000 characters; the limit is 2,000"):
        list(studio.generate_text("kant " * 20_000, length=10))
    *texts, _, _ = list(studio.generate_text("kant", length=10, seed=1e30))[-1]
    *same, _, _ = list(studio.generate_text("kant", length=10, seed=int(1e30) % 2**32))[-1]
    assert texts == same and len(texts[0]) == 10
    for seed in ("abc", float("nan"), float("inf")):
        with pytest.raises(gr.Error, match="seed must be a whole number"):
            list(studio.generate_text("kant", length=10, seed=seed))
