"""Character-level LSTM language model as a transformers causal LM.

Self-contained on purpose: a model folder pushed to the Hub is loaded with `trust_remote_code`,
so this file imports nothing from `genmods`.

Shaped like transformers' own recurrent models (Mamba): `CharLSTMModel` (embedding → stacked LSTM) is
the base model, `CharLSTMForCausalLM` puts the character head on it (`model.base_model`). The recurrent
state lives in transformers' `DynamicCache` (one "linear_attention" layer per LSTM layer, holding h and
c stacked), so `generate()` feeds one new character per step and carries the state, instead of
re-running the prefix; beam search reorders it through the cache's own `reorder_cache`.
"""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.cache_utils import Cache, DynamicCache
from transformers.utils import ModelOutput
from transformers.utils.deprecation import deprecate_kwarg

from .configuration_charlstm import CharLSTMConfig


@dataclass
class CharLSTMModelOutput(ModelOutput):
    """
    last_hidden_state: the last LSTM layer's outputs `(batch, length, hidden_size)`.
    cache: the LSTM state after the last position, in a `DynamicCache` (when `use_cache`); pass it
        back with the next `input_ids`, as `generate()` does.
    state: the same state as raw `(h, c)`, each `(layers, batch, hidden)` (when not `use_cache`: what
        training carries from batch to batch).
    hidden_states: when `output_hidden_states`, the character embeddings and then each LSTM layer's
        outputs, `num_hidden_layers + 1` tensors `(batch, length, size)`.
    """

    last_hidden_state: torch.Tensor | None = None
    cache: Cache | None = None
    state: tuple[torch.Tensor, torch.Tensor] | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


