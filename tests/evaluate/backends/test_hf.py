"""The hf backend on the tiny local model (CPU)."""

import pytest
import torch

from medzero.data.prompts import build_messages
from medzero.data.synthetic import drug_class_questions
from medzero.evaluate.backends import BackendConfig
from medzero.evaluate.backends.hf import HFBackend


@pytest.fixture(scope="module")
def noisy_model(tiny_model_dir, one_thread):
    """The tiny model with large random weights, so greedy outputs differ between prompts (the
    freshly initialised model repeats one token, which would make order checks vacuous)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def _prompts(n):
    # different lengths, in an order the backend must restore after sorting
    qs = drug_class_questions(n, seed=1, split="heldout")
    for i, q in enumerate(qs):
        q.question = q.question + " Please." * (i % 3)
    return [build_messages(q) for q in qs]


def test_batched_greedy_equals_one_at_a_time_in_prompt_order(noisy_model):
    model, tok = noisy_model
    prompts = _prompts(6)
    batched = HFBackend(BackendConfig(model="x", batch_size=4, device="cpu"), model=model, tokenizer=tok)
    single = HFBackend(BackendConfig(model="x", batch_size=1, device="cpu"), model=model, tokenizer=tok)
    a = batched.generate(prompts, max_new_tokens=12)
    b = single.generate(prompts, max_new_tokens=12)
    assert [g[0].text for g in a] == [g[0].text for g in b]
    assert len({g[0].text for g in a}) > 1  # outputs differ, so order matters
    assert [g[0].prompt_tokens for g in a] == [len(x) for x in batched.encode(prompts)]
    for g in a:
        assert g[0].finish_reason in ("stop", "length") and 1 <= g[0].completion_tokens <= 12
        assert g[0].finish_reason == "stop" or g[0].completion_tokens == 12


def test_sampling_returns_n_seeded_samples(noisy_model):
    model, tok = noisy_model
    backend = HFBackend(BackendConfig(model="x", batch_size=2, device="cpu"), model=model, tokenizer=tok)
    prompts = _prompts(3)
    one = backend.generate(prompts, n=3, temperature=1.0, max_new_tokens=8, seed=4)
    assert [len(g) for g in one] == [3, 3, 3]
    assert one == backend.generate(prompts, n=3, temperature=1.0, max_new_tokens=8, seed=4)
    assert len({g.text for gs in one for g in gs}) > 1


def test_lora_adapter_is_applied(tiny_model_dir, tmp_path, one_thread):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    peft_model = get_peft_model(
        base, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj", "o_proj"])
    )
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.normal_(0.0, 1.0)
    peft_model.save_pretrained(tmp_path / "adapter")
    merged = peft_model.merge_and_unload()
    prompts = _prompts(4)
    cfg = BackendConfig(model=str(tiny_model_dir), adapter=str(tmp_path / "adapter"), device="cpu")
    with_adapter = HFBackend(cfg)
    expected = HFBackend(
        BackendConfig(model="x", device="cpu"), model=merged, tokenizer=with_adapter.tokenizer
    )
    plain = HFBackend(BackendConfig(model=str(tiny_model_dir), device="cpu"))
    got = with_adapter.generate(prompts, max_new_tokens=8)
    assert got == expected.generate(prompts, max_new_tokens=8)
    assert got != plain.generate(prompts, max_new_tokens=8)


def test_prompt_plus_new_tokens_never_exceed_the_context(noisy_model, capfd):
    """A prompt near the model's context gets a lower cap (reported), one beyond it a clear
    failure; transformers' own length warnings never appear."""
    model, tok = noisy_model
    prompts = _prompts(3)
    backend = HFBackend(BackendConfig(model="x", batch_size=4, device="cpu"), model=model, tokenizer=tok)
    lengths = [len(x) for x in backend.encode(prompts)]
    old = model.config.max_position_embeddings
    try:
        model.config.max_position_embeddings = (
            sorted(lengths)[1] + 3
        )  # fits 3 new tokens for the middle prompt
        backend = HFBackend(BackendConfig(model="x", batch_size=4, device="cpu"), model=model, tokenizer=tok)
        out = backend.generate(prompts, max_new_tokens=10)
    finally:
        model.config.max_position_embeddings = old
    ctx = sorted(lengths)[1] + 3
    for n_prompt, gens in zip(lengths, out, strict=True):
        g = gens[0]
        if n_prompt >= ctx:
            assert g.finish_reason == "error" and f"the model's context is {ctx}" in g.error
        else:
            assert g.error is None and g.completion_tokens <= min(10, ctx - n_prompt)
    assert backend.capped_prompts >= 1 and backend.overlong_prompts == sum(n >= ctx for n in lengths)
    err = capfd.readouterr().err
    assert "longer than the specified maximum" not in err and "maximum length" not in err


def test_a_tokenizer_without_chat_template_gets_r1zero_text_and_stops_at_answer(noisy_model):
    import copy

    from medzero.evaluate.scoring import opens_think

    model, tok = noisy_model
    tok = copy.deepcopy(tok)
    tok.chat_template = None  # a base model
    backend = HFBackend(BackendConfig(model="x", device="cpu"), model=model, tokenizer=tok)
    prompts = _prompts(2)
    assert backend.prompt_form(prompts[0]).name == "r1zero-text" and opens_think(backend, prompts[0])
    assert tok.decode(backend.encode(prompts)[0]).endswith("Assistant: <think>")
    tail = tok("x</think><answer>A</answer> and more text", add_special_tokens=False)["input_ids"]
    backend._stops = ["</answer>"]  # what generate() sets for these prompts
    gen = backend._to_generation(tail, [0] * 5)
    assert gen.text.endswith("<answer>A</answer>") and gen.finish_reason == "stop"
    assert gen.completion_tokens < len(tail)
    out = backend.generate(prompts, max_new_tokens=6)  # generate() accepts the stop strings
    assert all(g[0].completion_tokens <= 6 for g in out)
