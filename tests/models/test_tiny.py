import hashlib
import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app, main
from medzero.data.prompts import build_messages, build_text, template_preopens_think
from medzero.data.synthetic import SUFFIXES, SYNTHETIC_PROMPT_CONFIG, drug_class_questions
from medzero.data.synthetic_tasks import ORGAN_PREFIXES, task_questions
from medzero.jsonl import write_jsonl
from medzero.models.tiny import (
    MARKER,
    PRESETS,
    TinyModelConfig,
    build_key,
    corpus_from_questions,
    default_corpus,
    derive_affixes,
    ensure_tiny_model,
    train_tokenizer,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tokenizer_basics(tokenizer):
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token == "<pad>" and tokenizer.eos_token == "</s>"
    assert 1024 <= len(tokenizer) <= 1040
    # The tags are single ordinary tokens: they survive skip_special_tokens, eos does not.
    for tag in ("<think>", "</think>", "<answer>", "</answer>"):
        assert len(tokenizer(tag, add_special_tokens=False)["input_ids"]) == 1, tag
    text = "<think>the drug is Baviolol</think><answer>A</answer>"
    ids = tokenizer(text + "</s>", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_every_heldout_name_ends_in_its_suffix_token(tokenizer):
    # The rule must be visible on unseen names: the suffix is always its own piece.
    for q in drug_class_questions(200, seed=0, split="heldout"):
        ids = tokenizer(" " + q.meta["drug"], add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids[-1:]) == q.meta["suffix"], q.meta["drug"]
    assert set(SUFFIXES) == {"olol", "statin", "pril", "prazole"}


def test_pieces_kept_whole_are_derived_from_the_data():
    # The drug task's suffixes, the term task's prefixes (and its random endings) come from the
    # corpus alone; an invented affix nobody wrote in code is found the same way.
    assert derive_affixes(default_corpus()) == ([], ["prazole", "statin", "olol", "pril"])
    prefixes, suffixes = derive_affixes(corpus_from_questions(task_questions("term-prefix", 512, 0)))
    assert sorted(prefixes) == sorted(p for p, _ in ORGAN_PREFIXES)
    assert sorted(suffixes) == ["emia", "itis", "osis", "pathy"]
    words = [f"{a}{b}{c}quarn" for a in "bdgk" for b in "aeiou" for c in "lmnr"]
    assert derive_affixes([" ".join(words), "the common words stay whole"]) == ([], ["quarn"])


def test_isolated_matches_never_merge_with_their_neighbours():
    # BPE merges a frequent word whole; an ``isolate`` regex keeps its matches pieces of their own
    corpus = ["zorblatik is here, zorblatik is there"] * 50
    plain = train_tokenizer(corpus, vocab_size=400)
    assert plain.tokenize(" zorblatik") == ["Ġzorblatik"]
    split = train_tokenizer(corpus, vocab_size=400, isolate=(r"(?<=zor)bla",))
    pieces = split.tokenize(" zorblatik")
    assert "bla" in pieces and "".join(pieces) == "Ġzorblatik"
    assert build_key(TinyModelConfig(isolate=("x",)), 0, corpus) != build_key(TinyModelConfig(), 0, corpus)


def test_initial_weight_scale_is_a_setting(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    corpus = ["a small corpus for a small model"] * 5
    stds = {}
    for std in (0.02, 0.06):
        config = TinyModelConfig(hidden_size=64, num_layers=1, intermediate_size=128, initializer_range=std)
        path = ensure_tiny_model(tmp_path, seed=0, config=config, corpus=corpus)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        assert model.config.initializer_range == std
        stds[std] = model.model.layers[0].mlp.up_proj.weight.std().item()
    assert stds[0.02] == pytest.approx(0.02, rel=0.1) and stds[0.06] == pytest.approx(0.06, rel=0.1)


def test_model_tiny_builds_the_tokenizer_from_a_corpus_file(tmp_path, capsys):
    from transformers import AutoTokenizer

    data = tmp_path / "train.jsonl"
    write_jsonl(data, [q.to_dict() for q in task_questions("term-prefix", 512, 0)])
    out = tmp_path / "m"
    result = CliRunner().invoke(build_app(), ["model", "tiny", "--corpus", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    tok = AutoTokenizer.from_pretrained(out)
    for q in task_questions("term-prefix", 40, 0, split="heldout"):  # unseen terms
        pieces = [tok.decode([i]) for i in tok(" " + q.meta["item"], add_special_tokens=False)["input_ids"]]
        assert pieces[0].strip() in {p for p, _ in ORGAN_PREFIXES}, pieces
    info = json.loads((out / MARKER).read_text())
    assert len(info["pieces_kept_whole"]["prefixes"]) == 8 and info["corpus"]["texts"] == 513
    with pytest.raises(SystemExit) as exc:
        main(["model", "tiny", "--corpus", str(tmp_path / "no.jsonl"), "--out", str(out)])
    assert exc.value.code == 2 and "no.jsonl" in capsys.readouterr().err


def test_cache_key_follows_the_corpus_and_the_settings():
    a = corpus_from_questions(task_questions("drug-suffix", 64, 0))
    b = corpus_from_questions(task_questions("drug-suffix", 64, 1))
    cfg = TinyModelConfig()
    assert build_key(cfg, 0, a) == build_key(cfg, 0, list(a))
    assert len({build_key(cfg, 0, a), build_key(cfg, 0, b), build_key(cfg, 1, a)}) == 3
    assert build_key(cfg, 0, a) != build_key(TinyModelConfig(num_layers=3), 0, a)


def test_chat_template_and_prompt_length(tokenizer):
    q = drug_class_questions(1, seed=0, split="heldout")[0]
    text = build_text(q, SYNTHETIC_PROMPT_CONFIG, tokenizer)
    assert text.startswith("<|system|>") and text.endswith("<|assistant|>")
    assert not template_preopens_think(tokenizer)
    ids = tokenizer.apply_chat_template(
        build_messages(q, SYNTHETIC_PROMPT_CONFIG), add_generation_prompt=True, tokenize=True
    )["input_ids"]
    assert 50 < len(ids) < 110


def test_model_shape_and_generation(tiny_model_dir, tokenizer):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    n = sum(p.numel() for p in model.parameters())
    assert 0.4e6 < n < 0.8e6
    assert model.dtype == torch.float32
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight
    qs = drug_class_questions(3, seed=0, split="heldout")
    batch = tokenizer(
        [build_text(q, SYNTHETIC_PROMPT_CONFIG, tokenizer) for q in qs], return_tensors="pt", padding=True
    )
    out = model.generate(**batch, max_new_tokens=5, min_new_tokens=5, do_sample=False)
    assert tuple(out.shape) == (3, batch["input_ids"].shape[1] + 5)


def test_ensure_reuses_the_cache(tiny_model_dir):
    marker = tiny_model_dir / MARKER
    before = marker.stat().st_mtime_ns
    assert ensure_tiny_model(cache_dir=tiny_model_dir.parent) == tiny_model_dir
    assert marker.stat().st_mtime_ns == before


def test_cli_build_is_deterministic(tmp_path, tiny_model_dir):
    out = tmp_path / "m"
    result = CliRunner().invoke(build_app(), ["model", "tiny", "--out", str(out), "--seed", "0"])
    assert result.exit_code == 0, result.output
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert _digest(out / name) == _digest(tiny_model_dir / name), name


def test_concurrent_builds_yield_one_complete_model(tmp_path):
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_tiny_model(tmp_path, seed=1))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert (results[0] / MARKER).is_file() and (results[0] / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [results[0].name]  # no temp folder left behind


def test_presets_and_config_checks():
    assert PRESETS.get("tiny") == TinyModelConfig()
    assert PRESETS.get("small-100m").hidden_size == 768
    with pytest.raises(ValueError, match="divisible"):
        TinyModelConfig(hidden_size=130, num_heads=4)
