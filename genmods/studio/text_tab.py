"""The text tab: three continuations of the conditioning text at three temperatures, streamed, and the
next-character view; inside the model: surprisal per character, one cell's activation, the cells that track a
property."""

import math
import os
from functools import lru_cache

import gradio as gr
import numpy as np
import torch

from ..text.batching import TextBatcher
from ..text.generate import PromptError, TextRequest, prepare_prompt
from ..text.interpret import PROPERTIES, cell_activations, rank_cells, surprisal
from ..text.sampling import temperature_label
from ..tracing import MODEL_CALLS
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
            info += f"\n\n■ **Stopped after {done} of {length} characters** (you pressed Stop)."
        elif request_.stopped_by == "time":
            info += f"\n\n■ **Stopped after {done} of {length} characters** (time limit {TEXT_TIME_LIMIT:.0f} s)."
        walk = dict(stage=stage, prompt=prepared.text, text=request_.texts[1], temperatures=temperatures,
                    probs=torch.stack([p[1] for p in request_.step_probs[:done]]) if done else None)
        yield *request_.texts, plot, info, walk
    finally:
        STOP.release(_session(request), "text", stop)


def prompt_problem(prompt, stage="converged") -> str:
    """What keeps the model `stage` from starting from this conditioning text (`prepare_prompt`), or "". An unknown
    stage is left to the job, whose message names the choices."""
    if stage in TEXT_MODELS:
        try:
            prepare_prompt(load_text_model(stage)[1], prompt, max_length=MAX_PROMPT_LENGTH)
        except PromptError as error:
            return str(error)
    return ""


UNSURE = 0.5  # the next-character view opens where the model's top character has less than this probability
VISIBLE_SPREAD = 0.3  # … and where the temperatures' top probabilities differ by at least this much


def temperature_spread(walk) -> torch.Tensor:
    """Per position of the middle text, how far apart the temperatures' views are: the top character's probability
    reweighted at the lowest temperature minus at the highest. Two characters tied at 49 % each stay tied at any
    temperature (spread ≈ 0); a clear favourite among many small ones spreads far."""
    temperatures = walk["temperatures"]
    logp = walk["probs"].clamp_min(1e-12).log()
    top = lambda t: (logp / t).softmax(dim=-1).max(dim=-1).values  # noqa: E731  p^(1/T)/Σ, its largest value
    return top(min(temperatures)) - top(max(temperatures))


def first_unsure_position(walk) -> int:
    """Where the next-character view opens: the first position of the middle text where the model was unsure (top
    p < UNSURE at T = 1) and the temperatures visibly disagree (spread ≥ VISIBLE_SPREAD); else the first unsure
    one; else 0."""
    if not walk or walk.get("probs") is None:
        return 0
    unsure = walk["probs"].max(dim=-1).values < UNSURE
    telling = (unsure & (temperature_spread(walk) >= VISIBLE_SPREAD)).nonzero()
    if len(telling):
        return int(telling[0])
    unsure = unsure.nonzero()
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


# Inside the model: surprisal per character, one cell's activation, and the cells that track a property.
PROPERTY_NAMES = tuple(PROPERTIES)
SURPRISAL_SCALE = 8.0  # bits shown at full colour: p = 1/256 or less
MOST_SURPRISING = 5
INSIDE_EXAMPLE = (
    'what is "truth"? the philosopher (who has always loved her) answers: "a woman." and the free spirit?\n'
    "he laughs. (he knows that every great thing must first wear a mask.)\n"
    'we good europeans say "no" to nothing; we say: "so be it!"'
)


def _analysed_text(text) -> str:
    if text is None or not str(text).strip():
        raise _user_error("Type or paste a text to look at (up to 2,000 characters).")
    if len(text) > MAX_PROMPT_LENGTH:
        raise _user_error(f"The text has {len(text):,} characters; the limit is {MAX_PROMPT_LENGTH:,}.")
    return text


def _dropped_line(tokenizer, text) -> str:
    dropped = tokenizer.unknown_characters(text)
    return f"\n\n⚠️ Left out, never seen in training: {' '.join(map(repr, dropped))}" if dropped else ""


def _token(char: str) -> str:
    """A character as a coloured token: a newline shows as ↵ and still breaks the line (app.py's CSS lets it), so
    the line structure — and a cell that counts the position in the line — can be seen."""
    return "↵\n" if char == "\n" else char


def _shown(char: str) -> str:
    return {" ": "␣", "\n": "⏎", "`": "'"}.get(char, char)


