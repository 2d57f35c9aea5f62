"""The char-LSTM behaves as a standard transformers causal LM, and carries its state correctly."""

import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer, pipeline

from genmods.text import CharLSTMForCausalLM, CharTokenizer
from genmods.text.generate import PromptError, prepare_prompt, sample_at_temperatures, stream_at_temperatures
from genmods.text.sampling import reweight_distribution

PROMPT = "new faculty, and the jubilation"


def ids(tokenizer, text):
    return tokenizer(text, return_tensors="pt").input_ids


def naive_greedy(model, input_ids, steps):
    """The textbook loop: re-run the whole prefix for every new character."""
    sequence = input_ids
    for _ in range(steps):
        logits = model(input_ids=sequence, use_cache=False).logits[:, -1]
        sequence = torch.cat([sequence, logits.argmax(-1, keepdim=True)], dim=1)
    return sequence


def test_save_and_from_pretrained_give_identical_logits(char_model, saved_char_model, char_tokenizer):
    loaded = CharLSTMForCausalLM.from_pretrained(saved_char_model).eval()
    x = ids(char_tokenizer, PROMPT)
    assert torch.equal(char_model(input_ids=x).logits, loaded(input_ids=x).logits)
    reloaded_tokenizer = CharTokenizer.from_pretrained(saved_char_model)
    assert reloaded_tokenizer.get_vocab() == char_tokenizer.get_vocab()


def test_saved_folder_has_auto_map_and_code_files(saved_char_model):
    import json

    config = json.loads((saved_char_model / "config.json").read_text())
    assert config["auto_map"]["AutoModelForCausalLM"] == "modeling_charlstm.CharLSTMForCausalLM"
    tokenizer_config = json.loads((saved_char_model / "tokenizer_config.json").read_text())
    assert "tokenization_charlstm.CharTokenizer" in str(tokenizer_config["auto_map"])
    for name in ("configuration_charlstm.py", "modeling_charlstm.py", "tokenization_charlstm.py", "model.safetensors"):
        assert (saved_char_model / name).exists(), name


def test_folder_loads_and_generates_where_genmods_is_not_importable(saved_char_model, char_model, char_tokenizer, tmp_path):
    expected = char_tokenizer.decode(
        char_model.generate(input_ids=ids(char_tokenizer, PROMPT), max_new_tokens=20, do_sample=False)[0]
    )
    script = textwrap.dedent(f"""
        import importlib.util, sys
        assert importlib.util.find_spec("genmods") is None, "genmods must not be importable here"
        from transformers import AutoModelForCausalLM, AutoTokenizer
        model = AutoModelForCausalLM.from_pretrained({str(saved_char_model)!r}, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained({str(saved_char_model)!r}, trust_remote_code=True)
        inputs = tokenizer({PROMPT!r}, return_tensors="pt")
        out = model.generate(**inputs, max_new_tokens=20, do_sample=False)
        print("OUTPUT:" + tokenizer.decode(out[0]))
    """)
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path), "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "OUTPUT:" + expected


def test_greedy_generate_equals_naive_prefix_rerun(char_model, char_tokenizer):
    x = ids(char_tokenizer, PROMPT)
    fast = char_model.generate(input_ids=x, max_new_tokens=40, do_sample=False)
    assert torch.equal(fast, naive_greedy(char_model, x, 40))


def test_generate_takes_one_lstm_step_per_new_character(char_model, char_tokenizer):
    lengths = []
    hook = char_model.get_input_embeddings().register_forward_hook(lambda module, inputs, output: lengths.append(inputs[0].shape[1]))
    try:
        char_model.generate(input_ids=ids(char_tokenizer, PROMPT), max_new_tokens=10, do_sample=False)
    finally:
        hook.remove()
    assert lengths[0] == len(PROMPT)
    assert lengths[1:] == [1] * (len(lengths) - 1) and len(lengths) >= 9


def test_state_carried_across_calls_equals_one_pass(char_model, char_tokenizer):
    x = ids(char_tokenizer, PROMPT)
    whole = char_model(input_ids=x).logits
    first = char_model(input_ids=x[:, :10], use_cache=True)
    second = char_model(input_ids=x[:, 10:], cache=first.cache, use_cache=True)
    assert torch.allclose(torch.cat([first.logits, second.logits], dim=1), whole, atol=1e-5)
    # and the raw (h, c) state, as training carries it
    raw = char_model(input_ids=x[:, :10], use_cache=False)
    assert raw.cache is None and raw.state[0].shape == (2, 1, 48)
    third = char_model(input_ids=x[:, 10:], state=raw.state, use_cache=False)
    assert torch.allclose(third.logits, second.logits, atol=1e-6)


