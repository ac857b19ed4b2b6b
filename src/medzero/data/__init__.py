"""Medical MCQ data layer: the canonical :class:`MCQ` record, loaders for every benchmark and
training format, the one prompt renderer, training-mix preparation and contamination checks."""

from medzero.data.schema import LETTERS, MCQ

__all__ = ["LETTERS", "MCQ"]
