"""Looking inside the char-LSTM: surprisal per character, cell activations, the cells that track a property."""

import math

import numpy as np
import pytest
import torch

from genmods.text import CharLSTMConfig, CharLSTMForCausalLM, cell_activations, find_cells, surprisal
from genmods.text.interpret import (
    after_full_stop, inside_parentheses, inside_quotes, position_in_line, rank_cells,
)

TEXT = ('what is "truth"? the philosopher (who loved her) answers: "a woman."\n'
        "he laughs (he knows). every great thing wears a mask.\nso be it!")


def test_surprisal_adds_up_to_the_models_negative_log_likelihood(char_model, char_tokenizer):
    scored = surprisal(char_model, char_tokenizer, TEXT)
    ids = char_tokenizer(char_tokenizer.normalise(TEXT), return_tensors="pt").input_ids
    with torch.no_grad():
        mean_nats = char_model(input_ids=ids, labels=ids).loss.item()
    assert "".join(char for char, _ in scored) == char_tokenizer.normalise(TEXT)
    assert scored[0][1] is None  # nothing before the first character
    total_bits = sum(bits for _, bits in scored[1:])
    assert total_bits == pytest.approx(mean_nats * (ids.shape[1] - 1) / math.log(2), rel=1e-5)
    assert all(bits >= 0 for _, bits in scored[1:])


def test_surprisal_leaves_out_characters_the_model_never_saw(char_model, char_tokenizer):
    scored = surprisal(char_model, char_tokenizer, "truth ☃ is")
    assert "".join(char for char, _ in scored) == "truth  is"


def test_hidden_activations_are_the_hidden_states_forward_returns(char_model, char_tokenizer):
    activations = cell_activations(char_model, char_tokenizer, TEXT, kind="hidden")
    ids = char_tokenizer(char_tokenizer.normalise(TEXT), return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = char_model(input_ids=ids, output_hidden_states=True).hidden_states
    assert activations.shape == (ids.shape[1], 2, 48)
    for layer in range(2):
        np.testing.assert_allclose(activations[:, layer], hidden[layer + 1][0].numpy(), atol=1e-5)


def test_cell_activations_are_tanh_of_the_carried_cell_state(char_model, char_tokenizer):
    activations = cell_activations(char_model, char_tokenizer, TEXT)  # kind="cell"
    ids = char_tokenizer(char_tokenizer.normalise(TEXT), return_tensors="pt").input_ids
    assert activations.shape == (ids.shape[1], 2, 48)
    assert np.abs(activations).max() <= 1
    with torch.no_grad():
        for length in (1, 17, ids.shape[1]):  # after any prefix, the state a whole forward pass ends in
            _, cell = char_model(input_ids=ids[:, :length], use_cache=False).state
            np.testing.assert_allclose(activations[length - 1], torch.tanh(cell[:, 0]).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="kind"):
        cell_activations(char_model, char_tokenizer, TEXT, kind="gates")


def test_properties_of_the_text():
    assert inside_quotes('a "bc" d').tolist() == [0, 0, 1, 1, 1, 0, 0, 0]
    assert inside_parentheses("a (b [c]) d").tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    assert position_in_line("ab\ncd").tolist() == [1, 2, 0, 1, 2]
    assert after_full_stop("a. b c").tolist() == [0, 1, 1, 1, 0, 0]


@pytest.fixture(scope="module")
def planted_model(char_tokenizer):
    """A model whose layer-1 cell 5 counts open parentheses: '(' writes +1 into it, ')' −1, nothing else touches it,
    and it never forgets. The other cells are random."""
    torch.manual_seed(1)
    config = CharLSTMConfig(vocab_size=len(char_tokenizer), embedding_size=8, hidden_size=16, num_hidden_layers=2,
                            dropout=0.0, pad_token_id=char_tokenizer.pad_token_id, initializer_range=0.3)
    model = CharLSTMForCausalLM(config).eval()
    lstm, embed, cell, hidden = model.model.lstm, model.model.embed, 5, 16
    opening, closing = char_tokenizer.convert_tokens_to_ids(["(", ")"])
    with torch.no_grad():
        embed.weight[:, :2] = 0  # dims 0 and 1 say "(" and ")"
        embed.weight[opening, 0] = embed.weight[closing, 1] = 1
        gates = {"input": 0, "forget": hidden, "candidate": 2 * hidden, "output": 3 * hidden}
        for row in (gates[name] + cell for name in gates):
            lstm.weight_ih_l0[row] = 0
            lstm.weight_hh_l0[row] = 0
            lstm.bias_ih_l0[row] = lstm.bias_hh_l0[row] = 0
        lstm.weight_ih_l0[gates["input"] + cell, :2] = 20  # open on either parenthesis, shut otherwise
        lstm.bias_ih_l0[gates["input"] + cell] = -10
        lstm.bias_ih_l0[gates["forget"] + cell] = 20  # never forget
        lstm.weight_ih_l0[gates["candidate"] + cell, 0] = 3  # "(" adds tanh(3) ≈ 1
        lstm.weight_ih_l0[gates["candidate"] + cell, 1] = -3  # ")" takes it away
        lstm.bias_ih_l0[gates["output"] + cell] = 10
    return model


def test_find_cells_finds_a_planted_cell(planted_model, char_tokenizer):
    text = "it is (so) said; and (the (free) spirit) laughs. we (good europeans) do not. " * 3
    ranking = find_cells(planted_model, char_tokenizer, text, ["inside parentheses"])["inside parentheses"]
    best = ranking[0]
    assert (best.layer, best.cell) == (1, 5)
    assert best.correlation > 0.9 and abs(ranking[1].correlation) < best.correlation
    # a property the text never changes ranks nothing
    assert find_cells(planted_model, char_tokenizer, "no quotes here", ["inside quotes"]) == {"inside quotes": []}
    with pytest.raises(ValueError, match="unknown property"):
        find_cells(planted_model, char_tokenizer, text, ["inside brackets of gold"])


def test_rank_cells_orders_by_the_strength_of_the_correlation_either_sign():
    values = np.array([0, 1, 0, 1, 1, 0], float)
    activations = np.zeros((6, 1, 3))
    activations[:, 0, 0] = np.random.default_rng(0).normal(size=6)
    activations[:, 0, 1] = -values  # perfectly anti-correlated
    activations[:, 0, 2] = values + np.array([0.3, 0, 0, 0, 0.2, 0])
    ranked = rank_cells(activations, values, top=3)
    assert [m.cell for m in ranked[:2]] == [1, 2]
    assert ranked[0].correlation == pytest.approx(-1.0)
