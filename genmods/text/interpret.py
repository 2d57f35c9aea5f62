"""What the char-LSTM has learnt, character by character: how surprised it is by a text, and what its cells do.

    surprisal(model, tokenizer, "the will to power") → [("t", None), ("h", 3.1), ("e", 0.4), …]
    cell_activations(model, tokenizer, text)          → (characters, layers, cells) array, tanh of the cell state
    find_cells(model, tokenizer, text)                → per property, the cells that track it best

Karpathy, Johnson & Fei-Fei (2016, "Visualizing and Understanding Recurrent Networks") found single LSTM cells
that switch on inside quotes, count the position in a line, or follow the nesting of brackets. `find_cells`
ranks every cell by the correlation of its activation with such a property over a text, so a visitor can jump to
the interesting ones.
"""

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from transformers import DynamicCache

from .generate import prepare_prompt

CELL_KINDS = ("cell", "hidden")


def _ids(tokenizer, text: str, model) -> tuple[str, torch.Tensor, list[str]]:
    """(the text as the model sees it, its ids, the characters dropped): normalised as in training, unknown
    characters dropped (`prepare_prompt`, the same rule as for conditioning text)."""
    prepared = prepare_prompt(tokenizer, text)
    return prepared.text, prepared.input_ids.to(model.device), prepared.dropped


@torch.no_grad()
def surprisal(model, tokenizer, text: str) -> list[tuple[str, float | None]]:
    """Each character of `text` (as the model sees it: normalised, unknown characters dropped) with the model's
    surprisal in bits, −log₂ p(character | everything before it). The first character has nothing before it
    and gets None; the sum of the others is the negative log-likelihood of the text in bits."""
    seen, ids, _ = _ids(tokenizer, text, model)
    logits = model(input_ids=ids, use_cache=False).logits[0, :-1].float()
    nats = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")
    bits = (nats / math.log(2)).tolist()
    return [(seen[0], None)] + list(zip(seen[1:], bits))


@torch.no_grad()
def cell_activations(model, tokenizer, text: str, kind: str = "cell") -> np.ndarray:
    """(characters, layers, cells) activations of every LSTM unit after reading each character of `text` (as the
    model sees it). kind="cell": tanh of the cell state c, what Karpathy et al. plot (in [−1, 1]; the state the
    LSTM carries, read from the cache after each character); "hidden": the layer's output h = o ⊙ tanh(c), what
    `output_hidden_states` returns and the next layer reads."""
    if kind not in CELL_KINDS:
        raise ValueError(f"kind must be 'cell' or 'hidden', not {kind!r}")
    _, ids, _ = _ids(tokenizer, text, model)
    if kind == "hidden":
        hidden = model(input_ids=ids, use_cache=False, output_hidden_states=True).hidden_states[1:]
        return torch.stack(hidden, dim=2)[0].float().cpu().numpy()
    # the cell state is not an output of forward: step one character at a time and read it from the cache
    cache, states = DynamicCache(config=model.config), []
    for position in range(ids.shape[1]):  # the base model: the head's logits are not needed here
        model.base_model(input_ids=ids[:, position : position + 1], cache=cache, use_cache=True)
        states.append(torch.stack([layer.recurrent_states[0][0, 1] for layer in cache.layers]))  # (layers, cells)
    return torch.tanh(torch.stack(states)).float().cpu().numpy()


# Simple properties of a text, one value per character (after reading it), that a cell may track.
def inside_quotes(text: str) -> np.ndarray:
    """1 from an opening double quote up to the character before the closing one, else 0."""
    inside, values = False, []
    for char in text:
        if char == '"':
            inside = not inside
        values.append(float(inside))
    return np.array(values)


def inside_parentheses(text: str) -> np.ndarray:
    """1 while at least one parenthesis or bracket is open, else 0."""
    depth, values = 0, []
    for char in text:
        depth = depth + 1 if char in "([" else max(0, depth - 1) if char in ")]" else depth
        values.append(float(depth > 0))
    return np.array(values)


def position_in_line(text: str) -> np.ndarray:
    """Characters since the last line break."""
    column, values = 0, []
    for char in text:
        column = 0 if char == "\n" else column + 1
        values.append(float(column))
    return np.array(values)


def after_full_stop(text: str) -> np.ndarray:
    """1 from a full stop (or ! or ?) up to the first letter of the next sentence, else 0."""
    waiting, values = False, []
    for char in text:
        if char in ".!?":
            waiting = True
        values.append(float(waiting))
        if waiting and char.isalpha():
            waiting = False
    return np.array(values)


PROPERTIES: dict[str, Callable[[str], np.ndarray]] = {
    "inside quotes": inside_quotes,
    "inside parentheses": inside_parentheses,
    "position in the line": position_in_line,
    "after a full stop": after_full_stop,
}


@dataclass(frozen=True)
class CellMatch:
    layer: int  # 1-based, as shown to a visitor
    cell: int  # 0-based index within the layer
    correlation: float  # Pearson's r of the cell's activation with the property over the text's characters


def rank_cells(activations: np.ndarray, values: np.ndarray, top: int = 5) -> list[CellMatch]:
    """The `top` cells whose activation correlates most strongly (either sign) with `values`, one per character."""
    flat = activations.reshape(len(activations), -1)  # (characters, layers × cells)
    centred = flat - flat.mean(axis=0)
    target = values - values.mean()
    denominator = np.sqrt((centred**2).sum(axis=0) * (target**2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = np.where(denominator > 0, centred.T @ target / denominator, 0.0)
    order = np.argsort(-np.abs(correlation))[:top]
    cells = activations.shape[2]
    return [CellMatch(int(index // cells) + 1, int(index % cells), float(correlation[index])) for index in order]


def find_cells(model, tokenizer, text: str, properties=None, kind: str = "cell",
               top: int = 5) -> dict[str, list[CellMatch]]:
    """For each property (a name of PROPERTIES, or {name: function of the text → one value per character}), the
    `top` cells that track it best over `text`. A property that does not vary over the text (no quote in it, …)
    ranks nothing and gets an empty list."""
    seen, _, _ = _ids(tokenizer, text, model)
    if properties is None:
        properties = PROPERTIES
    elif not isinstance(properties, dict):  # names of PROPERTIES
        unknown = [name for name in properties if name not in PROPERTIES]
        if unknown:
            raise ValueError(f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}: "
                             f"choose from {', '.join(PROPERTIES)}")
        properties = {name: PROPERTIES[name] for name in properties}
    activations = cell_activations(model, tokenizer, text, kind)
    ranking = {}
    for name, property_of in properties.items():
        values = np.asarray(property_of(seen), np.float64)
        ranking[name] = rank_cells(activations, values, top) if values.std() > 0 else []
    return ranking


__all__ = [
    "surprisal", "cell_activations", "find_cells", "rank_cells", "CellMatch", "PROPERTIES", "CELL_KINDS",
    "inside_quotes", "inside_parentheses", "position_in_line", "after_full_stop",
]
