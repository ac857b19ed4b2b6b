"""The canonical multiple-choice record every loader produces and every stage consumes."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field
from typing import Any

from medzero.errors import DataError
from medzero.extract.text import fold

LETTERS = string.ascii_uppercase  # "A".."Z": 2 to 26 options


def normalize_text(text: str) -> str:
    """Lower-case, collapse whitespace, strip punctuation at the ends — used for de-duplication
    and contamination checks. The same normaliser as the extractor's option matching
    (:func:`medzero.extract.text.fold`)."""
    return fold(text)


def question_key(mcq: MCQ) -> str:
    """Hash of the normalised stem and options: equal for duplicated questions (GPQA Medical's
    repeated rows), different for two "all of the following EXCEPT" questions that share a stem
    but not their options. The one key for de-duplication and for grouping repeated rows.
    Image questions add the content hash of each image, so one question text asked about
    different pictures gives different keys."""
    parts = [normalize_text(mcq.question), *(normalize_text(t) for t in mcq.options.values())]
    if mcq.images:
        from medzero.data.images import image_digest

        parts += ["\x1eimages", *(image_digest(p) for p in mcq.images)]
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass
class MCQ:
    """One multiple-choice question.

    Attributes:
        id: unique within its source (e.g. ``"Text-12"``, a PubMed id, ``"medqa-test-17"``).
        source: the benchmark or file family (``"medqa"``, ``"medmcqa"``, ``"pubmedqa"``,
            ``"mmlu_pro"``, ``"medxpertqa"``, ``"gpqa"``, ``"sample"``, ...).
        question: the stem only (options are not repeated in it).
        options: ordered ``letter -> text``; letters are consecutive from ``"A"``, 2 to 26 of them.
        answer: the correct letter, one of ``options``.
        meta: free-form extra fields (``subject``, ``split``, ``body_system``, ``medical_task``, ...).
        images: image file paths shown with the question, in order (empty for text questions).
            Loaders resolve them to absolute paths and check that each decodes
            (:mod:`medzero.data.images`).
    """

    id: str
    source: str
    question: str
    options: dict[str, str]
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)

    def validate(self, path: str | None = None, line: int | None = None) -> MCQ:
        """Check the invariants; raise :class:`DataError` naming ``path``/``line`` and the field."""
        where = path or self.source
        if not isinstance(self.id, str) or not self.id:
            raise DataError(where, line, "id", "missing or empty id")
        if not isinstance(self.question, str) or not self.question.strip():
            raise DataError(where, line, "question", "missing or empty question")
        if not isinstance(self.options, dict) or not 2 <= len(self.options) <= 26:
            n = len(self.options) if isinstance(self.options, dict) else type(self.options).__name__
            raise DataError(where, line, "options", f"expected 2 to 26 options, got {n}")
        expected = list(LETTERS[: len(self.options)])
        if list(self.options) != expected:
            raise DataError(
                where,
                line,
                "options",
                f"letters must be {expected[0]}..{expected[-1]} in order, got {list(self.options)}",
            )
        for letter, text in self.options.items():
            if not isinstance(text, str) or not text.strip():
                raise DataError(where, line, f"options.{letter}", "empty option text")
        if self.answer not in self.options:
            raise DataError(
                where, line, "answer", f"expected one of {expected[0]}-{expected[-1]}, got {self.answer!r}"
            )
        if not isinstance(self.images, list) or not all(isinstance(p, str) and p for p in self.images):
            raise DataError(where, line, "images", f"expected a list of file paths, got {self.images!r}")
        return self

    @property
    def letters(self) -> list[str]:
        return list(self.options)

    @property
    def answer_text(self) -> str:
        return self.options[self.answer]

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSONL object; ``images`` only when there are some (text files unchanged)."""
        out = {
            "id": self.id,
            "source": self.source,
            "question": self.question,
            "options": dict(self.options),
            "answer": self.answer,
            "meta": dict(self.meta),
        }
        if self.images:
            out["images"] = list(self.images)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str | None = None, line: int | None = None) -> MCQ:
        """Build from :meth:`to_dict` output (the ``medzero`` JSONL format) and validate."""
        missing = [k for k in ("id", "source", "question", "options", "answer") if k not in d]
        if missing:
            raise DataError(path, line, missing[0], "missing field")
        return cls(
            id=str(d["id"]),
            source=str(d["source"]),
            question=d["question"],
            options=dict(d["options"]) if isinstance(d["options"], dict) else d["options"],
            answer=d["answer"],
            meta=dict(d.get("meta") or {}),
            images=list(d.get("images") or []),
        ).validate(path, line)
