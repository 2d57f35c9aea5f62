"""Character-level LSTM language model as a transformers causal LM.

Self-contained on purpose: a model folder pushed to the Hub is loaded with `trust_remote_code`,
so this file imports nothing from `genmods`.

The recurrent state lives in transformers' `DynamicCache` (one "linear_attention" layer per LSTM
layer, holding h and c stacked), so `generate()` feeds one new character per step and carries the
state, instead of re-running the prefix; beam search reorders it through the cache's own
`reorder_cache`.
"""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.cache_utils import Cache, DynamicCache
from transformers.utils import ModelOutput

from .configuration_charlstm import CharLSTMConfig


@dataclass
class CharLSTMCausalLMOutput(ModelOutput):
    """
    loss: next-character cross-entropy (nats/char), when `labels` are given.
    logits: `(batch, length, vocab_size)` scores for the next character at each position.
    cache: the LSTM state after the last position, in a `DynamicCache` (when `use_cache`); pass it
        back with the next `input_ids`, as `generate()` does.
    state: the same state as raw `(h, c)`, each `(layers, batch, hidden)` (when not `use_cache`: what
        training carries from batch to batch).
    hidden_states: the last LSTM layer's outputs `(batch, length, hidden_size)`.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    cache: Cache | None = None
    state: tuple[torch.Tensor, torch.Tensor] | None = None
    hidden_states: torch.Tensor | None = None


class CharLSTMPreTrainedModel(PreTrainedModel):
    config_class = CharLSTMConfig
    base_model_prefix = "char_lstm"
    main_input_name = "input_ids"
    _is_stateful = True  # no assisted generation: the state cannot be rolled back

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


class CharLSTMForCausalLM(CharLSTMPreTrainedModel, GenerationMixin):
    """embedding → multi-layer LSTM → linear head over characters."""

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
        self.dropout = nn.Dropout(config.dropout)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    def get_input_embeddings(self):
        return self.embed

    def set_input_embeddings(self, value):
        self.embed = value

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

    def _cached_state(self, cache: Cache | None):
        """Per layer (h, c) views of the state in `cache`, or None when it holds none yet."""
        if cache is None or len(cache.layers) != self.config.num_hidden_layers:
            return None
        if not all(layer.is_recurrent_states_initialized[0] for layer in cache.layers):
            return None
        return [tuple(layer.recurrent_states[0].unbind(1)) for layer in cache.layers]  # (B, 2, H) → h, c

    def _run_sequence(self, embeds, state):
        """The whole sequence through cuDNN / the fused CPU kernel: training and unpadded prompts."""
        if state is not None:
            state = (torch.stack([h for h, _ in state]), torch.stack([c for _, c in state]))
        output, (h, c) = self.lstm(embeds, state)
        return output, list(zip(h.unbind(0), c.unbind(0)))

    def _run_steps(self, embeds, state, mask):
        """Position by position with `torch.lstm_cell`.

        Used for single-character decode steps, where it is several times faster on the CPU than an
        `nn.LSTM` call (whose oneDNN path has a large per-call overhead), and for padded batches:
        where `mask` is 0 the state is kept unchanged, so left padding does not disturb it.
        """
        layers = self.config.num_hidden_layers
        if state is None:
            zeros = embeds.new_zeros(embeds.shape[0], self.config.hidden_size)
            state = [(zeros, zeros)] * layers
        state = list(state)
        weights = self.lstm.all_weights  # per layer: weight_ih, weight_hh, bias_ih, bias_hh
        outputs = []
        for t in range(embeds.shape[1]):
            inputs = embeds[:, t]
            keep = None if mask is None else mask[:, t].to(embeds.dtype).unsqueeze(-1)
            for layer in range(layers):
                h, c = torch.lstm_cell(inputs, state[layer], *weights[layer])
                if keep is not None:
                    h = torch.lerp(state[layer][0], h, keep)
                    c = torch.lerp(state[layer][1], c, keep)
                state[layer] = (h, c)
                inputs = h
                if self.training and layer < layers - 1:
                    inputs = nn.functional.dropout(inputs, self.lstm.dropout, training=True)
            outputs.append(inputs)
        output = outputs[0].unsqueeze(1) if len(outputs) == 1 else torch.stack(outputs, dim=1)
        return output, state

    def prepare_inputs_for_generation(self, input_ids, next_sequence_length=None, cache=None, attention_mask=None,
                                      inputs_embeds=None, is_first_iteration=False, use_cache=None, **kwargs):
        """Only what a recurrent model needs: the new characters, the cache, and the padding mask of the
        first pass (after the prompt every step feeds one real character, as in transformers' Mamba).
        Written out rather than inherited because GenerationMixin's generic version (attention-mask
        shapes, position ids, signature checks) costs about as much per step as the LSTM step itself."""
        if inputs_embeds is not None and is_first_iteration:
            inputs = {"input_ids": None, "inputs_embeds": inputs_embeds}
        else:
            inputs = {"input_ids": input_ids if next_sequence_length is None else input_ids[:, -next_sequence_length:]}
        inputs.update(cache=cache, use_cache=use_cache)
        if is_first_iteration or not use_cache:
            inputs["attention_mask"] = attention_mask
        return inputs

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        cache: Cache | None = None,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        use_cache: bool | None = None,
        inputs_embeds: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CharLSTMCausalLMOutput | tuple:
        r"""
        input_ids: `(batch, length)` character ids.
        attention_mask: `(batch, length)` or, during generation, `(batch, past + length)`; 0 marks padding.
        labels: `(batch, length)` targets, usually `input_ids`; shifted inside, -100 ignored.
        cache: a `DynamicCache` holding the state after the previous chunk (what `generate()` passes).
        state: alternatively the raw `(h, c)`, each `(layers, batch, hidden)` - what training with
            truncated backpropagation through time carries between batches.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of `input_ids` or `inputs_embeds`.")
        embeds = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        length = embeds.shape[1]
        use_cache = self.config.use_cache if use_cache is None else use_cache

        if state is not None:  # raw (h, c), each (layers, batch, hidden)
            state = list(zip(state[0].unbind(0), state[1].unbind(0)))
        else:
            state = self._cached_state(cache)

        mask = None
        if attention_mask is not None:
            mask = attention_mask[:, -length:]
            if bool(mask.all()):
                mask = None
        if mask is None and (length > 1 or (self.training and torch.is_grad_enabled())):
            output, state = self._run_sequence(embeds, state)
        else:
            output, state = self._run_steps(embeds, state, mask)

        if use_cache:
            if cache is None:
                cache = DynamicCache(config=self.config)
            for layer, (h, c) in enumerate(state):
                cache.update_recurrent_state(torch.stack([h, c], dim=1), layer)  # (B, 2, H)

        logits = self.lm_head(self.dropout(output))

        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)

        raw_state = None if use_cache else (torch.stack([h for h, _ in state]), torch.stack([c for _, c in state]))
        result = CharLSTMCausalLMOutput(
            loss=loss, logits=logits, cache=cache if use_cache else None, state=raw_state, hidden_states=output
        )
        return_dict = self.config.return_dict if return_dict is None else return_dict
        return result if return_dict else result.to_tuple()


__all__ = ["CharLSTMForCausalLM", "CharLSTMPreTrainedModel", "CharLSTMCausalLMOutput"]
