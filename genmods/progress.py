"""A tqdm progress bar fed by the step reports of DeepDream and style transfer (command lines)."""

from tqdm.auto import tqdm


def progress_bar(postfix):
    """(bar, callback): the callback moves the bar to each report's step of `total_steps`, showing
    `postfix(report)` (a dict) beside it."""
    bar = tqdm(unit="step")

    def update(report):
        bar.total = report.total_steps
        bar.n = report.step
        bar.set_postfix(**postfix(report))
        bar.refresh()

    return bar, update
