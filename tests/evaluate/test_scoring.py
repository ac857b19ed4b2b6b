import pytest
from tests.evaluate.conftest import ScriptedBackend, make_mcqs

from medzero.data.prompts import PromptConfig, build_messages
from medzero.evaluate.backends import Generation
from medzero.evaluate.scoring import (
    BackendFailure,
    GenerationSettings,
    item_record,
    prompt_hash,
    question_key,
    score_items,
)

CONTRACT_KEYS = {
    "benchmark",
    "id",
    "sample",
    "prompt_hash",
    "output",
    "extraction",
    "gold",
    "correct",
    "prompt_tokens",
    "completion_tokens",
    "meta",
}


def test_records_follow_the_items_contract_and_use_the_extractor():
    qs = make_mcqs(4)
    res = score_items(ScriptedBackend(), qs, benchmark="mine")
    assert not res.errors and len(res.records) == 4
    rec = res.records[1]
    assert set(rec) >= CONTRACT_KEYS
    assert set(rec["extraction"]) == {"strict", "last", "lenient"}
    assert rec["extraction"]["strict"]["letter"] == "A" and rec["extraction"]["strict"]["method"]
    assert rec["gold"] == "B" and rec["correct"] == {"strict": False, "last": False, "lenient": False}
    assert res.records[0]["correct"]["strict"] is True
    assert rec["prompt_hash"] == prompt_hash(build_messages(qs[1], PromptConfig()))
    assert rec["meta"]["question_key"] == question_key(qs[1])
    assert rec["lenient_first"]["letter"] == "A"  # HuatuoGPT-o1's first candidate


@pytest.mark.parametrize(
    ("output", "strict", "last", "lenient"),
    [
        # the answer tag: every mode reads it
        ("<think>beta is wrong</think><answer>C</answer>", "C", "C", "C"),
        # an answer statement followed by more text: strict refuses, last and lenient read it
        ("The answer is (B). Then more text follows here to discuss.\nOk.", None, "B", "B"),
        # an answer only inside the thinking: strict and lenient refuse, last reads it
        ("<think>The answer is B.</think> hmm", None, "B", None),
        # a hedge is no answer in any mode
        ("Answer: B or C", None, None, None),
        # the option's text only (HuatuoGPT-o1's scorer matches option text): lenient only
        ("It must be gamma.", None, None, "C"),
        # nothing at all
        ("I am not sure.", None, None, None),
    ],
)
def test_modes_on_crafted_outputs(output, strict, last, lenient):
    q = make_mcqs(1)[0]
    q.options = {"A": "alpha", "B": "beta", "C": "gamma"}
    rec = item_record("mine", q, 0, "h", Generation(output, 10, 5, "stop"))
    got = {m: rec["extraction"][m]["letter"] for m in ("strict", "last", "lenient")}
    assert got == {"strict": strict, "last": last, "lenient": lenient}
    assert rec["correct"] == {m: got[m] == q.answer for m in got}


def test_done_keys_are_skipped():
    qs = make_mcqs(5)
    first = score_items(ScriptedBackend(), qs, benchmark="mine")
    done = {(r["benchmark"], r["id"], r["sample"], r["prompt_hash"]) for r in first.records[:3]}
    backend = ScriptedBackend()
    again = score_items(backend, qs, benchmark="mine", done=done)
    assert [r["id"] for r in again.records] == ["q3", "q4"]
    assert backend.calls == [(2, 1)]


def test_failures_are_retried_then_reported_never_dropped():
    qs = make_mcqs(4)
    backend = ScriptedBackend(fail_first={"number 1?": 1, "number 2?": 99})
    seen = []
    res = score_items(backend, qs, benchmark="mine", max_attempts=3, on_records=seen.extend)
    assert sorted(r["id"] for r in res.records) == ["q0", "q1", "q3"]  # q1 succeeded on its retry
    assert seen == res.records
    assert [(e["id"], e["sample"], e["attempts"]) for e in res.errors] == [("q2", 0, 3)]
    assert "503" in res.errors[0]["error"]


def test_a_backend_that_fails_everything_raises_a_clear_error():
    with pytest.raises(BackendFailure, match="server unreachable"):
        score_items(ScriptedBackend(raise_all=True), make_mcqs(3), benchmark="mine")


def test_samples_use_n_per_prompt_and_partial_samples_are_topped_up():
    qs = make_mcqs(3)
    gen = GenerationSettings(samples=4, temperature=0.7)
    backend = ScriptedBackend(answer_for=lambda text, j: "AB"[j % 2])
    res = score_items(backend, qs, benchmark="mine", gen=gen)
    assert len(res.records) == 12 and backend.calls == [(3, 4)]
    done = {(r["benchmark"], r["id"], r["sample"], r["prompt_hash"]) for r in res.records if r["sample"] < 2}
    backend2 = ScriptedBackend()
    res2 = score_items(backend2, qs, benchmark="mine", gen=gen, done=done)
    assert backend2.calls == [(3, 2)]
    assert sorted({r["sample"] for r in res2.records}) == [2, 3]
