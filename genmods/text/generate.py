"""Generating text with the char-LSTM: conditioning text in, samples at several temperatures out.

Everything runs through `model.generate()`. A *request* is one prompt sampled at several temperatures
(one row each); `generate_requests` serves any number of requests in one batched `generate()` call,
which is how the Space answers many visitors at once (`genmods.text.batching`). Three small pieces
exist because transformers has no equivalent:
- `RequestSampler`: a temperature per row and a `torch.Generator` per request (transformers' sampling
  uses the global RNG, so one visitor's draws would depend on who else is being served);
- `RequestStreamer`: hands each request its own rows as they grow (`TextIteratorStreamer` takes one row);
- `RequestStopping`: ends each request at its own length, Stop or time limit.
"""

import logging
import time
from dataclasses import dataclass, field
from queue import Queue
from threading import Event, Thread

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList
from transformers.cache_utils import DynamicCache
from transformers.generation.streamers import BaseStreamer

from .sampling import LECTURE_TEMPERATURES

logger = logging.getLogger(__name__)

SEED_RANGE = 2**32  # seeds are taken modulo this, like numpy's


class PromptError(ValueError):
    """The conditioning text cannot be used; the message says why."""


@dataclass
class PreparedPrompt:
    text: str  # what the model is conditioned on (normalised, unknown characters removed)
    input_ids: torch.Tensor  # (1, length)
    dropped: list[str] = field(default_factory=list)  # characters removed because the model never saw them


def prepare_prompt(tokenizer, text: str, max_length: int | None = None) -> PreparedPrompt:
    """Normalise the conditioning text as in training and drop unknown characters (named in `dropped`).

    An empty prompt, or one with no known character, is rejected: the model was trained on text
    that always has context, and generating from the zero state gives the start of no sentence.
    `max_length` (characters) refuses longer text rather than cutting it, so nobody's words are lost
    without their knowing.
    """
    if text is None or not text.strip():
        raise PromptError("The conditioning text is empty: type a few words for the model to continue.")
    if max_length is not None and len(text) > max_length:
        raise PromptError(f"The conditioning text has {len(text):,} characters; the limit is {max_length:,}. "
                          "Keep its end: the model's state depends mostly on the last few hundred characters.")
    dropped = tokenizer.unknown_characters(text)
    kept = "".join(char for char in tokenizer.normalise(text) if char not in dropped)
    if not kept.strip():
        shown = ", ".join(repr(char) for char in dropped)
        raise PromptError(f"None of the characters of the conditioning text are known to the model ({shown}).")
    if dropped:
        logger.warning("dropped characters the model has never seen: %s", "".join(dropped))
    input_ids = torch.tensor([tokenizer.convert_tokens_to_ids(list(kept))])
    return PreparedPrompt(text=kept, input_ids=input_ids, dropped=dropped)


@dataclass(eq=False)
class TextRequest:
    """One prompt continued at several temperatures, with its own seed, length, Stop and time limit.

    Filled in while it is served: `distribution` (p(next character | prompt), before any generated
    character), `texts` (one per temperature, growing), `step_probs` (per generated position, the
    model's distribution over characters for every row, before temperature), `stopped_by` (None,
    "stop" or "time"), and `finished` once its texts are complete.
    """

    prepared: PreparedPrompt
    temperatures: tuple[float, ...] = LECTURE_TEMPERATURES
    max_new_tokens: int = 400
    seed: int | None = 0
    greedy: bool = False
    max_time: float | None = None
    stop: Event = field(default_factory=Event)
    on_update: object = None  # called with the request after the prompt pass, as it grows, and at the end
    update_interval: float = 0.0  # at most one growth update per this many seconds (0: every character)
    distribution: torch.Tensor | None = None
    texts: list[str] = field(default_factory=list)
    step_probs: list[torch.Tensor] = field(default_factory=list)
    stopped_by: str | None = None  # None, "stop", "time" or "error"
    error: Exception | None = None
    finished: bool = False
    started: float = 0.0

    def __post_init__(self):
        self.texts = ["" for _ in self.temperatures]
        self._notified = 0.0
        # None: a fresh draw from the OS; any integer works (taken modulo 2**32)
        self.generator = torch.Generator()
        if self.seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(self.seed) % SEED_RANGE)

    @property
    def rows(self) -> int:
        return len(self.temperatures)

    def finish(self, reason: str | None = None, error: Exception | None = None):
        if not self.finished:
            self.stopped_by, self.error = reason, error
            self.finished = True

    def notify(self, growth: bool = False):
        # Waking a follower thread per character of every request would fight the generating thread for the
        # GIL under a burst of visitors; followers that redraw a few times a second ask for fewer updates.
        if growth and not self.finished:
            now = time.monotonic()
            if now - self._notified < self.update_interval:
                return
            self._notified = now
        if self.on_update is not None:
            self.on_update(self)


