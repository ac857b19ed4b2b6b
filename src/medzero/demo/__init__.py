"""The end-to-end demo (``medzero demo``): :mod:`medzero.demo.run` runs data -> warm-up -> GRPO
-> evaluation -> analysis on the tiny local model; :mod:`medzero.demo.search` (``--task search``)
shows a model learning to use the search tool; :mod:`medzero.demo.cli` is its command (light
to import)."""
