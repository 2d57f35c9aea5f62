"""The tables behind the app's two plots (native Gradio plots, drawn by the browser): the reweighted
next-character distribution (grouped bars), and the loss curve of style transfer (lines)."""

import math

import pandas as pd
import torch

from ..text.sampling import reweight_distribution, temperature_label

VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥"}


def next_character_table(probs: torch.Tensor, tokenizer, temperatures, top: int = 12) -> pd.DataFrame:
    """The `top` most likely next characters and their probability reweighted at each temperature, for a bar
    plot with a group of bars per character, one bar per temperature: the lower T, the taller the first bars.

    Columns: character, probability, temperature, and `bar`, the bar's place on the x axis. Gradio's bar plot
    stacks the bars of one x value and sorts x values alphabetically, so each bar gets its own x value that
    looks like its character: the character's rank as zero-width U+FEFF characters in front (they sort after
    every character the model knows, so the groups stay in order of p) and the temperature's index as thin
    spaces behind (so a group's bars stay in the order of the temperatures).

    Drawn by the browser (a native Gradio plot) from this small table: a matplotlib figure costs ~0.4 s
    of server CPU per request, more than generating the text."""
    order = torch.argsort(probs, descending=True)[:top]
    labels = [VISIBLE.get(c, c) for c in tokenizer.convert_ids_to_tokens(order.tolist())]
    rows = []
    for index, temperature in enumerate(temperatures):
        reweighted = reweight_distribution(probs, float(temperature))[order].tolist()
        rows += [{"character": label, "probability": round(p, 5), "temperature": temperature_label(temperature),
                  "bar": "\ufeff" * rank + label + "\u2009" * index}
                 for rank, (label, p) in enumerate(zip(labels, reweighted))]
    return pd.DataFrame(rows)


def loss_table(history: list[dict]) -> pd.DataFrame:
    """Weighted content, style and TV losses and their total per step, as log₁₀ for a native line plot (the
    terms span orders of magnitude). A term that is exactly 0 (the content loss of the starting canvas,
    TV switched off) has no logarithm and is left out rather than drawn at some tiny floor."""
    rows = [{"step": h.get("step", index + 1), "term": key, "log10 weighted loss": round(math.log10(h[key]), 4)}
            for index, h in enumerate(history) for key in ("total", "content", "style", "tv", "temporal") if h.get(key, 0) > 0]
    # typed even when empty: the plot takes each column's type (quantitative or nominal) from the table
    return pd.DataFrame(rows, columns=["step", "term", "log10 weighted loss"]).astype(
        {"step": "int64", "term": "str", "log10 weighted loss": "float64"})
