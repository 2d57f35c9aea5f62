"""The lecture's sampling rule, written out so it can be shown and checked.

`generate(do_sample=True, temperature=T)` samples from softmax(logits / T); with p = softmax(logits)
that is exactly p^(1/T) / Σ p^(1/T), the reweighting below. The tests pin the two against each other,
and the app plots this function's output for the next character.
"""

import torch

SEED_TEXT = "new faculty, and the jubilation reached its climax when kant"
LECTURE_TEMPERATURES = (0.2, 0.5, 1.0)


def reweight_distribution(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """p → p^(1/T) / Σ p^(1/T) over the last dimension; T → 0 puts all mass on the most likely entry
    (ties shared), T = 1 leaves p unchanged, large T flattens it towards uniform."""
    if temperature < 0:
        raise ValueError(f"temperature must be ≥ 0, got {temperature}")
    probs = probs.double()
    if temperature == 0:
        top = probs == probs.max(dim=-1, keepdim=True).values
        return (top / top.sum(dim=-1, keepdim=True)).to(torch.float32)
    # In log space, so that small probabilities raised to a large power do not underflow to 0/0.
    return torch.softmax(torch.log(probs) / temperature, dim=-1).to(torch.float32)


def temperature_label(temperature: float) -> str:
    """"T = 0.2", "T = 1.0", "T = 0.25": one way of writing a temperature everywhere it is shown."""
    text = f"{float(temperature):g}"
    return f"T = {text}" if "." in text or "e" in text else f"T = {text}.0"
