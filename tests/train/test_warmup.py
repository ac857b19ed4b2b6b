import json

import pytest

from medzero.data.schema import MCQ
from medzero.data.synthetic import SYNTHETIC_PROMPT_CONFIG, drug_class_questions
from medzero.data.synthetic_tasks import task_questions
from medzero.train.warmup import Restater, WarmupConfig, longest_target, run_format_warmup, warmup_target


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_rare_restates_the_rule_bearing_words_of_any_task():
    # The default picks the rarest words of the stem: the invented drug, the term, the lab value,
    # (mostly) the keyword, without knowing the task (each with the tokenizer of its training file).
    from medzero.models.tiny import corpus_from_questions, train_tokenizer

    for task, n_opt, share in (
        ("drug-suffix", 4, 1.0),
        ("term-prefix", 8, 1.0),
        ("lab-threshold", 4, 1.0),
        ("vignette-keyword", 10, 0.8),  # two-word keywords compete with the age and the day count
    ):
        train = task_questions(task, 512, 0, n_options=n_opt)
        tok = train_tokenizer(corpus_from_questions(train))
        restate = Restater(train, tok)
        held = task_questions(task, 100, 0, split="heldout", n_options=n_opt)
        thinks = [restate(q) for q in held]
        hits = sum(q.meta["item"].split()[0] in t for q, t in zip(held, thinks, strict=True))
        assert hits >= share * len(held), (task, hits, thinks[:5])
        for q, think in zip(held, thinks, strict=True):
            assert len(think.split()) <= 2 and len(tok(think, add_special_tokens=False)["input_ids"]) <= 12
            assert q.answer_text not in think  # never the answer


def test_stem_and_last_sentence_modes_and_the_budget(tok):
    q = MCQ("x", "sample", "A man has a cough and a fever. Which drug is best?", {"A": "a", "B": "b"}, "A")
    assert Restater([q], tok, "last-sentence", budget=50)(q) == "Which drug is best?"
    assert Restater([q], tok, "stem", budget=50)(q) == q.question
    short = Restater([q], tok, "stem", budget=3)(q)
    assert q.question.startswith(short) and len(tok(short, add_special_tokens=False)["input_ids"]) <= 3
    assert warmup_target("x y", "C") == "<think>x y</think><answer>C</answer>"


def test_longest_target_counts_the_tags_and_eos(tok):
    qs = drug_class_questions(32, seed=0)
    n, qid = longest_target(qs, tok, restate="stem", restate_tokens=25)
    assert 25 + 4 <= n <= 25 + 8 and qid.startswith("synthetic-train")  # 5 format tokens + eos
    assert longest_target(qs, tok)[0] <= 12 + 8


@pytest.mark.parametrize(
    "kw",
    [{"steps": 0}, {"batch_size": 0}, {"learning_rate": 2.0}, {"restate": "answer"}, {"restate_tokens": 0}],
)
def test_config_rejects_bad_values(kw):
    with pytest.raises(ValueError):
        WarmupConfig(**kw)


def test_warmup_lowers_the_loss_and_saves_a_loadable_model(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    losses: list[float] = []
    qs = drug_class_questions(64, seed=0, split="train")
    out = run_format_warmup(
        tiny_model_dir,
        qs,
        tmp_path / "warm",
        steps=30,
        seed=0,
        prompt_cfg=SYNTHETIC_PROMPT_CONFIG,
        batch_size=8,
        on_step=lambda step, loss: losses.append(loss),
    )
    assert out == tmp_path / "warm" and len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5, losses
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.padding_side == "left" and tok.chat_template
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    changed = [
        n
        for (n, p), (_, q) in zip(model.named_parameters(), base.named_parameters(), strict=True)
        if not p.equal(q)
    ]
    assert changed, "warm-up changed no parameter"
    assert json.loads((out / "config.json").read_text())["model_type"] == "llama"


def test_warmup_needs_questions(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="at least one question"):
        run_format_warmup(tiny_model_dir, [], tmp_path / "w", steps=1)


@pytest.mark.parametrize("kw", [{"steps": 10, "max_steps": 5}, {"restate_goal": 0.0}, {"check_every": 0}])
def test_config_rejects_bad_extension_values(kw):
    with pytest.raises(ValueError):
        WarmupConfig(**kw)


class _Oracle:
    """Stands in for a causal LM: the logits' argmax at position t is token t+1 of its input
    (``right``) or token t itself (a model that never predicts the next token)."""

    training, device = False, "cpu"

    def __init__(self, right: bool, vocab: int):
        self.right, self.vocab = right, vocab

    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def __call__(self, input_ids, attention_mask):
        import torch

        nxt = torch.roll(input_ids, -1, dims=1) if self.right else input_ids
        return type("Out", (), {"logits": torch.nn.functional.one_hot(nxt, self.vocab).float()})()


def test_restated_share_scores_the_whole_think_span(tok):
    from medzero.train.warmup import restated_share

    prompts = [tok("question one", add_special_tokens=False)["input_ids"], [5, 6, 7]]
    thinks = ["Baviolol 63", "jaundice"]
    assert restated_share(_Oracle(True, len(tok)), tok, prompts, thinks) == 1.0
    assert restated_share(_Oracle(False, len(tok)), tok, prompts, thinks) == 0.0


def test_warmup_goes_on_until_the_restatement_is_learned(tiny_model_dir, tmp_path, monkeypatch):
    import medzero.train.warmup as warmup

    qs = drug_class_questions(32, seed=0, split="train")
    args = dict(seed=0, prompt_cfg=SYNTHETIC_PROMPT_CONFIG, batch_size=4, max_steps=25, check_every=5)
    steps: list[int] = []
    out = run_format_warmup(tiny_model_dir, qs, tmp_path / "a", steps=10, restate_goal=1.0,
                            on_step=lambda s, _: steps.append(s), **args)  # fmt: skip
    log = json.loads((out / warmup.WARMUP_LOG).read_text())
    if log["steps"] < 25:  # stopped early: only because every check question was restated
        assert log["checks"][-1]["restated"] == 1.0
    else:
        assert [c["step"] for c in log["checks"]] == [10, 15, 20, 25] and steps[-1] == 25
    monkeypatch.setattr(warmup, "restated_share", lambda *a: 0.95)
    out = run_format_warmup(tiny_model_dir, qs, tmp_path / "b", steps=10, restate_goal=0.9, **args)
    log = json.loads((out / warmup.WARMUP_LOG).read_text())
    assert log["steps"] == 10 and log["checks"] == [{"step": 10, "restated": 0.95}]
    out = run_format_warmup(tiny_model_dir, qs, tmp_path / "c", steps=10, **{**args, "max_steps": 0})
    assert json.loads((out / warmup.WARMUP_LOG).read_text())["checks"] == []  # fixed steps: no checks
