"""What every tab of the studio shares: bounded inputs and seeds, the per-tab Stop buttons, running an
image job in a worker while streaming its previews, and turning bad input into a message a person reads."""

import logging
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..text.generate import SEED_RANGE
from ..vision.images import ImageInputError, header_size, load_image
from ..estimate import StepClock, duration
from .jobs import JobStopped, StopButtons, run_streaming

logger = logging.getLogger("genmods.studio")
REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_IMAGE_SIDE = 1024
IMAGE_TIME_LIMIT = float(os.environ.get("GENMODS_IMAGE_TIME_LIMIT", 600))
# a large print (style transfer above the tile size) was asked for knowing its estimate: it may run for twice that,
# up to this
LARGE_JOB_TIME_LIMIT = float(os.environ.get("GENMODS_LARGE_JOB_TIME_LIMIT", 3600))


def _bounded(value, low, high, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise _user_error(f"{name} must be a number.") from None
    if not low <= value <= high:
        raise _user_error(f"{name} must be between {low:g} and {high:g} (got {value:g}).")
    return value


RANDOM_SEED = -1  # the seed inputs' default: a fresh seed for every run
MAX_SEED = SEED_RANGE - 1  # the seed boxes' largest: a page cannot send a 30-digit number exactly, and beyond the
# generators' range every such seed fell on the same one (0)


def seed_problem(value, _=None) -> str:
    """What is wrong with a random seed, or "": −1 or empty asks for a fresh one; otherwise a whole number in the
    generators' range. (Beyond it, a page cannot even send the number exactly: every 30-digit seed arrived as the
    same float, and fell on seed 0.)"""
    if value is None or value == "":
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number) or not number.is_integer() or not RANDOM_SEED <= number <= MAX_SEED:
        return f"The random seed must be −1 (a new one each run) or a whole number up to {MAX_SEED:,}."
    return ""


def _seed(value) -> int:
    """-1 or empty: a fresh random seed; any other whole number up to MAX_SEED is the seed (`seed_problem`). The seed
    used is reported so the result can be reproduced."""
    if problem := seed_problem(value):
        raise _user_error(problem)
    if value is None or value == "" or int(float(value)) == RANDOM_SEED:
        return secrets.randbelow(SEED_RANGE)
    return int(float(value))


def _session(request) -> str | None:
    return getattr(request, "session_hash", None)


STOP = StopButtons()


def stop_button(tab: str):
    """What a tab's Stop button calls: ends the visitor's running job on that tab at its next step.
    (A plain function per tab: Gradio finds the gr.Request parameter through the annotations, which a
    functools.partial does not carry.)"""
    def stop(request: gr.Request) -> None:
        STOP.press(_session(request), tab)
    stop.__name__ = f"stop_{tab}"
    return stop



def _image_info(result, extra: list[str] = ()) -> str:
    lines = []
    if result.weights.warning:
        lines.append(f"⚠️ **{result.weights.warning}**")
    else:
        lines.append(f"Weights: {result.weights.source}.")
    lines += [f"ℹ️ {note}" for note in list(result.notes) + list(extra)]
    lines.append(f"Done in {result.seconds:.1f} s.")
    return "\n\n".join(lines)


@dataclass
class JobEnd:
    """How a streamed image job ended: its result, or the last image it showed when stopped early."""

    result: object = None
    image: object = None  # the last intermediate image (stopped early), or None
    pixels: object = None  # that image in full precision, when the job's reports carry it (style transfer)
    report: object = None  # the last step report
    stopped: str | None = None  # "stopped" (the Stop button) or the time-limit reason


# While an image job runs, Gradio's progress overlay (the step, the time left, the queue position, a bar) sits on
# a line of its own above the info panel (show_progress_on in app.py), so the streamed images and the loss curve
# stay in view, the progress is shown once, and no text lies under the bar.


def _stream_job(job, progress, describe, tab: str, request=None, clock: StepClock | None = None,
                time_limit: float = IMAGE_TIME_LIMIT):
    """Runs `job(callback)` in a worker, reporting progress with the time left (from the steps' own times); yields
    ("preview", image, report, seconds left or None) and finally ("end", JobEnd, None, None). Stop (the tab's
    button) or the time limit end it early with the last image kept. Input errors become gr.Error."""
    stop = STOP.register(_session(request), tab)
    last_image = last_pixels = last_report = None
    clock = clock or StepClock()
    try:
        for update in run_streaming(job, time_limit=time_limit, stop=stop):
            if update.kind == "done":
                yield "end", JobEnd(result=update.value, report=last_report), None, None
                return
            last_report = report = update.value
            left = clock.left(report.step, report.total_steps)
            if progress is not None:
                progress(report.step / report.total_steps,
                         desc=describe(report) + ("" if left is None else f" · about {duration(left)} left"))
            if report.image is not None:
                last_image, last_pixels = report.image, getattr(report, "pixels", None)
                yield "preview", report.image, report, left
    except (ImageInputError, ValueError, FileNotFoundError) as error:
        raise _user_error(error) from None
    except JobStopped as stopped:
        ended = JobEnd(image=last_image, pixels=last_pixels, report=last_report, stopped=stopped.reason)
        yield "end", ended, None, None
    finally:
        STOP.release(_session(request), tab, stop)


def _running_line(verb: str, estimate) -> str:
    """'Painting… (estimated about 1.2 min on this CPU before starting)'. The time left is said in one place only,
    the progress line, which follows every step (the info follows the previews, every few steps: two clocks that
    disagree)."""
    return f"{verb}… (estimated {estimate.describe()} before starting; the time left is on the progress line)"


def _user_error(error) -> gr.Error:
    """A bad input: one line in the server log (not Gradio's traceback), the message on the page."""
    logger.info("refused: %s", error)
    return gr.Error(str(error), print_exception=False)


def _stopped_line(end: JobEnd, unit: str = "steps") -> str:
    done, total = (end.report.step, end.report.total_steps) if end.report is not None else (0, "?")
    why = "you pressed Stop" if end.stopped == "stopped" else end.stopped
    kept = "the last intermediate image is kept as the result" if end.image is not None else "no image yet"
    return f"■ **Stopped after {done} of {total} {unit}** ({why}); {kept}."


def check_upload(payload):
    """Runs when an image is uploaded (before any button is pressed): a file that is not a usable image is
    removed from the input at once with the reason, instead of sitting there as a broken picture.
    Takes Gradio's raw file payload (the event has preprocess=False)."""
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)
    if not path:
        return gr.skip()
    try:
        load_image(path, max_side=64)  # the same checks as a run: format, damage, pixel count, minimum size
    except ImageInputError as error:
        logger.info("refused upload: %s", error)
        gr.Warning(str(error))
        return None
    return path  # sent back, so the input is part of the session's state and a shared link reopens it


def upload_path(value) -> str | None:
    """The file path of an image input's value: a path, or Gradio's raw upload payload (events that skip
    preprocessing get that, so a bad upload is reported once, by `check_upload`, not again by each listener)."""
    if isinstance(value, dict):
        return value.get("path")
    return getattr(value, "path", value)


def _longer_side(image, default: int) -> int:
    """The longer side of an input image (from its header), `default` when there is none yet."""
    size = header_size(upload_path(image)) if upload_path(image) else None
    return max(size) if size else default


def _aspect(image) -> float:
    """height / width of an input image (from its header), 0.75 when there is none yet."""
    size = header_size(upload_path(image)) if upload_path(image) else None
    return size[1] / size[0] if size else 0.75
