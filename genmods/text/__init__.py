"""The char-LSTM as a transformers model: config, model and tokenizer, registered with the Auto classes.

`register_for_auto_class` makes `save_pretrained` write `auto_map` into the config and tokenizer
files and copy the three self-contained source files next to the weights, so the folder loads with
`AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)` where genmods is not installed.
"""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

from .configuration_charlstm import CharLSTMConfig
from .modeling_charlstm import CharLSTMCausalLMOutput, CharLSTMForCausalLM, CharLSTMModel
from .tokenization_charlstm import CharTokenizer

AutoConfig.register(CharLSTMConfig.model_type, CharLSTMConfig, exist_ok=True)
AutoModel.register(CharLSTMConfig, CharLSTMModel, exist_ok=True)
AutoModelForCausalLM.register(CharLSTMConfig, CharLSTMForCausalLM, exist_ok=True)
AutoTokenizer.register(CharLSTMConfig, slow_tokenizer_class=CharTokenizer, exist_ok=True)

CharLSTMConfig.register_for_auto_class()
CharLSTMModel.register_for_auto_class("AutoModel")
CharLSTMForCausalLM.register_for_auto_class("AutoModelForCausalLM")
CharTokenizer.register_for_auto_class("AutoTokenizer")

# what the model has learnt (surprisal per character, cell activations): genmods.text.interpret, imported here
# last because it uses the generation helpers
from .interpret import cell_activations, find_cells, surprisal  # noqa: E402

__all__ = ["surprisal", "cell_activations", "find_cells", "CharLSTMConfig", "CharLSTMModel", "CharLSTMForCausalLM", "CharLSTMCausalLMOutput", "CharTokenizer"]
