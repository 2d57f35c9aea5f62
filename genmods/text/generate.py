"""Generating text with the char-LSTM: conditioning text in, samples at several temperatures out.

Everything runs through `model.generate()`; the two small pieces below exist because transformers
has no equivalent: a temperature per row of the batch (its `TemperatureLogitsWarper` takes one
scalar) and a streamer for a batch (its `TextIteratorStreamer` accepts batch size 1 only).
"""

import logging
from dataclasses import dataclass, field
from queue import Queue
from threading import Event, Thread

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from .sampling import LECTURE_TEMPERATURES

logger = logging.getLogger(__name__)


class PromptError(ValueError):
    """The conditioning text cannot be used; the message says why."""


@dataclass
class PreparedPrompt:
    text: str  # what the model is conditioned on (normalised, unknown characters removed)
    input_ids: torch.Tensor  # (1, length)
    dropped: list[str] = field(default_factory=list)  # characters removed because the model never saw them


def prepare_prompt(tokenizer, text: str) -> PreparedPrompt:
    """Normalise the conditioning text as in training and drop unknown characters (named in `dropped`).

    An empty prompt, or one with no known character, is rejected: the model was trained on text
    that always has context, and generating from the zero state gives the start of no sentence.
    """
    if text is None or not text.strip():
        raise PromptError("The conditioning text is empty: type a few words for the model to continue.")
    dropped = tokenizer.unknown_characters(text)
    kept = "".join(char for char in tokenizer.normalise(text) if char not in dropped)
    if not kept.strip():
        shown = ", ".join(repr(char) for char in dropped)
        raise PromptError(f"None of the characters of the conditioning text are known to the model ({shown}).")
    if dropped:
        logger.warning("dropped characters the model has never seen: %s", "".join(dropped))
    input_ids = torch.tensor([tokenizer.convert_tokens_to_ids(list(kept))])
    return PreparedPrompt(text=kept, input_ids=input_ids, dropped=dropped)


class PerRowTemperature(LogitsProcessor):
    """Divides each row's logits by its own temperature, so three temperatures share one batch."""

    def __init__(self, temperatures):
        self.temperatures = torch.as_tensor(temperatures, dtype=torch.float32)
        self._column = None  # the divisor, built once for the batch's shape and device

    def __call__(self, input_ids, scores):
        column = self._column
        if column is None or column.shape[0] != scores.shape[0] or column.device != scores.device:
            repeat = scores.shape[0] // len(self.temperatures)  # num_return_sequences repeats rows in place
            column = self._column = self.temperatures.to(scores.device).repeat_interleave(repeat).unsqueeze(-1)
        return scores / column


class BatchTextIteratorStreamer(BaseStreamer):
    """Yields, after each generated character, the list of texts generated so far (one per row).

    One character is one token, so no word-boundary buffering is needed.
    """

    def __init__(self, tokenizer, timeout: float | None = None):
        self.tokenizer = tokenizer
        self.timeout = timeout
        self.queue: Queue = Queue()
        self.texts: list[str] | None = None
        self._prompt_seen = False

    def put(self, value):
        if not self._prompt_seen:  # generate() first puts the prompt
            self._prompt_seen = True
            return
        tokens = value.reshape(-1).tolist()
        if self.texts is None:
            self.texts = ["" for _ in tokens]
        self.texts = [text + self.tokenizer.convert_ids_to_tokens(token) for text, token in zip(self.texts, tokens)]
        self.queue.put(list(self.texts))

    def end(self):
        self.queue.put(None)

    def __iter__(self):
        return self

    def __next__(self):
        item = self.queue.get(timeout=self.timeout)
        if item is None:
            raise StopIteration
        return item


class StopWhenSet(StoppingCriteria):
    """Ends generation for every row once `event` is set (a Stop button, a closed connection)."""

    def __init__(self, event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def generation_kwargs(temperatures, max_new_tokens: int, greedy: bool, tokenizer) -> dict:
    # <pad> is not a character of text: never generate it
    kwargs = dict(max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id, suppress_tokens=[tokenizer.pad_token_id])
    if greedy:
        return dict(kwargs, do_sample=False)
    # temperature=1.0/top_k=0/top_p=1.0: the per-row processor does all the reweighting, every character eligible
    return dict(
        kwargs,
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        logits_processor=LogitsProcessorList([PerRowTemperature(temperatures)]),
    )


@torch.no_grad()
def sample_at_temperatures(
    model, tokenizer, prompt: str, temperatures=LECTURE_TEMPERATURES, max_new_tokens: int = 400,
    seed: int | None = 0, greedy: bool = False,
) -> tuple[list[str], PreparedPrompt]:
    """One continuation of `prompt` per temperature, generated as one batch (one LSTM step per character)."""
    prepared = prepare_prompt(tokenizer, prompt)
    if seed is not None:
        torch.manual_seed(seed)
    input_ids = prepared.input_ids.repeat(len(temperatures), 1).to(model.device)
    output = model.generate(input_ids=input_ids, **generation_kwargs(temperatures, max_new_tokens, greedy, tokenizer))
    new = output[:, input_ids.shape[1]:]
    return [tokenizer.decode(row) for row in new], prepared


def stream_at_temperatures(
    model, tokenizer, prompt: str, temperatures=LECTURE_TEMPERATURES, max_new_tokens: int = 400,
    seed: int | None = 0, greedy: bool = False, max_time: float | None = None,
):
    """Like `sample_at_temperatures`, but yields the growing texts (one per temperature) as they are made.

    The first item yielded is `(["", ...], prepared)` so a caller can report dropped characters at once.
    `max_time` (seconds) is generate()'s own time limit; closing this generator stops generation.
    """
    prepared = prepare_prompt(tokenizer, prompt)
    streamer = BatchTextIteratorStreamer(tokenizer, timeout=120)
    input_ids = prepared.input_ids.repeat(len(temperatures), 1).to(model.device)
    stop = Event()
    kwargs = generation_kwargs(temperatures, max_new_tokens, greedy, tokenizer)
    kwargs.update(max_time=max_time, stopping_criteria=StoppingCriteriaList([StopWhenSet(stop)]))
    errors = []

    def run():
        try:
            if seed is not None:
                torch.manual_seed(seed)
            with torch.no_grad():
                model.generate(input_ids=input_ids, streamer=streamer, **kwargs)
        except Exception as error:  # surfaced in the caller's thread below
            errors.append(error)
            streamer.end()

    thread = Thread(target=run, daemon=True)
    thread.start()
    try:
        yield ["" for _ in temperatures], prepared
        for texts in streamer:
            yield texts, prepared
    finally:
        stop.set()
        thread.join()
    if errors:
        raise errors[0]


@torch.no_grad()
def next_character_distribution(model, tokenizer, prompt: str) -> tuple[torch.Tensor, PreparedPrompt]:
    """p(next character | conditioning text): softmax of the model's last logits, shape (vocab,)."""
    prepared = prepare_prompt(tokenizer, prompt)
    logits = model(input_ids=prepared.input_ids.to(model.device), use_cache=False).logits[0, -1]
    probs = torch.softmax(logits.float(), dim=-1).cpu()
    if tokenizer.pad_token_id is not None:
        probs[tokenizer.pad_token_id] = 0.0  # never a character of text
        probs = probs / probs.sum()
    return probs, prepared
