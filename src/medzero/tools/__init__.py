"""Tools a policy can call while it reasons; for now, searching a text corpus.

* :mod:`~medzero.tools.documents` reads documents (JSONL with ``id``/``title``/``text``, folders of
  plain-text files, PubMedQA abstracts) and reports bad ones with file and line;
* :mod:`~medzero.tools.chunking` cuts long documents into overlapping word windows;
* :mod:`~medzero.tools.corpus` builds, saves, loads and searches a BM25 index (``bm25s``) with a
  manifest of what went in;
* :mod:`~medzero.tools.contamination` finds benchmark questions whose stem is in the corpus.

This stage depends on :mod:`medzero.data` only. ``bm25s`` and numpy are imported when an index is
built or loaded, never when the CLI starts.
"""
