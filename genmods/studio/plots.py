"""The tables behind the app's two plots (native Gradio line plots, drawn by the browser): the reweighted
next-character distribution, and the loss curve of style transfer."""

import math

import pandas as pd
import torch

from ..text.sampling import reweight_distribution, temperature_label

VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥"}


def next_character_table(probs: torch.Tensor, tokenizer, temperatures, top: int = 12) -> pd.DataFrame:
    """The `top` most likely next characters and their probability reweighted at each temperature, for a
    line plot with one line per temperature: the lower T, the steeper the line. Reweighting keeps the
    order of the characters at every T, so a plot sorted by probability ("-y") shows them in order of p.

    Drawn by the browser (a native Gradio plot) from this small table: a matplotlib figure costs ~0.4 s
    of server CPU per request, more than generating the text."""
    order = torch.argsort(probs, descending=True)[:top]
    labels = [VISIBLE.get(c, c) for c in tokenizer.convert_ids_to_tokens(order.tolist())]
    rows = []
    for temperature in temperatures:
        reweighted = reweight_distribution(probs, float(temperature))[order].tolist()
        rows += [{"character": label, "probability": round(p, 5), "temperature": temperature_label(temperature)}
                 for label, p in zip(labels, reweighted)]
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