def test_batched_prompts_of_different_lengths_equal_one_by_one(char_model, char_tokenizer):
    prompts = ["kant", "new faculty, and the jubilation reached", "truth is a woman--what then?"]
    batch = char_tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left")
    assert (batch.attention_mask == 0).any()
    batched = char_model.generate(**batch, max_new_tokens=30, do_sample=False)
    for row, prompt in enumerate(prompts):
        single = char_model.generate(input_ids=ids(char_tokenizer, prompt), max_new_tokens=30, do_sample=False)
        assert char_tokenizer.decode(batched[row, -30:]) == char_tokenizer.decode(single[0, -30:])


def test_padding_does_not_disturb_the_state(char_model, char_tokenizer):
    x = ids(char_tokenizer, "kant")
    padded = torch.cat([torch.full((1, 5), char_tokenizer.pad_token_id), x], dim=1)
    mask = torch.cat([torch.zeros(1, 5, dtype=torch.long), torch.ones_like(x)], dim=1)
    assert torch.allclose(char_model(input_ids=padded, attention_mask=mask).logits[:, -1],
                          char_model(input_ids=x).logits[:, -1], atol=1e-5)


def test_beam_search_scores_match_a_full_rerun(char_model, char_tokenizer):
    """If the state were not reordered with the beams, the scores generate() reports would not be
    the log-probabilities of the sequences it returns."""
    x = ids(char_tokenizer, PROMPT)
    out = char_model.generate(input_ids=x, max_new_tokens=12, num_beams=4, num_return_sequences=3, do_sample=False,
                              length_penalty=0.0, early_stopping=True, output_scores=True, return_dict_in_generate=True)
    assert out.sequences.shape == (3, x.shape[1] + 12)
    for sequence, score in zip(out.sequences, out.sequences_scores):
        logprobs = torch.log_softmax(char_model(input_ids=sequence[None, :-1]).logits[0], dim=-1)
        new = sequence[x.shape[1]:]
        total = logprobs[x.shape[1] - 1 :].gather(1, new[:, None]).sum()
        assert torch.allclose(score, total, atol=1e-4)
    greedy = naive_greedy(char_model, x, 12)
    greedy_logprobs = torch.log_softmax(char_model(input_ids=greedy[:, :-1]).logits[0], dim=-1)
    greedy_total = greedy_logprobs[x.shape[1] - 1 :].gather(1, greedy[0, x.shape[1]:, None]).sum()
    assert out.sequences_scores[0] >= greedy_total - 1e-5


def test_sampling_options_and_num_return_sequences(char_model, char_tokenizer):
    x = ids(char_tokenizer, PROMPT)
    torch.manual_seed(1)
    out = char_model.generate(input_ids=x, max_new_tokens=25, do_sample=True, temperature=1.0, top_k=0, top_p=0.9,
                              num_return_sequences=4)
    assert out.shape == (4, x.shape[1] + 25)
    assert len({char_tokenizer.decode(row) for row in out}) > 1
    torch.manual_seed(1)
    again = char_model.generate(input_ids=x, max_new_tokens=25, do_sample=True, temperature=1.0, top_k=0, top_p=0.9,
                                num_return_sequences=4)
    assert torch.equal(out, again)


def test_generate_samples_from_the_reweighted_distribution(char_model, char_tokenizer):
    x = ids(char_tokenizer, PROMPT)
    for temperature in (0.2, 0.5, 1.0, 2.0):
        out = char_model.generate(input_ids=x, max_new_tokens=3, do_sample=True, temperature=temperature, top_k=0,
                                  output_scores=True, output_logits=True, return_dict_in_generate=True)
        for raw, processed in zip(out.logits, out.scores):
            sampled_from = torch.softmax(processed, dim=-1)
            assert torch.allclose(reweight_distribution(torch.softmax(raw, dim=-1), temperature), sampled_from, atol=1e-5)


