"""medzero — Medical R1-Zero: GRPO with verifiable rewards on medical multiple-choice questions.

Stages (one sub-package each, arrows point down only)::

    demo -> analyze -> evaluate -> train -> rewards -> extract
                                  \\-> data (schema, loaders, prompts, prepare)

Importing :mod:`medzero` is cheap: heavy libraries (torch, transformers, trl) are imported
only inside the functions that need them.
"""

__version__ = "0.1.0"