def _row_slices(requests):
    start = 0
    for request in requests:
        yield request, slice(start, start + request.rows)
        start += request.rows


class RequestSampler(LogitsProcessor):
    """Reweights each row by its temperature and draws the next character with its request's generator.

    Returns scores that are -inf except at the drawn character, so `generate(do_sample=False)` (whose
    greedy step is an argmax) appends exactly the draw. Inverse-CDF sampling with one uniform per row
    keeps a request's draws independent of the other rows in the batch.
    """

    def __init__(self, requests):
        self.requests = requests
        self.temperatures = torch.tensor([t for r in requests for t in r.temperatures], dtype=torch.float32)

    def __call__(self, input_ids, scores):
        scores = scores.float()
        probs = torch.softmax(scores, dim=-1).cpu()
        reweighted = torch.softmax(scores / self.temperatures.to(scores.device)[:, None], dim=-1)
        uniform = torch.zeros(scores.shape[0], 1)
        greedy = torch.zeros(scores.shape[0], dtype=torch.bool)
        for request, rows in _row_slices(self.requests):
            if request.finished:  # no draws after a request ends: its draws do not depend on the batch
                continue
            request.step_probs.append(probs[rows])
            if request.greedy:
                greedy[rows] = True
            else:
                uniform[rows] = torch.rand(request.rows, 1, generator=request.generator)
        cdf = reweighted.cumsum(dim=-1)
        chosen = torch.searchsorted(cdf, uniform.to(scores.device) * cdf[:, -1:]).clamp_(max=scores.shape[1] - 1)
        chosen = torch.where(greedy.to(scores.device)[:, None], scores.argmax(dim=-1, keepdim=True), chosen)
        drawn = torch.full_like(scores, float("-inf"))
        return drawn.scatter_(1, chosen, 0.0)


class RequestStreamer(BaseStreamer):
    """Appends each generated character to its request's text and tells the request."""

    def __init__(self, tokenizer, requests):
        self.tokenizer = tokenizer
        self.requests = requests
        self._prompt_seen = False

    def put(self, value):
        if not self._prompt_seen:  # generate() first puts the input ids
            self._prompt_seen = True
            return
        tokens = value.reshape(-1).tolist()
        for request, rows in _row_slices(self.requests):
            if request.finished:
                continue
            request.texts = [text + self.tokenizer.convert_ids_to_tokens(token)
                             for text, token in zip(request.texts, tokens[rows])]
            if len(request.texts[0]) >= request.max_new_tokens:
                request.finish()
            request.notify(growth=True)

    def end(self):
        for request in self.requests:
            if not request.finished:
                request.finish()
                request.notify()


class RequestStopping(StoppingCriteria):
    """A row is done when its request is: full length, Stop pressed (its `stop` event), or out of time."""

    def __init__(self, requests):
        self.requests = requests

    def __call__(self, input_ids, scores, **kwargs):
        done = []
        now = time.monotonic()
        for request in self.requests:
            if not request.finished:
                if request.stop.is_set():
                    request.finish("stop")
                    request.notify()
                elif request.max_time is not None and now - request.started > request.max_time:
                    request.finish("time")
                    request.notify()
            done += [request.finished] * request.rows
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


@torch.no_grad()
def _prompt_state(model, prepared: PreparedPrompt):
    """The LSTM state after all but the last prompt character, and p(next character | whole prompt).

    One prompt at a time (batch 1, no padding), so the whole sequence goes through `nn.LSTM`'s fused
    kernel, the fastest path on the CPU (benchmarks/prompt_pass.py)."""
    ids = prepared.input_ids.to(model.device)
    state = None
    if ids.shape[1] > 1:
        state = model(input_ids=ids[:, :-1], use_cache=False).state
    last = model(input_ids=ids[:, -1:], state=state, use_cache=False).logits[0, -1]
    if state is None:
        zeros = torch.zeros(model.config.num_hidden_layers, 1, model.config.hidden_size, device=model.device)
        state = (zeros, zeros)
    return state, torch.softmax(last.float(), dim=-1).cpu()


