"""The two plots the app shows: the reweighted next-character distribution, and a loss curve."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from ..text.sampling import reweight_distribution, temperature_label  # noqa: E402

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


def loss_figure(history: list[dict]):
    """Weighted content, style and TV losses and their total, per step, on a log scale."""
    figure, axis = plt.subplots(figsize=(6, 3), dpi=100)
    steps = np.array([h.get("step", index + 1) for index, h in enumerate(history)])
    for key in ("total", "content", "style", "tv"):
        values = np.array([max(h[key], 1e-12) for h in history])
        axis.plot(steps, values, label=key, linewidth=2 if key == "total" else 1)
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("weighted loss")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    plt.close(figure)
    return figure
