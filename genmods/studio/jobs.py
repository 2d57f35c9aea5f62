"""Running an iterative image job (DeepDream, style transfer) so a Gradio generator can stream it.

The job runs in a worker thread and reports through its `callback`; the generator drains the reports
and yields them. Closing the generator (Gradio's Stop button, a client that went away) or passing
the time limit makes the next callback raise, which ends the worker at its next step.
"""

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator


class JobStopped(Exception):
    """The job was cancelled or ran out of time; `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Update:
    kind: str  # "progress" or "done"
    value: Any


def run_streaming(job: Callable[[Callable[[Any], None]], Any], *, time_limit: float | None = None,
                  stop: threading.Event | None = None, poll: float = 0.05) -> Iterator[Update]:
    """Yields Update("progress", report) for each callback report, then Update("done", result).
    Exceptions from the job are re-raised here, in the caller's thread. Setting `stop` (a Stop button)
    ends the job at its next step with JobStopped("stopped")."""
    reports: queue.Queue = queue.Queue()
    stop = threading.Event() if stop is None else stop
    deadline = None if time_limit is None else time.monotonic() + time_limit
    outcome: dict = {}

    def callback(report):  # None: only check Stop and the time limit
        if stop.is_set():
            raise JobStopped("stopped")
        if deadline is not None and time.monotonic() > deadline:
            raise JobStopped(f"time limit of {time_limit:.0f} s reached")
        if report is not None:
            reports.put(report)

    def work():
        try:
            outcome["result"] = job(callback)
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error
        finally:
            reports.put(_FINISHED)

    worker = threading.Thread(target=work, daemon=True, name="genmods-job")
    worker.start()
    try:
        while True:
            try:
                report = reports.get(timeout=poll)
            except queue.Empty:
                continue
            if report is _FINISHED:
                break
            yield Update("progress", report)
        if "error" in outcome:
            raise outcome["error"]
        yield Update("done", outcome["result"])
    finally:
        stop.set()  # the generator was closed early: stop the worker at its next step


_FINISHED = object()


class StopButtons:
    """The Stop button of each tab, per visitor: a running job registers its stop event under (session,
    tab); Stop sets it, and the job ends at its next step and reports what it made so far.

    Gradio's own `cancels=` closes the job's generator from outside, so the page hears nothing more
    (no "stopped after …", no last image) and the next run queues behind a worker that is still busy."""

    def __init__(self):
        self._events: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    def register(self, session: str | None, tab: str, event: threading.Event | None = None) -> threading.Event:
        event = threading.Event() if event is None else event
        if session:
            with self._lock:
                self._events[(session, tab)] = event
        return event

    def release(self, session: str | None, tab: str, event: threading.Event) -> None:
        with self._lock:
            if self._events.get((session, tab)) is event:
                del self._events[(session, tab)]

    def press(self, session: str | None, tab: str) -> bool:
        """Stops the visitor's running job on `tab`; False when none was running."""
        with self._lock:
            event = self._events.get((session, tab))
        if event is None:
            return False
        event.set()
        return True