def test_reweight_distribution_is_the_lectures_rule():
    p = torch.tensor([0.5, 0.3, 0.15, 0.05])
    for temperature in (0.2, 0.5, 2.0):
        expected = p ** (1 / temperature) / (p ** (1 / temperature)).sum()
        assert torch.allclose(reweight_distribution(p, temperature), expected, atol=1e-6)
    assert torch.allclose(reweight_distribution(p, 1.0), p)
    assert torch.equal(reweight_distribution(p, 0.0), torch.tensor([1.0, 0.0, 0.0, 0.0]))
    assert reweight_distribution(p, 1e-3)[0] > 0.999  # greedy as T → 0, no NaN
    assert torch.allclose(reweight_distribution(p, 1e4), torch.full((4,), 0.25), atol=1e-3)
    with pytest.raises(ValueError):
        reweight_distribution(p, -1.0)


def test_text_iterator_streamer_yields_what_generate_returns(char_model, char_tokenizer):
    from threading import Thread

    x = ids(char_tokenizer, PROMPT)
    streamer = TextIteratorStreamer(char_tokenizer, skip_prompt=True)
    result = {}
    thread = Thread(target=lambda: result.update(out=char_model.generate(input_ids=x, max_new_tokens=30, do_sample=False, streamer=streamer)))
    thread.start()
    pieces = list(streamer)
    thread.join()
    assert len(pieces) > 1
    assert "".join(pieces) == char_tokenizer.decode(result["out"][0, x.shape[1]:])


def test_pipeline_from_a_saved_folder(saved_char_model):
    generator = pipeline("text-generation", model=str(saved_char_model), trust_remote_code=True)
    out = generator(PROMPT, max_new_tokens=15, do_sample=False)
    assert out[0]["generated_text"].startswith(PROMPT)
    assert len(out[0]["generated_text"]) == len(PROMPT) + 15


def test_auto_classes_load_the_folder(saved_char_model):
    model = AutoModelForCausalLM.from_pretrained(saved_char_model, trust_remote_code=True)
    tokenizer = AutoTokenizer.from_pretrained(saved_char_model, trust_remote_code=True)
    assert model.config.model_type == "char_lstm"
    assert tokenizer("kant").input_ids == [tokenizer.get_vocab()[c] for c in "kant"]


def test_tokenizer_normalises_and_round_trips(char_tokenizer):
    text = "Truth is a woman--what then?\n"
    assert char_tokenizer.decode(char_tokenizer(text).input_ids) == text.lower()
    # typographic quotes and dashes become the corpus's ASCII forms
    assert char_tokenizer.normalise("\u201cKant\u201d \u2014 it\u2019s") == "\"kant\" -- it's"
    assert len(char_tokenizer("kant").input_ids) == 4  # no special tokens added


def test_unknown_characters_are_dropped_with_a_warning_not_a_key_error(char_tokenizer, caplog):
    import logging

    text = "kant 🙂 und Übermensch ~"
    assert char_tokenizer.unknown_characters(text) == ["🙂", "ü", "~"]
    with caplog.at_level(logging.WARNING):
        prepared = prepare_prompt(char_tokenizer, text)
    assert prepared.dropped == ["🙂", "ü", "~"]
    assert prepared.text == "kant  und bermensch "
    assert char_tokenizer.decode(prepared.input_ids[0]) == prepared.text
    assert any("🙂" in record.getMessage() for record in caplog.records)
    # the tokenizer itself drops them too (never a KeyError)
    assert char_tokenizer.decode(char_tokenizer(text).input_ids) == prepared.text


@pytest.mark.parametrize("text", ["", "   \n", None])
def test_empty_prompt_is_rejected_with_a_clear_message(char_tokenizer, text):
    with pytest.raises(PromptError, match="empty"):
        prepare_prompt(char_tokenizer, text)


def test_prompt_of_only_unknown_characters_is_rejected(char_tokenizer):
    with pytest.raises(PromptError, match="None of the characters"):
        prepare_prompt(char_tokenizer, "🙂~")


