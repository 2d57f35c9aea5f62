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


def test_the_text_handler_caps_the_prompt_and_takes_seeds_of_the_generators_range():
    with pytest.raises(gr.Error, match="100,000 characters; the limit is 2,000"):
        list(studio.generate_text("kant " * 20_000, length=10))
    *texts, _, info, _ = list(studio.generate_text("kant", length=10, seed=float(studio.MAX_SEED)))[-1]
    *same, _, _, _ = list(studio.generate_text("kant", length=10, seed=studio.MAX_SEED))[-1]
    assert texts == same and len(texts[0]) == 10 and f"Seed {studio.MAX_SEED}" in info
    # beyond the range a page cannot send a seed exactly (every 30-digit one arrived as seed 0): refused, by name
    for seed in ("abc", float("nan"), float("inf"), 1e30, studio.MAX_SEED + 1, -2, 2.5):
        with pytest.raises(gr.Error, match="seed must be −1 .* or a whole number up to 4,294,967,295"):
            list(studio.generate_text("kant", length=10, seed=seed))


def test_every_run_draws_a_fresh_seed_unless_one_is_given_and_says_which():
    runs = [list(studio.generate_text("kant", length=30))[-1] for _ in range(2)]
    assert runs[0][:3] != runs[1][:3]
    seed = int(runs[0][4].split("Seed ")[1].split()[0])
    again = list(studio.generate_text("kant", length=30, seed=seed))[-1]
    assert again[:3] == runs[0][:3]  # the reported seed reproduces the texts


def test_a_tie_between_two_characters_looks_the_same_at_every_temperature_and_is_skipped():
    from genmods.studio.text_tab import temperature_spread

    probs = torch.full((3, 4), 0.01)
    probs[0, :2] = 0.485  # space vs newline, 49 % each: every temperature shows the same two bars
    probs[1, 0], probs[1, 1:] = 0.4, 0.2  # a favourite among small ones: T = 0.2 makes it near-certain
    probs[2, 0] = 0.97
    walk = {"probs": probs / probs.sum(-1, keepdim=True), "temperatures": (0.2, 0.5, 1.0)}
    spread = temperature_spread(walk)
    assert spread[0] < 0.05 and spread[1] > 0.3
    assert studio.first_unsure_position(walk) == 1


def test_the_next_character_view_opens_where_the_model_was_unsure_and_walks_the_text():
    *texts, _, _, walk = list(studio.generate_text("the jubilation reached its climax when kant", length=120,
                                                   seed=3))[-1]
    assert walk["text"] == texts[1] and walk["probs"].shape[0] == 120
    unsure = studio.first_unsure_position(walk)
    # it opens where the model was unsure and the three temperatures look different (not on a 49 % / 49 % tie)
    from genmods.studio.text_tab import VISIBLE_SPREAD, temperature_spread

    spread = temperature_spread(walk)
    telling = (walk["probs"].max(dim=-1).values < studio.UNSURE) & (spread >= VISIBLE_SPREAD)
    assert telling[unsure] and not telling[:unsure].any()
    slider, line, table = studio.next_character_at(walk)
    assert slider.value == unsure + 1 and f"Character {unsure + 1} of 120" in line
    slider, line, table = studio.next_character_at(walk, 50)
    assert "Character 50 of 120" in line and len(table) == 36
    # the table at a position is the distribution the model gave there, reweighted at each temperature
    top = table[table["temperature"] == "T = 1.0"]["probability"].max()
    assert abs(top - float(walk["probs"][49].max())) < 1e-4


def test_stop_ends_text_generation_and_says_how_far_it_got():
    import threading
    from types import SimpleNamespace

    visitor = SimpleNamespace(session_hash="visitor-1")
    updates = []
    run = threading.Thread(target=lambda: updates.extend(studio.generate_text("kant", length=2000, request=visitor)))
    run.start()
    while not updates or not updates[-1][0]:
        threading.Event().wait(0.05)
    studio.stop_button("text")(visitor)
    run.join(timeout=30)
    written = len(updates[-1][0])
    assert written < 2000 and f"Stopped after {written} of 2000 characters" in updates[-1][4]


def test_a_user_error_is_one_log_line_not_a_traceback(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="genmods.studio"), pytest.raises(gr.Error) as raised:
        list(studio.generate_text("   ", length=20))
    assert raised.value.print_exception is False  # Gradio prints no traceback for it
    assert [r.getMessage() for r in caplog.records if r.name == "genmods.studio"] == [
        "refused: The conditioning text is empty: type a few words for the model to continue."]


def test_the_next_character_bars_sort_into_groups_in_order_of_probability():
    *_, walk = list(studio.generate_text("the jubilation reached its climax when kant", length=30, seed=3))[-1]
    _, _, table = studio.next_character_at(walk, 10)
    # the bar plot sorts its x values as strings: that order must be rank by rank, each rank's temperatures in order
    ordered = table.sort_values("bar", key=lambda column: column.map(str))
    ranks = [bar.count("\ufeff") for bar in ordered["bar"]]
    assert ranks == sorted(ranks) and len(set(table["bar"])) == len(table) == 36
    at_one = ordered[ordered["temperature"] == "T = 1.0"]["probability"].tolist()
    assert at_one == sorted(at_one, reverse=True)
    assert [bar.strip("\ufeff\u2009") for bar in ordered["bar"]] == ordered["character"].tolist()
    assert ordered["temperature"].tolist()[:3] == ["T = 0.2", "T = 0.5", "T = 1.0"]
