"""Configuration of the character-level LSTM language model.

Self-contained on purpose: a model folder pushed to the Hub is loaded with `trust_remote_code`,
so this file imports nothing from `genmods`.
"""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig


@strict
class CharLSTMConfig(PreTrainedConfig):
    r"""
    Hyper-parameters of [`CharLSTMForCausalLM`]: embedding → multi-layer LSTM → linear head over characters.

    Args:
        vocab_size (`int`): number of characters in the vocabulary, padding included.
        embedding_size (`int`): size of the learned character embedding fed to the first LSTM layer.
        hidden_size (`int`): units per LSTM layer.
        num_hidden_layers (`int`): stacked LSTM layers.
        dropout (`float`): dropout between LSTM layers and before the head (training only).
        variational_dropout (`bool`): one dropout mask per sequence for `dropout` and `input_dropout`,
            the same at every position (Gal & Ghahramani 2016), instead of a fresh mask per character.
        input_dropout (`float`): dropout on the character embeddings fed to the first layer (training only).
        weight_dropout (`float`): DropConnect on each layer's hidden-to-hidden weights, one mask per
            batch (the weight-dropped LSTM of Merity et al. 2018; training only).
        embedding_dropout (`float`): drops whole characters from the embedding table for a batch
            (Gal & Ghahramani 2016; training only).
        lowercase (`bool`): whether the training text was lowercased; the tokenizer applies the same
            normalisation to conditioning text.
        pad_token_id (`int`): id of the padding token; padded positions never touch the LSTM state.
    """

    model_type = "char_lstm"

    vocab_size: int = 60
    embedding_size: int = 64
    hidden_size: int = 512
    num_hidden_layers: int = 2
    dropout: float = 0.2
    variational_dropout: bool = False
    input_dropout: float = 0.0
    weight_dropout: float = 0.0
    embedding_dropout: float = 0.0
    lowercase: bool = True
    initializer_range: float = 0.05
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    use_cache: bool = True
    tie_word_embeddings: bool = False

    @property
    def layer_types(self):
        # Each LSTM layer keeps a recurrent state and no per-token cache: for transformers' `DynamicCache`
        # that is a "linear_attention" layer (the same slot Mamba's state uses), so generate() hands the
        # state from step to step and reorders it for beam search without any code of ours.
        return ["linear_attention"] * self.num_hidden_layers


__all__ = ["CharLSTMConfig"]