def test_three_temperatures_in_one_batch(char_model, char_tokenizer):
    texts, prepared = sample_at_temperatures(char_model, char_tokenizer, PROMPT, (0.2, 0.5, 1.0), 40, greedy=True)
    single = char_tokenizer.decode(naive_greedy(char_model, prepared.input_ids, 40)[0, prepared.input_ids.shape[1]:])
    assert texts == [single] * 3
    sampled, _ = sample_at_temperatures(char_model, char_tokenizer, PROMPT, (0.05, 1.0, 5.0), 200, seed=3)
    assert all(len(t) == 200 for t in sampled)
    assert "<pad>" not in "".join(sampled)
    # very low temperature ≈ greedy; very high temperature uses many more distinct characters
    assert len(set(sampled[2])) > len(set(sampled[0]))
    again, _ = sample_at_temperatures(char_model, char_tokenizer, PROMPT, (0.05, 1.0, 5.0), 200, seed=3)
    assert again == sampled


def test_streaming_yields_growing_texts_ending_with_the_full_samples(char_model, char_tokenizer):
    steps = list(stream_at_temperatures(char_model, char_tokenizer, PROMPT, (0.2, 0.5, 1.0), 30, seed=7))
    assert steps[0][0] == ["", "", ""]
    assert [len(t) for t in steps[1][0]] == [1, 1, 1]
    final, _ = sample_at_temperatures(char_model, char_tokenizer, PROMPT, (0.2, 0.5, 1.0), 30, seed=7)
    assert steps[-1][0] == final


def test_temperatures_are_written_one_way():
    from genmods.text.sampling import temperature_label

    assert [temperature_label(t) for t in (0.2, 1, 1.0, 0.25, 3)] == ["T = 0.2", "T = 1.0", "T = 1.0", "T = 0.25", "T = 3.0"]


# transformers' conventions that its GenerationTesterMixin (run by hand, see README) and ModelTesterMixin check;
# each of these failed before the model followed them.


@pytest.mark.parametrize("mode", ["greedy", "sample", "beam"])
def test_generate_dict_outputs_carry_every_layers_hidden_states(char_model, char_tokenizer, mode):
    """generate(output_hidden_states=True, return_dict_in_generate=True): per step, the embeddings and each layer."""
    x = ids(char_tokenizer, PROMPT)
    options = {"greedy": {}, "sample": {"do_sample": True}, "beam": {"num_beams": 2}}[mode]
    out = char_model.generate(input_ids=x, max_new_tokens=3, output_hidden_states=True, output_scores=True,
                              return_dict_in_generate=True, **options)
    config = char_model.config
    rows = 2 if mode == "beam" else 1
    assert len(out.hidden_states) == 3  # one entry per generated character
    for step, per_layer in enumerate(out.hidden_states):
        length = x.shape[1] if step == 0 else 1
        assert len(per_layer) == config.num_hidden_layers + 1
        assert per_layer[0].shape == (rows, length, config.embedding_size)
        assert all(h.shape == (rows, length, config.hidden_size) for h in per_layer[1:])


def test_hidden_states_are_the_embeddings_then_each_layer(char_model, char_tokenizer):
    x = ids(char_tokenizer, PROMPT)
    out = char_model(input_ids=x, output_hidden_states=True)
    assert torch.equal(out.hidden_states[0], char_model.get_input_embeddings()(x))
    whole, _ = char_model.model.lstm(out.hidden_states[0])
    torch.testing.assert_close(out.hidden_states[-1], whole)  # the last layer, as one fused call computes it
    torch.testing.assert_close(out.logits, char_model.lm_head(out.hidden_states[-1]))
    assert char_model(input_ids=x).hidden_states is None  # not returned unasked
    padded = torch.cat([torch.full((1, 2), char_tokenizer.pad_token_id), x], dim=1)
    masked = char_model(input_ids=padded, attention_mask=(padded != char_tokenizer.pad_token_id).long(),
                        output_hidden_states=True)  # the step path returns every layer too
    assert len(masked.hidden_states) == len(out.hidden_states)
    for whole_pass, step_pass in zip(out.hidden_states[1:], masked.hidden_states[1:]):
        torch.testing.assert_close(step_pass[:, 2:], whole_pass, atol=1e-5, rtol=1e-5)


