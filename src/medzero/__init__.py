"""medzero — Medical R1-Zero: GRPO with verifiable rewards on medical multiple-choice questions.

Stages (one sub-package each); a stage imports only the stages below it (tests/test_layers.py)::

    demo
    train, analyze      (training validates through evaluate; curriculum grades through it)
    curriculum
    evaluate
    rewards
    models, tools
    data                (schema, loaders, prompts, prepare)
    extract

The loose modules (errors, console, jsonl, outdir, registry, sections, yamlsafe) sit below all.

Importing :mod:`medzero` is cheap: heavy libraries (torch, transformers, trl) are imported
only inside the functions that need them.
"""

__version__ = "0.1.0"

import logging as _logging


def _not_missing_kernels(record: _logging.LogRecord) -> bool:
    """bitsandbytes, imported by peft/trl on CPUs with AVX512-BF16, logs at import that the optional
    ``kernels`` package (a faster 4-bit CPU matmul, fetched from the hub) is missing. Its fallback
    works, and the line showed up on every command: drop exactly that record, keep any other."""
    exc = record.args[0] if isinstance(record.args, tuple) and record.args else None
    return not (isinstance(exc, ModuleNotFoundError) and exc.name == "kernels")


_logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_not_missing_kernels)


def _not_cpu_fallback_notice(record: _logging.LogRecord) -> bool:
    """accelerate imports DeepSpeed whenever it is installed (the ``deepspeed`` extra), and DeepSpeed
    then warns, on *stdout*, that it fell back to its CPU accelerator. On a machine without a GPU
    that is the expected case; the line broke commands whose stdout is JSON (``train``, ``eval``).
    Drop exactly that record; every other DeepSpeed message still shows."""
    return not str(record.msg).startswith("Setting accelerator to CPU.")


# DeepSpeed's LoggerFactory configures this very logger object (logging.getLogger("DeepSpeed")),
# so a filter added before DeepSpeed is imported stays in force.
_logging.getLogger("DeepSpeed").addFilter(_not_cpu_fallback_notice)
