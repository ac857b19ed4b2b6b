from __future__ import annotations

import itertools

import pytest

from medzero.tools.chunking import ChunkConfig, chunk_text, rebuild_text


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def test_short_document_is_one_chunk_with_its_exact_text():
    text = "  Ramipril is\nan ACE inhibitor.  "
    (c,) = chunk_text(text, ChunkConfig(words=10, overlap=2))
    assert c.text == "Ramipril is\nan ACE inhibitor." and text[c.start : c.end] == c.text


@pytest.mark.parametrize(
    ("n", "size", "overlap"), [(10, 4, 1), (11, 4, 2), (100, 7, 3), (8, 8, 0), (9, 3, 0)]
)
def test_windows_cover_every_word_overlap_and_rebuild(n, size, overlap):
    text = words(n)
    chunks = chunk_text(text, ChunkConfig(words=size, overlap=overlap))
    assert all(len(c.text.split()) == min(size, n) for c in chunks)  # the last window is never short
    assert chunks[-1].text.split()[-1] == f"w{n - 1}"
    for a, b in itertools.pairwise(chunks):
        assert len(set(a.text.split()) & set(b.text.split())) >= overlap
    assert rebuild_text(chunks) == text


def test_same_input_same_chunks():
    cfg = ChunkConfig(words=5, overlap=2)
    assert chunk_text(words(23), cfg) == chunk_text(words(23), cfg)


def test_no_words_no_chunks():
    assert chunk_text(" \n\t", ChunkConfig()) == []


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (4, 4), (4, -1)])
def test_bad_settings_name_the_fix(size, overlap):
    with pytest.raises(ValueError, match="chunk"):
        ChunkConfig(words=size, overlap=overlap)
