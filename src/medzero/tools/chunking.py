"""Cutting long documents into overlapping word windows (deterministic, no model needed).

A word is a run of non-space characters. A document of at most ``words`` words is one chunk.
A longer one is cut into windows of ``words`` words that start every ``words - overlap`` words;
the last window ends at the document's last word, so it is never cut short. Each chunk's text is
the exact slice of the original text from its first word to its last (spacing and line breaks
kept), and carries its character offsets, so the document can be rebuilt from its chunks.

The overlap keeps a passage that straddles a window boundary whole in at least one chunk as long
as it is at most ``overlap + 1`` words long.

>>> [c.text for c in chunk_text("a b c d e f g", ChunkConfig(words=4, overlap=1))]
['a b c d', 'd e f g']
>>> [c.text for c in chunk_text("a b c d e", ChunkConfig(words=4, overlap=2))]
['a b c d', 'b c d e']
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

_WORD_SPAN = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkConfig:
    words: int = field(
        default=128,
        metadata={
            "help": "Most words per chunk. 128 words (~170 tokens) keeps k=3 passages short enough for "
            "a small model's context; Search-R1 uses 100-word passages."
        },
    )
    overlap: int = field(
        default=32,
        metadata={"help": "Words shared by consecutive chunks of one document; 0 <= overlap < words."},
    )

    def __post_init__(self) -> None:
        if self.words < 1:
            raise ValueError(f"chunk words must be >= 1, got {self.words}")
        if not 0 <= self.overlap < self.words:
            raise ValueError(
                f"chunk overlap must be >= 0 and < words ({self.words}), got {self.overlap}: "
                "lower --overlap or raise --chunk-words"
            )

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """One window of a document: its text and where it lies in the document's text."""

    text: str
    start: int  # character offset of the first word
    end: int  # character offset just after the last word


def chunk_text(text: str, config: ChunkConfig) -> list[Chunk]:
    """The chunks of ``text`` (none when it has no words)."""
    spans = [m.span() for m in _WORD_SPAN.finditer(text)]
    if not spans:
        return []
    n, size, stride = len(spans), config.words, config.words - config.overlap
    starts = list(range(0, max(n - size, 0) + 1, stride))
    if starts[-1] + size < n:  # the stride skipped past the end: one more window, flush with the end
        starts.append(n - size)
    out = []
    for first in starts:
        last = min(first + size, n) - 1
        a, b = spans[first][0], spans[last][1]
        out.append(Chunk(text[a:b], a, b))
    return out


def rebuild_text(chunks: list[Chunk]) -> str:
    """Join chunks of one document back into the text from its first word to its last.

    Gaps between chunks (whitespace, never words) become one space.
    """
    parts: list[str] = []
    pos = None
    for c in chunks:
        if pos is None or c.start >= pos:
            if pos is not None:
                parts.append(" ")
            parts.append(c.text)
        else:  # overlapping window: append only the part after what is already there
            parts.append(c.text[pos - c.start :])
        pos = max(pos or 0, c.end)
    return "".join(parts)
