"""Serving many text requests with one model: a micro-batcher.

Gradio's own batching (`batch=True`) cannot stream (it refuses generator functions), and the text tab
streams. So each visitor's handler submits a `TextRequest` here and follows it; a worker thread takes
every request that is waiting (or arrives within `window` seconds of the first) and serves them
together with `generate_requests`: one `generate()` whose rows are prompts × temperatures, each request
with its own seed, length, Stop and time limit. Requests that arrive while a batch runs go into the
next one. One worker by default: on a small CPU two concurrent batches only slow each other down
(benchmarks/serving_load.py).
"""

import logging
import threading
import time
from queue import Empty, Queue

from ..tracing import MODEL_CALLS
from .generate import TextRequest, follow, generate_requests

logger = logging.getLogger(__name__)


class TextBatcher:
    def __init__(self, model, tokenizer, *, window: float = 0.05, max_rows: int = 96, workers: int = 1):
        self.model, self.tokenizer = model, tokenizer
        self.window, self.max_rows = window, max_rows
        self.batch_sizes: list[int] = []  # requests per generate() call, for benchmarks and tests
        self._waiting: Queue = Queue()
        self._workers = [threading.Thread(target=self._serve_forever, daemon=True, name=f"genmods-text-batcher-{i}")
                         for i in range(workers)]
        for worker in self._workers:
            worker.start()

    def submit(self, request: TextRequest) -> None:
        self._waiting.put(request)

    def stream(self, request: TextRequest):
        """Submits `request` and yields it as it grows (see `genmods.text.generate.follow`)."""
        updates = follow(request)
        first = next(updates)  # subscribed to the request's updates before a worker can take it
        self.submit(request)
        yield first
        yield from updates

    def _next_batch(self) -> list[TextRequest]:
        batch = [self._waiting.get()]
        rows = batch[0].rows
        deadline = time.monotonic() + self.window
        while rows < self.max_rows:
            try:
                request = self._waiting.get(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                break
            batch.append(request)
            rows += request.rows
        return batch

    def _serve_forever(self):
        while True:
            batch = self._next_batch()
            live = []
            for request in batch:
                if request.stop.is_set():  # the visitor left while waiting
                    request.finish("stop")
                    request.notify()
                else:
                    live.append(request)
            if not live:
                continue
            self.batch_sizes.append(len(live))
            started = time.monotonic()
            try:
                with MODEL_CALLS.shared():  # never while a feature extractor is being traced (genmods.tracing)
                    generate_requests(self.model, self.tokenizer, live)
                logger.info("served %d text requests (%d rows, up to %d characters) in %.2f s", len(live),
                            sum(r.rows for r in live), max(r.max_new_tokens for r in live), time.monotonic() - started)
            except Exception as error:  # every request of the batch hears of it; the worker carries on
                logger.exception("text batch of %d requests failed", len(live))
                for request in live:
                    request.finish("error", error)
                    request.notify()