@dataclass
class CharLSTMCausalLMOutput(ModelOutput):
    """
    loss: next-character cross-entropy (nats/char), when `labels` are given.
    logits: `(batch, length, vocab_size)` scores for the next character at each position.
    cache, state, hidden_states: as in [`CharLSTMModelOutput`].
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    cache: Cache | None = None
    state: tuple[torch.Tensor, torch.Tensor] | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


def sequence_dropout(x: torch.Tensor, p: float, training: bool, same_mask_over_time: bool) -> torch.Tensor:
    """Dropout on `(batch, length, features)`; with `same_mask_over_time` one mask per sequence, broadcast
    over the positions (variational dropout). `nn.Dropout` has no such option."""
    if not training or p == 0:
        return x
    if not same_mask_over_time:
        return nn.functional.dropout(x, p, training=True)
    keep = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)
    return x * keep


class CharLSTMPreTrainedModel(PreTrainedModel):
    config_class = CharLSTMConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    _is_stateful = True  # no assisted generation: the state cannot be rolled back
    # torch.export works (tests/test_char_lstm_conformance.py); full-graph torch.compile does not: Dynamo refuses to
    # trace nn.LSTM modules ("Dynamo does not support RNN, GRU, or LSTM", torch 2.14) and breaks the graph there
    _can_compile_fullgraph = False

    @torch.no_grad()
    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std * 10)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LSTM):
            for name, param in module.named_parameters():
                if name.startswith("weight"):
                    nn.init.uniform_(param, -std, std)
                else:
                    # forget-gate bias 1 in total (0.5 in each of b_ih, b_hh; Jozefowicz et al. 2015):
                    # the cell remembers by default early in training
                    nn.init.zeros_(param)
                    param[module.hidden_size : 2 * module.hidden_size] = 0.5


class CharLSTMModel(CharLSTMPreTrainedModel):
    """embedding → multi-layer LSTM: the base model, whose outputs the head turns into characters."""

    def __init__(self, config: CharLSTMConfig):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.embedding_size)
        self.lstm = nn.LSTM(
            config.embedding_size,
            config.hidden_size,
            num_layers=config.num_hidden_layers,
            dropout=config.dropout if config.num_hidden_layers > 1 else 0.0,
            batch_first=True,
        )
        self.post_init()

    def get_input_embeddings(self):
        return self.embed

    def set_input_embeddings(self, value):
        self.embed = value

    def _embed(self, input_ids):
        """The character embeddings, with whole characters dropped from the table while training (otherwise the
        module itself, so that hooks on the input embeddings see every call)."""
        p = self.config.embedding_dropout
        if not (self.training and p > 0):
            return self.embed(input_ids)
        weight = self.embed.weight
        weight = weight * (weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p) / (1 - p))
        return nn.functional.embedding(input_ids, weight, self.embed.padding_idx)

    def _layer_weights(self):
        """Per layer [weight_ih, weight_hh, bias_ih, bias_hh]; while training, weight_hh gets one DropConnect
        mask for the whole batch (a weight-dropped LSTM), so the recurrence itself is regularised while every
        position still runs through the fused kernel."""
        weights = [list(layer) for layer in self.lstm.all_weights]
        if self.training and self.config.weight_dropout > 0:
            for layer in weights:
                layer[1] = nn.functional.dropout(layer[1], self.config.weight_dropout, training=True)
        return weights

    def _between_layers(self, inputs):
        return sequence_dropout(inputs, self.lstm.dropout, self.training, self.config.variational_dropout)

    def _cached_state(self, cache: Cache | None):
        """Per layer (h, c) views of the state in `cache`, or None when it holds none yet."""
        if cache is None or len(cache.layers) != self.config.num_hidden_layers:
            return None
        if not all(layer.is_recurrent_states_initialized[0] for layer in cache.layers):
            return None
        return [tuple(layer.recurrent_states[0].unbind(1)) for layer in cache.layers]  # (B, 2, H) → h, c

    def _run_sequence(self, embeds, state, all_layers: bool):
        """The whole sequence through cuDNN / the fused CPU kernel: training and unpadded prompts.

        With `all_layers` it goes one layer per call (the same kernel, `torch.lstm` with one layer) so
        that each layer's outputs can be returned, and so does training with weight or variational
        dropout; otherwise all layers go in one call."""
        layers = self.config.num_hidden_layers
        if state is None:
            zeros = embeds.new_zeros(layers, embeds.shape[0], self.config.hidden_size)
            state = [(zeros[0], zeros[0])] * layers
        regularised = self.training and (self.config.weight_dropout > 0 or self.config.variational_dropout)
        if not all_layers and not regularised:
            initial = (torch.stack([h for h, _ in state]), torch.stack([c for _, c in state]))
            output, (h, c) = self.lstm(embeds, initial)
            return [output], list(zip(h.unbind(0), c.unbind(0)))
        outputs, final = [], []
        inputs = embeds
        for layer, weights in enumerate(self._layer_weights()):
            h0, c0 = state[layer]
            output, h, c = torch.lstm(
                inputs, (h0.unsqueeze(0), c0.unsqueeze(0)), weights,
                True, 1, 0.0, False, False, True,  # has_biases, num_layers, dropout, train, bidirectional, batch_first
            )
            outputs.append(output)
            final.append((h[0], c[0]))
            inputs = self._between_layers(output) if layer < layers - 1 else output
        return outputs, final

    def _run_steps(self, embeds, state, mask, all_layers: bool):
        """Position by position with `torch.lstm_cell`.

        Used for single-character decode steps, where it is several times faster on the CPU than an
        `nn.LSTM` call (whose oneDNN path has a large per-call overhead), and for padded batches:
        where `mask` is 0 the state is kept unchanged, so left padding does not disturb it. Returns the last
        layer's outputs, or with `all_layers` every layer's.
        """
        layers = self.lstm.num_layers
        if state is None:
            zeros = embeds.new_zeros(embeds.shape[0], self.lstm.hidden_size)
            state = [(zeros, zeros)] * layers
        state = list(state)
        weights = self._layer_weights()
        outputs = [[] for _ in range(layers if all_layers else 1)]
        for t in range(embeds.shape[1]):
            inputs = embeds[:, t]
            keep = None if mask is None else mask[:, t].to(embeds.dtype).unsqueeze(-1)
            for layer in range(layers):
                h, c = torch.lstm_cell(inputs, state[layer], *weights[layer])
                if keep is not None:
                    h = torch.lerp(state[layer][0], h, keep)
                    c = torch.lerp(state[layer][1], c, keep)
                state[layer] = (h, c)
                if all_layers or layer == layers - 1:
                    outputs[layer if all_layers else 0].append(h)
                inputs = h
                if self.training and layer < layers - 1:  # one position: a fresh mask is the same either way
                    inputs = nn.functional.dropout(inputs, self.lstm.dropout, training=True)
        return [steps[0].unsqueeze(1) if len(steps) == 1 else torch.stack(steps, dim=1) for steps in outputs], state

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    @deprecate_kwarg("cache_params", "5.40.0", new_name="cache")
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: Cache | None = None,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        use_cache: bool | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CharLSTMModelOutput | tuple:
        r"""
        input_ids: `(batch, length)` character ids.
        attention_mask: `(batch, length)` or, during generation, `(batch, past + length)`; 0 marks padding.
        cache: a `DynamicCache` holding the state after the previous chunk (what `generate()` passes;
            the old names `past_key_values` and `cache_params` are accepted with a deprecation warning).
        state: alternatively the raw `(h, c)`, each `(layers, batch, hidden)` - what training with
            truncated backpropagation through time carries between batches.
        output_hidden_states: also return the embeddings and every layer's outputs.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of `input_ids` or `inputs_embeds`.")
        embeds = self._embed(input_ids) if inputs_embeds is None else inputs_embeds
        embeds = sequence_dropout(embeds, self.config.input_dropout, self.training, self.config.variational_dropout)
        length = embeds.shape[1]
        use_cache = self.config.use_cache if use_cache is None else use_cache
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )

        if state is not None:  # raw (h, c), each (layers, batch, hidden)
            state = list(zip(state[0].unbind(0), state[1].unbind(0)))
        else:
            state = self._cached_state(cache)

        mask = None if attention_mask is None else attention_mask[:, -length:]
        # A batch without padding may take the fused kernel. Whether it has padding depends on the mask's
        # values, so only eager code looks; compiled and exported graphs keep the masked step path, which
        # gives the same outputs either way.
        if mask is not None and not torch.compiler.is_compiling() and bool(mask.all()):
            mask = None
        if mask is None and (length > 1 or (self.training and torch.is_grad_enabled())):
            outputs, state = self._run_sequence(embeds, state, all_layers=output_hidden_states)
        else:
            outputs, state = self._run_steps(embeds, state, mask, all_layers=output_hidden_states)

        if use_cache:
            if cache is None:
                cache = DynamicCache(config=self.config)
            for layer, (h, c) in enumerate(state):
                cache.update_recurrent_state(torch.stack([h, c], dim=1), layer)  # (B, 2, H)

        raw_state = None if use_cache else (torch.stack([h for h, _ in state]), torch.stack([c for _, c in state]))
        result = CharLSTMModelOutput(
            last_hidden_state=outputs[-1],
            cache=cache if use_cache else None,
            state=raw_state,
            hidden_states=(embeds, *outputs) if output_hidden_states else None,
        )
        return_dict = self.config.return_dict if return_dict is None else return_dict
        return result if return_dict else result.to_tuple()


