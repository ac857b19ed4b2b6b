import json

import numpy as np
import pytest

from medzero.analyze.reflection import Lexicon, accuracy_split, detect_rise, examples, load_lexicon, scan
from medzero.errors import ConfigError


def _counts(texts, lex=None):
    lex = lex or Lexicon()
    sc = scan(texts, lex)
    return sc, {p: int(c) for p, c in zip(lex.phrases, sc.phrase_docs, strict=True) if c}


@pytest.mark.parametrize(
    "text,found",
    [
        ("Wait, that is wrong.", {"wait"}),  # case-insensitive
        ("We awaited the result; waiting helps.", set()),  # word boundaries both sides
        ("Let me double-check: B.", {"let me double-check"}),  # longest phrase wins, no double count
        ("I should double check.", {"double-check"}),  # hyphen matches a space
        ("Reexamine the ECG. Re-examine it.", {"re-examine"}),  # hyphen optional
        ("Actually, no. actually the same", {"actually,"}),  # comma required
        ("hold\n  on", {"hold on"}),  # any whitespace
        ("That’s not right.", {"that's not right"}),  # typographic apostrophe
        ("", set()),
    ],
)
def test_lexicon_matching(text, found):
    _, counts = _counts([text])
    assert set(counts) == found


def test_scan_attributes_matches_to_texts():
    sc, counts = _counts(["wait wait", "nothing", "Hmm. Wait."])
    assert sc.count.tolist() == [2, 0, 2] and sc.has.tolist() == [True, False, True]
    assert counts == {"wait": 2, "hmm": 1}


def test_custom_lexicon_file_and_raw_regex(tmp_path):
    f = tmp_path / "lex.txt"
    f.write_text("# my phrases\nbut then\nre:\\bre-?think(ing)?\\b\n\n", encoding="utf-8")
    lex = load_lexicon(f)
    assert lex.phrases == ("but then", r"re:\bre-?think(ing)?\b")
    _, counts = _counts(["But then I was rethinking", "Rethink."], lex)
    assert counts == {"but then": 1, r"re:\bre-?think(ing)?\b": 2}
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no phrases"):
        load_lexicon(tmp_path / "empty.txt")
    with pytest.raises(ConfigError, match="invalid regular expression"):
        Lexicon(("re:(unclosed",))


def test_detect_rise_at_planted_step():
    rng = np.random.default_rng(0)
    steps = np.arange(1, 101)
    rate = np.where(steps >= 60, 0.3, 0.05) + rng.normal(0, 0.01, 100)
    on = detect_rise(steps, rate)
    assert on["step"] == 60 and on["baseline_steps"] == 20
    assert on["threshold"] == pytest.approx(on["baseline_mean"] + max(3 * on["baseline_sd"], 0.02))


def test_detect_rise_ignores_a_single_spike_and_flat_rates():
    rate = np.full(50, 0.1)
    rate[30] = 0.9
    assert detect_rise(np.arange(50), rate)["step"] is None
    assert detect_rise(np.arange(5), np.zeros(5))["reason"].startswith("too few steps")


def test_accuracy_split_with_and_without():
    has = np.array([1, 1, 1, 0, 0, 0, 0, 0], bool)
    correct = np.array([1, 1, 0, 1, 0, 0, 0, np.nan])
    groups = np.array([0, 0, 1, 0, 1, 1, 2, 2])
    a = accuracy_split(has, correct, groups)
    assert a["with"]["n"] == 3 and a["with"]["accuracy"] == pytest.approx(2 / 3)
    assert a["without"]["n"] == 4 and a["without"]["accuracy"] == pytest.approx(1 / 4)
    # group 0: 2/2 vs 1/1 -> 0; group 1: 0/1 vs 0/2 -> 0
    assert a["within_group"] == {"groups": 2, "mean_difference": 0.0}


def test_examples_mark_the_phrase():
    text = "x" * 500 + " Wait, let me double-check. " + "y" * 500
    [(i, snip, spans)] = examples([text], np.array([0]), Lexicon(), context=50)
    assert i == 0 and snip.startswith("…") and snip.endswith("…")
    assert [snip[s:e] for s, e, _ in spans] == ["Wait", "let me double-check"]


def test_lexicon_on_real_huatuogpt_o1_traces(shared_data):
    """The rates reported in docs/analysis.md (198 HuatuoGPT-o1 demo traces)."""
    path = shared_data / "huatuogpt_o1" / "demo_data.json"
    if not path.exists():
        pytest.skip(f"{path} not found")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data) == 198
    cot, counts = _counts([d["Complex_CoT"] for d in data])
    resp, _ = _counts([d["Response"] for d in data])
    assert int(cot.has.sum()) == 166 and int(resp.has.sum()) == 2
    assert counts["wait"] == 104 and counts["hmm"] == 124 and counts["hold on"] == 21