def text_surprisal(text, stage="converged"):
    """The text coloured by the model's surprisal (bits for each character given what precedes it), with the
    bits per character and the five most surprising spots. Returns (highlighted characters, summary): the
    highlight is [(character, bits / SURPRISAL_SCALE clipped to 1)], for `gr.HighlightedText`."""
    text = _analysed_text(text)
    model, tokenizer = load_text_model(stage)
    try:
        with MODEL_CALLS.shared():  # never while a feature extractor is traced in another thread (genmods.tracing)
            scored = surprisal(model, tokenizer, text)
    except PromptError as error:
        raise _user_error(error) from None
    if len(scored) < 2:
        raise _user_error("Give at least two characters: the first one only sets the context.")
    bits = [b for _, b in scored[1:]]
    seen = "".join(char for char, _ in scored)
    worst = sorted(range(1, len(scored)), key=lambda i: -scored[i][1])[:MOST_SURPRISING]
    spots = "\n".join(
        f"{rank}. `…{''.join(map(_shown, seen[max(0, i - 24):i]))}` → **{_shown(seen[i])}**: "
        f"{scored[i][1]:.1f} bits (p = {2 ** -scored[i][1]:.2%})" for rank, i in enumerate(worst, start=1))
    summary = (f"**{sum(bits) / len(bits):.2f} bits per character** ({sum(bits) / len(bits) * math.log(2):.3f} "
               f"nats) over the {len(bits):,} characters the {stage} model predicted (the first has no context). "
               f"Red: surprising, up to {SURPRISAL_SCALE:g} bits and more.\n\nMost surprising:\n{spots}"
               f"{_dropped_line(tokenizer, text)}")
    highlight = [(_token(scored[0][0]), None)] + [(_token(char), min(1.0, b / SURPRISAL_SCALE))
                                                  for char, b in scored[1:]]
    return highlight, summary


def _layer_and_cell(model, layer, cell) -> tuple[int, int]:
    layers, cells = model.config.num_hidden_layers, model.config.hidden_size
    return (int(_bounded(layer, 1, layers, f"Layer (1 to {layers})")),
            int(_bounded(cell, 0, cells - 1, f"Cell (0 to {cells - 1})")))


def _all_cells(model, tokenizer, text) -> tuple[str, np.ndarray]:
    """(the text as the model sees it, tanh of every cell state after each character)."""
    try:
        with MODEL_CALLS.shared():  # never while a feature extractor is traced in another thread (genmods.tracing)
            return prepare_prompt(tokenizer, text).text, cell_activations(model, tokenizer, text, kind="cell")
    except PromptError as error:
        raise _user_error(error) from None


def _one_cell(seen, activations, layer, cell, stage, dropped_line) -> tuple[list, str]:
    values = activations[:, layer - 1, cell]
    line = (f"Layer {layer}, cell {cell} of the {stage} model: **tanh of its cell state** after each character "
            f"(red towards +1, blue towards −1; from {values.min():+.2f} to {values.max():+.2f}).{dropped_line}")
    return [(_token(char), float(value)) for char, value in zip(seen, values)], line


def cell_view(text, stage="converged", layer=1, cell=0):
    """The text coloured by one LSTM cell: tanh of its cell state after each character, in [−1, 1] (red
    positive, blue negative). Returns (highlighted characters, a line saying what is shown)."""
    text = _analysed_text(text)
    model, tokenizer = load_text_model(stage)
    layer, cell = _layer_and_cell(model, layer, cell)
    seen, activations = _all_cells(model, tokenizer, text)
    return _one_cell(seen, activations, layer, cell, stage, _dropped_line(tokenizer, text))


def find_cells_view(text, stage="converged", property_name="inside quotes"):
    """The five cells that track `property_name` best over the text (Pearson's r of tanh(c) with the property,
    one value per character), and the best one shown, from one pass over the text (what `find_cells` does, with
    the activations kept for the view). Returns (table rows [layer, cell, r], layer, cell, highlighted
    characters, line)."""
    text = _analysed_text(text)
    if property_name not in PROPERTIES:
        raise _user_error(f"Unknown property {property_name!r}: choose one of {', '.join(PROPERTIES)}.")
    model, tokenizer = load_text_model(stage)
    seen, activations = _all_cells(model, tokenizer, text)
    values = PROPERTIES[property_name](seen)
    if values.std() == 0:
        raise _user_error(f"“{property_name}” does not change anywhere in this text, so no cell can track it: "
                          "give a text where it does (quotes, parentheses, several lines, sentences).")
    matches = rank_cells(activations, values)
    best = matches[0]
    highlight, line = _one_cell(seen, activations, best.layer, best.cell, stage, _dropped_line(tokenizer, text))
    line = (f"Best cell for “{property_name}”: layer {best.layer}, cell {best.cell}, r = {best.correlation:+.2f}. "
            + line)
    return [[m.layer, m.cell, round(m.correlation, 3)] for m in matches], best.layer, best.cell, highlight, line


def cell_sliders(stage="converged"):
    """The layer and cell sliders' ranges for a model stage."""
    model, _ = load_text_model(stage)
    return (gr.Slider(minimum=1, maximum=model.config.num_hidden_layers),
            gr.Slider(minimum=0, maximum=model.config.hidden_size - 1))


def chosen_cell(table, text, stage, evt: gr.SelectData):
    """A row of the find-cells table clicked: that cell shown. Returns (layer, cell, highlighted characters, line)."""
    rows = table.values.tolist() if hasattr(table, "values") else table
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    layer, cell = int(rows[row][0]), int(rows[row][1])
    highlight, line = cell_view(text, stage, layer, cell)
    return layer, cell, highlight, line
