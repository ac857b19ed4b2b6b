from __future__ import annotations

from medzero.data.schema import MCQ
from medzero.tools.chunking import ChunkConfig
from medzero.tools.contamination import corpus_overlap_report, find_in_corpus
from medzero.tools.corpus import CorpusIndex, build_index
from medzero.tools.documents import Document

STEM = (
    "A 54-year-old man with a dry cough after starting a new antihypertensive drug. Which drug was started?"
)


def mcq(qid: str, question: str) -> MCQ:
    return MCQ(id=qid, source="bench", question=question, options={"A": "x", "B": "y"}, answer="A")


def make_index(tmp_path, texts: dict[str, str], chunking: ChunkConfig | None = None) -> CorpusIndex:
    docs = [Document(k, "", v, f"t:{i}") for i, (k, v) in enumerate(texts.items())]
    build_index(docs, tmp_path / "i", chunking=chunking)
    return CorpusIndex(tmp_path / "i")


def test_stem_inside_a_document_is_exact_and_names_its_chunks(tmp_path):
    filler = " ".join(f"word{i}" for i in range(60))
    index = make_index(
        tmp_path,
        {
            "clean": "Ramipril is an ACE inhibitor.",
            "leak": f"{filler} Question: {STEM.upper()} Answer: ramipril.",
        },
        ChunkConfig(words=30, overlap=10),
    )
    (m,), too_short = find_in_corpus(
        index,
        [mcq("q1", STEM), mcq("q2", "Which vitamin deficiency causes scurvy in sailors on long voyages?")],
    )
    assert too_short == 0
    assert (m.eval_id, m.doc_id, m.kind, m.score) == ("q1", "leak", "exact", 1.0)
    chunks = [r for r in index.chunks if r["id"] == "leak"]
    assert m.chunks and all(any(w in chunks[i]["text"].lower() for w in ("cough", "drug")) for i in m.chunks)
    assert 0 not in m.chunks  # the first chunk holds only filler


def test_paraphrased_stem_is_near_and_threshold_applies(tmp_path):
    altered = STEM.replace("Which drug was started?", "What medication is responsible here?")
    index = make_index(tmp_path, {"leak": altered})
    (m,), _ = find_in_corpus(index, [mcq("q1", STEM)], n=4, threshold=0.5)
    assert m.kind == "near" and 0.5 <= m.score < 1
    assert find_in_corpus(index, [mcq("q1", STEM)], n=4, threshold=0.99)[0] == []


def test_best_document_wins_and_short_stems_are_counted(tmp_path):
    half = " ".join(STEM.split()[:10])
    index = make_index(tmp_path, {"part": half, "full": STEM, "again": STEM})
    (m,), too_short = find_in_corpus(index, [mcq("q1", STEM), mcq("q2", "Dose of aspirin?")], threshold=0.3)
    assert m.doc_id == "full" and too_short == 1  # ties keep the first document with the best score


def test_report_has_the_shape_of_data_overlap(tmp_path):
    index = make_index(tmp_path, {"leak": STEM})
    r = corpus_overlap_report(index, "bench.jsonl", [mcq("q1", STEM), mcq("q2", "Unrelated " * 12)])
    assert {k: r[k] for k in ("benchmark", "records", "exact", "near", "too_short", "contaminated_frac")} == {
        "benchmark": "bench.jsonl",
        "records": 2,
        "exact": 1,
        "near": 0,
        "too_short": 0,
        "contaminated_frac": 0.5,
    }
    assert r["matches"] == [{"eval_id": "q1", "doc_id": "leak", "chunks": [0], "kind": "exact", "score": 1.0}]
