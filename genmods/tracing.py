"""torch.fx traces a network by patching `torch.nn.Module.__call__` for the whole process: while a trace runs,
a model called from another thread goes through the tracer and fails ("module is not installed as a
submodule"). The feature extractors are traced on first use (genmods.vision.backbones); the text model runs in
its own thread at the same time. `MODEL_CALLS` keeps the two apart: models outside the trace's thread run
under `shared()` (many at once), a trace under `exclusive()` (alone)."""

import threading
from contextlib import contextmanager


class SharedExclusiveLock:
    """Many holders of `shared()` at once, or one of `exclusive()`; a waiting `exclusive()` lets no new
    `shared()` in, so a trace is not starved by a stream of text batches."""

    def __init__(self):
        self._condition = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextmanager
    def shared(self):
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive and not self._waiting)
            self._shared += 1
        try:
            yield
        finally:
            with self._condition:
                self._shared -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self):
        with self._condition:
            self._waiting += 1
            self._condition.wait_for(lambda: not self._exclusive and not self._shared)
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()


MODEL_CALLS = SharedExclusiveLock()

__all__ = ["SharedExclusiveLock", "MODEL_CALLS"]