@torch.no_grad()
def generate_requests(model, tokenizer, requests: list[TextRequest]) -> None:
    """Serves `requests` together: one prompt pass each, then one batched `generate()` for all their rows
    (rows = prompts × temperatures), each request sampled with its own generator and ended on its own."""
    now = time.monotonic()
    states = []
    for request in requests:
        request.started = request.started or now
        state, request.distribution = _prompt_state(model, request.prepared)
        if tokenizer.pad_token_id is not None:
            request.distribution[tokenizer.pad_token_id] = 0.0  # never a character of text
            request.distribution /= request.distribution.sum()
        states.append(tuple(s.expand(-1, request.rows, -1) for s in state))
        request.notify()
    # the cache holds each row's state before its prompt's last character, which generate() feeds first
    cache = DynamicCache(config=model.config)
    for layer in range(model.config.num_hidden_layers):
        h = torch.cat([s[0][layer] for s in states])
        c = torch.cat([s[1][layer] for s in states])
        cache.update_recurrent_state(torch.stack([h, c], dim=1), layer)
    last = torch.cat([r.prepared.input_ids[:, -1:].expand(r.rows, 1) for r in requests]).to(model.device)
    model.generate(
        input_ids=last, attention_mask=torch.ones_like(last), cache=cache,
        max_new_tokens=max(r.max_new_tokens for r in requests), do_sample=False,
        pad_token_id=tokenizer.pad_token_id, suppress_tokens=[tokenizer.pad_token_id],  # <pad> is not text
        logits_processor=LogitsProcessorList([RequestSampler(requests)]),
        stopping_criteria=StoppingCriteriaList([RequestStopping(requests)]),
        streamer=RequestStreamer(tokenizer, requests),
    )


def sample_at_temperatures(
    model, tokenizer, prompt: str, temperatures=LECTURE_TEMPERATURES, max_new_tokens: int = 400,
    seed: int | None = 0, greedy: bool = False,
) -> tuple[list[str], PreparedPrompt]:
    """One continuation of `prompt` per temperature, generated as one batch (one LSTM step per character).
    The same seed gives the same texts, alone or served together with other requests."""
    request = TextRequest(prepare_prompt(tokenizer, prompt), tuple(temperatures), max_new_tokens, seed, greedy)
    generate_requests(model, tokenizer, [request])
    return request.texts, request.prepared


def stream_at_temperatures(
    model, tokenizer, prompt: str, temperatures=LECTURE_TEMPERATURES, max_new_tokens: int = 400,
    seed: int | None = 0, greedy: bool = False, max_time: float | None = None,
):
    """Like `sample_at_temperatures`, but yields `(texts, prepared)` as the texts grow, starting with empty
    texts. `max_time` is a time limit in seconds; closing this generator stops generation."""
    request = TextRequest(prepare_prompt(tokenizer, prompt), tuple(temperatures), max_new_tokens, seed, greedy,
                          max_time)
    shown = None
    for _ in follow(request, lambda: generate_requests(model, tokenizer, [request])):
        if len(request.texts[0]) != shown:  # one item per character (not for the prompt pass or the end)
            shown = len(request.texts[0])
            yield list(request.texts), request.prepared


def follow(request: TextRequest, serve=None, timeout: float = 120.0):
    """Yields `request` once, then after each update until it is finished; closing the generator sets its
    stop event. `serve()` is run in a thread to serve it; without `serve`, someone else (a
    `genmods.text.batching.TextBatcher`) does. An error raised while serving it is raised here."""
    updates: Queue = Queue()
    request.on_update = lambda r: updates.put(r.finished)

    def run():
        try:
            serve()
        except Exception as error:
            request.finish("error", error)
            updates.put(True)

    thread = None if serve is None else Thread(target=run, daemon=True, name="genmods-text")
    if thread is not None:
        thread.start()
    try:
        yield request
        finished = False
        while not finished:
            finished = updates.get(timeout=timeout)
            if request.error is not None:
                raise request.error
            yield request
    finally:
        request.stop.set()
        if thread is not None:
            thread.join()
