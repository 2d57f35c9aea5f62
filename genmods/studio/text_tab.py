"""The text tab: three continuations of the conditioning text at three temperatures, streamed, and the
next-character view."""

import os
from functools import lru_cache

import gradio as gr
import torch

from ..text.batching import TextBatcher
from ..text.generate import PromptError, TextRequest, prepare_prompt
from ..text.sampling import temperature_label
from .common import REPO_ROOT, RANDOM_SEED, STOP, _bounded, _seed, _session, _user_error
from .plots import next_character_table

TEXT_MODELS = {  # stage → local folder; an environment variable can name a Hub repo (or folder) instead
    "converged": ("GENMODS_TEXT_MODEL", REPO_ROOT / "models" / "char-lstm-nietzsche"),
    "early": ("GENMODS_TEXT_MODEL_EARLY", REPO_ROOT / "models" / "char-lstm-nietzsche-early"),
}


MAX_TEXT_LENGTH = 2000
MAX_PROMPT_LENGTH = 2000  # characters of conditioning text, for the textbox and every API call
MAX_TEMPERATURE = 3.0
TEXT_TIME_LIMIT = 60.0
STREAM_INTERVAL = 0.25  # seconds between streamed text updates (each one costs the server more than a step)


@lru_cache(maxsize=4)
def load_text_model(stage: str):
    """(model, tokenizer) for a training stage, on the accelerate device, loaded once."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .. import text  # noqa: F401  (registers the char-LSTM with the Auto classes)
    from ..device import default_device

    if stage not in TEXT_MODELS:
        raise _user_error(f"Unknown model stage {stage!r}: choose one of {', '.join(TEXT_MODELS)}.")
    variable, folder = TEXT_MODELS[stage]
    source = os.environ.get(variable) or str(folder)
    if not os.environ.get(variable) and not (folder / "config.json").exists():
        raise _user_error(f"The {stage} model is missing ({folder}); train one with `python -m genmods.text.train`.")
    try:
        model = AutoModelForCausalLM.from_pretrained(source).to(default_device()).eval()
        tokenizer = AutoTokenizer.from_pretrained(source)
    except Exception as error:  # a Hub id that cannot be reached, a folder that is not a model
        raise _user_error(f"Could not load the {stage} model from {source}: {type(error).__name__}: {error}") from None
    return model, tokenizer


@lru_cache(maxsize=4)
def text_batcher(stage: str) -> TextBatcher:
    """The micro-batcher that serves every visitor's text requests for a model stage together."""
    return TextBatcher(*load_text_model(stage))


def generate_text(prompt, stage="converged", length=400, temperature_low=0.2, temperature_mid=0.5,
                  temperature_high=1.0, seed=RANDOM_SEED, greedy=False, request: gr.Request = None):
    """Streams three continuations of `prompt` side by side, one per temperature, plus the next-character
    distribution after the prompt, reweighted at each temperature (a table for a line plot).
    Yields (text, text, text, distribution, info, walk): `walk` is what the next-character view needs to
    show the distribution at any position of the middle text (a gr.State: not part of the API).
    Requests from many visitors are generated together in one batch (`text_batcher`)."""
    temperatures = [_bounded(t, 0.01, MAX_TEMPERATURE, "Temperature")
                    for t in (temperature_low, temperature_mid, temperature_high)]
    length = int(_bounded(length, 1, MAX_TEXT_LENGTH, "Length"))
    seed = _seed(seed)
    model, tokenizer = load_text_model(stage)
    try:
        prepared = prepare_prompt(tokenizer, prompt, max_length=MAX_PROMPT_LENGTH)
    except PromptError as error:
        raise _user_error(error) from None
    info = f"**Conditioning text, as the model sees it:** `{prepared.text[-300:]}`"
    if prepared.dropped:
        dropped = " ".join(repr(c) for c in prepared.dropped)
        gr.Warning(f"Dropped characters the model has never seen: {dropped}")
        info += f"\n\n⚠️ Dropped characters the model has never seen: {dropped}"
    if greedy:
        info += "\n\nGreedy decoding: the most likely character every time, so the three columns agree."
    info += f"\n\nSeed {seed} (enter it as the random seed to get the same texts again)."
    request_ = TextRequest(prepared, tuple(temperatures), length, seed, bool(greedy), max_time=TEXT_TIME_LIMIT,
                           update_interval=STREAM_INTERVAL)
    stop = STOP.register(_session(request), "text", request_.stop)
    # Every update carries every output: Gradio builds a whole component for each gr.skip(), which under
    # a burst of visitors costs more than sending an unchanged value (benchmarks/serving_load.py).
    plot = None
    try:
        updates = text_batcher(stage).stream(request_)
        next(updates)  # submitted before the first update goes out, so requests of a burst arrive together
        yield "", "", "", plot, info, None
        for request_ in updates:  # at most one update every STREAM_INTERVAL
            if plot is None and request_.distribution is not None:
                plot = next_character_table(request_.distribution, tokenizer, temperatures)
            if not request_.finished:
                yield *request_.texts, plot, info, None
        done = len(request_.texts[0])
        if request_.stopped_by == "stop":
            info += f"\n\n⏹ **Stopped after {done} of {length} characters** (you pressed Stop)."
        elif request_.stopped_by == "time":
            info += f"\n\n⏹ **Stopped after {done} of {length} characters** (time limit {TEXT_TIME_LIMIT:.0f} s)."
        walk = dict(stage=stage, prompt=prepared.text, text=request_.texts[1], temperatures=temperatures,
                    probs=torch.stack([p[1] for p in request_.step_probs[:done]]) if done else None)
        yield *request_.texts, plot, info, walk
    finally:
        STOP.release(_session(request), "text", stop)


UNSURE = 0.5  # the next-character view opens where the model's top character has less than this probability


def first_unsure_position(walk) -> int:
    """The first position of the middle text where the model was unsure (top p < UNSURE at T = 1), else 0."""
    if not walk or walk.get("probs") is None:
        return 0
    unsure = (walk["probs"].max(dim=-1).values < UNSURE).nonzero()
    return int(unsure[0]) if len(unsure) else 0


def next_character_at(walk, position=None):
    """The next-character view at `position` (1-based) of the middle text; None: the first unsure one.
    Returns (slider update, context line, distribution table)."""
    if not walk or walk.get("probs") is None:
        return gr.Slider(value=1, maximum=1, interactive=False), "", gr.skip()
    _, tokenizer = load_text_model(walk["stage"])
    probs, text = walk["probs"], walk["text"]
    index = first_unsure_position(walk) if position is None else int(min(max(int(position) - 1, 0), len(probs) - 1))
    before = (walk["prompt"] + text[:index])[-60:].replace("`", "'").replace("\n", "⏎")
    chosen = text[index]
    shown = {" ": "␣", "\n": "⏎"}.get(chosen, chosen)
    p = float(probs[index, tokenizer.convert_tokens_to_ids(chosen)])
    top = float(probs[index].max())
    line = (f"**Character {index + 1} of {len(probs)}** of the {temperature_label(walk['temperatures'][1])} text. "
            f"After `…{before}` the model gave its favourite {top:.0%}; the text drew **{shown}** "
            f"(p = {p:.1%} before reweighting).")
    table = next_character_table(probs[index], tokenizer, walk["temperatures"])
    return gr.Slider(value=index + 1, minimum=1, maximum=len(probs), interactive=True), line, table