def test_prepare_inputs_for_generation_passes_other_arguments_to_forward(char_model, char_tokenizer):
    x = ids(char_tokenizer, PROMPT)
    inputs = char_model.prepare_inputs_for_generation(x, is_first_iteration=True, use_cache=True,
                                                      output_hidden_states=True, my_argument=7)
    assert inputs["output_hidden_states"] is True and inputs["my_argument"] == 7
    seen = []
    hook = char_model.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs), with_kwargs=True)
    try:
        char_model.generate(input_ids=x, max_new_tokens=2, output_hidden_states=True, return_dict_in_generate=True)
    finally:
        hook.remove()
    assert len(seen) == 2 and all(kwargs.get("output_hidden_states") for kwargs in seen)


@pytest.mark.parametrize("old_name", ["past_key_values", "cache_params"])
def test_old_cache_argument_names_still_carry_the_state_with_a_warning(char_model, char_tokenizer, old_name):
    x = ids(char_tokenizer, PROMPT)
    first = char_model(input_ids=x[:, :-1], use_cache=True)
    expected = char_model(input_ids=x).logits[:, -1]
    with pytest.warns(FutureWarning, match=f"`{old_name}` is deprecated"):
        out = char_model(input_ids=x[:, -1:], **{old_name: first.cache})
    torch.testing.assert_close(out.logits[:, -1], expected)
    assert not torch.allclose(char_model(input_ids=x[:, -1:]).logits[:, -1], expected)  # the state matters here


def test_base_model_is_the_lstm_without_its_head(char_model, saved_char_model):
    from transformers import AutoModel

    from genmods.text import CharLSTMModel

    assert char_model.base_model is char_model.model
    assert isinstance(char_model.model, CharLSTMModel)
    base = AutoModel.from_pretrained(saved_char_model)
    assert isinstance(base, CharLSTMModel)
    assert torch.equal(base.embed.weight, char_model.model.embed.weight)


def test_checkpoints_from_before_the_base_model_still_load(char_model, tmp_path):
    """Weights saved as embed.* / lstm.* (the shipped layout until the base model existed) load by both routes."""
    from safetensors.torch import save_file

    old = {(k[len("model."):] if k.startswith("model.") else k): v.contiguous() for k, v in char_model.state_dict().items()}
    assert "embed.weight" in old and "lm_head.weight" in old
    char_model.config.save_pretrained(tmp_path)
    save_file(old, tmp_path / "model.safetensors", metadata={"format": "pt"})
    loaded = CharLSTMForCausalLM.from_pretrained(tmp_path)
    resumed = CharLSTMForCausalLM(char_model.config)
    resumed.load_state_dict(old)  # what accelerate's load_state does with a training checkpoint
    for model in (loaded, resumed):
        for name, tensor in char_model.state_dict().items():
            assert torch.equal(model.state_dict()[name], tensor), name


def test_generate_continues_from_a_returned_cache(char_model, char_tokenizer):
    """A recurrent state does not record which characters it has absorbed: the returned cache holds the state
    before the last generated character, so continuing feeds that character (and any new ones)."""
    x = ids(char_tokenizer, PROMPT)
    whole = char_model.generate(input_ids=x, max_new_tokens=8, do_sample=False)
    first = char_model.generate(input_ids=x, max_new_tokens=5, do_sample=False, return_dict_in_generate=True)
    rest = char_model.generate(input_ids=first.sequences[:, -1:], cache=first.cache, max_new_tokens=3, do_sample=False)
    assert torch.equal(torch.cat([first.sequences, rest[:, 1:]], dim=1), whole)


@pytest.mark.filterwarnings("ignore:The tensor attributes self.model.lstm._flat_weights")  # nn.LSTM's own cache
def test_torch_export_of_forward_matches_eager(char_model, char_tokenizer):
    """torch.export traces forward (no data-dependent branch): logits and carried state equal eager ones."""
    x = ids(char_tokenizer, PROMPT)
    padded = torch.cat([torch.full((1, 3), char_tokenizer.pad_token_id), x], dim=1)
    state = char_model(input_ids=x[:, :5], use_cache=False).state
    for kwargs in (
        {"input_ids": x, "use_cache": False},
        {"input_ids": x, "state": state, "use_cache": False},
        {"input_ids": padded, "attention_mask": (padded != char_tokenizer.pad_token_id).long(), "use_cache": False},
    ):
        with torch.no_grad():
            exported = torch.export.export(char_model, (), kwargs=kwargs)
        out, eager = exported.module()(**kwargs), char_model(**kwargs)
        torch.testing.assert_close(out.logits, eager.logits)
        torch.testing.assert_close(out.state, eager.state)