class CharLSTMForCausalLM(CharLSTMPreTrainedModel, GenerationMixin):
    """[`CharLSTMModel`] → dropout → linear head over characters."""

    def __init__(self, config: CharLSTMConfig):
        super().__init__(config)
        self.model = CharLSTMModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints written before the base model existed keep its weights at the top level
        # ("embed.weight", "lstm.weight_ih_l0"); a plain `load_state_dict` (accelerate resuming a training
        # checkpoint) maps them to "model.…". `from_pretrained` does the same by itself (base_model_prefix).
        for key in [k for k in state_dict if k.startswith((prefix + "embed.", prefix + "lstm."))]:
            state_dict[prefix + "model." + key[len(prefix):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    @deprecate_kwarg("cache_params", "5.40.0", new_name="cache")
    def prepare_inputs_for_generation(self, input_ids, next_sequence_length=None, cache=None, attention_mask=None,
                                      inputs_embeds=None, is_first_iteration=False, use_cache=None, **kwargs):
        """Only what a recurrent model needs: the new characters, the cache, and the padding mask of the
        first pass (after the prompt every step feeds one real character, as in transformers' Mamba),
        plus whatever else the caller passed (`output_hidden_states`, custom arguments) for `forward`.
        Written out rather than inherited because GenerationMixin's generic version (attention-mask
        shapes, position ids, signature checks) costs about as much per step as the LSTM step itself."""
        if inputs_embeds is not None and is_first_iteration:
            inputs = {"input_ids": None, "inputs_embeds": inputs_embeds}
        else:
            inputs = {"input_ids": input_ids if next_sequence_length is None else input_ids[:, -next_sequence_length:]}
        inputs.update(cache=cache, use_cache=use_cache)
        if is_first_iteration or not use_cache:
            inputs["attention_mask"] = attention_mask
        for name, value in kwargs.items():
            if name not in inputs and name != "cache_position":  # positions mean nothing to a recurrence
                inputs[name] = value
        return inputs

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    @deprecate_kwarg("cache_params", "5.40.0", new_name="cache")
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        cache: Cache | None = None,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        use_cache: bool | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs,
    ) -> CharLSTMCausalLMOutput | tuple:
        r"""
        labels: `(batch, length)` targets, usually `input_ids`; shifted inside, -100 ignored.
        logits_to_keep: scores only for the last this many positions (0: all), or for the positions in a 1-d
            tensor; `generate()` asks for the last one while reading the prompt.
        The other arguments are [`CharLSTMModel.forward`]'s.
        """
        base = self.model(
            input_ids=input_ids, attention_mask=attention_mask, cache=cache, state=state, use_cache=use_cache,
            inputs_embeds=inputs_embeds, output_hidden_states=output_hidden_states, return_dict=True,
        )
        positions = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        hidden = sequence_dropout(base.last_hidden_state, self.config.dropout, self.training,
                                  self.config.variational_dropout)
        logits = self.lm_head(hidden[:, positions])

        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)

        result = CharLSTMCausalLMOutput(
            loss=loss, logits=logits, cache=base.cache, state=base.state, hidden_states=base.hidden_states
        )
        return_dict = self.config.return_dict if return_dict is None else return_dict
        return result if return_dict else result.to_tuple()


__all__ = [
    "CharLSTMForCausalLM", "CharLSTMModel", "CharLSTMPreTrainedModel", "CharLSTMCausalLMOutput", "CharLSTMModelOutput"
]
