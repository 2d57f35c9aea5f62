"""The two figures the app shows: the reweighted next-character distribution, and a loss curve."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ..text.sampling import reweight_distribution  # noqa: E402

VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥"}


def next_character_figure(probs: torch.Tensor, tokenizer, temperatures, top: int = 12):
    """Grouped bars: the `top` most likely next characters (at T = 1), reweighted at each temperature."""
    order = torch.argsort(probs, descending=True)[:top]
    labels = [VISIBLE.get(c, c) for c in tokenizer.convert_ids_to_tokens(order.tolist())]
    figure, axis = plt.subplots(figsize=(7, 3), dpi=100)
    width = 0.8 / len(temperatures)
    positions = np.arange(len(labels))
    for index, temperature in enumerate(temperatures):
        reweighted = reweight_distribution(probs, float(temperature))[order].numpy()
        axis.bar(positions + (index - (len(temperatures) - 1) / 2) * width, reweighted, width,
                 label=f"T = {float(temperature):g}")
    axis.set_xticks(positions, labels, fontsize=12)
    axis.set_ylabel("probability")
    axis.set_title("next character after the conditioning text")
    axis.set_ylim(0, 1)
    axis.legend()
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    plt.close(figure)
    return figure


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
