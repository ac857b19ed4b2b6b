"""Training questions -> TRL dataset rows, with the prompt-length cap TRL 1.16 no longer has.

Questions come from exactly one place (``data.prepared``, ``data.path``, ``data.synthetic`` or
``data.sample``),
are optionally subsampled (``data.limit``, seeded), and become rows of
:func:`medzero.data.rows.mcq_to_row` with prompts built by :mod:`medzero.data.prompts` under the
recipe's prompt config. A tokenizer without a chat template gets plain-text prompts.

``data.prompt_max_tokens`` is enforced here: a prompt over the cap is dropped, or with
``prompt_overflow: truncate`` its question stem loses tokens from the beginning (clinical
vignettes put the question last) until it fits, or with ``prompt_overflow: truncate_left`` it
is cut as the seed's TRL cut it: the chat-templated prompt keeps its last ``cap`` tokens, so a
long question loses the system prompt and the template's opening first. :class:`PromptReport`
counts what was cut and dropped.

With ``truncate_left`` every prompt is passed to TRL as already-templated text (the seed's TRL
also templated first, then tokenized and cut); TRL then tokenizes it without re-templating.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.markup import escape

from medzero.console import console
from medzero.data.prompts import messages_to_text
from medzero.data.rows import mcq_to_row
from medzero.data.schema import MCQ
from medzero.errors import ConfigError
from medzero.train.recipe import DataSection


@dataclass
class PromptReport:
    """What the prompt cap did."""

    total: int = 0
    truncated: int = 0
    dropped: int = 0
    max_tokens: int = 0
    cap: int | None = None

    def describe(self) -> str:
        cap = f" (cap {self.cap} tokens)" if self.cap else ""
        return (
            f"{self.total - self.dropped} of {self.total} questions kept{cap}: {self.truncated} truncated, "
            f"{self.dropped} dropped; longest prompt {self.max_tokens} tokens"
        )


def load_questions(data: DataSection, base_dir: Path | None = None) -> list[MCQ]:
    """Read the questions a recipe names (relative paths are relative to ``base_dir``)."""

    def resolve(p: str) -> Path:  # as given (cwd-relative), else relative to the recipe file
        path = Path(p).expanduser()
        if path.is_absolute() or path.exists() or base_dir is None:
            return path
        return base_dir / path if (base_dir / path).exists() else path

    if data.synthetic is not None:
        from medzero.data.synthetic import drug_class_questions

        mcqs = drug_class_questions(data.synthetic, seed=data.seed, split="train")
    elif data.sample:
        from medzero.data.loaders import sample_questions

        mcqs = sample_questions()
    elif data.path is not None:
        from medzero.data.loaders import load_mcqs

        result = load_mcqs(resolve(data.path), fmt=data.format)
        if not data.skip_bad:
            result.refuse_errors("set data.skip_bad: true (--set data.skip_bad=true)")
        for err in result.errors[:5]:
            console.print(f"[yellow]warning:[/] skipped {escape(str(err))}", highlight=False)
        if len(result.errors) > 5:
            console.print(f"[yellow]warning:[/] ... {len(result.errors)} malformed records skipped in all")
        mcqs = list(result.records)
    else:
        from medzero.data.prepare import prepared_mcqs

        mcqs = prepared_mcqs(resolve(str(data.prepared)))
    if data.limit is not None and data.limit < len(mcqs):
        mcqs = random.Random(data.seed).sample(mcqs, data.limit)
    if not mcqs:
        raise ConfigError("the recipe's data section yields no questions")
    return mcqs


def prompt_value(mcq: MCQ, data: DataSection, tokenizer: Any) -> list[dict[str, str]] | str:
    """The ``prompt`` column: chat messages, or plain text when the tokenizer has no chat template."""
    messages = mcq_to_row(mcq, data.prompt)["prompt"]
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        return messages
    return messages_to_text(messages, None)


def count_prompt_tokens(prompt: list[dict[str, str]] | str, tokenizer: Any) -> int:
    text = prompt if isinstance(prompt, str) else messages_to_text(prompt, tokenizer)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def trl_text(prompt: list[dict[str, str]] | str, tokenizer: Any) -> str:
    """The prompt as the text TRL tokenizes for a plain-text prompt. TRL adds the tokenizer's
    special tokens to such text, so a BOS the chat template wrote is removed here, not doubled."""
    text = prompt if isinstance(prompt, str) else messages_to_text(prompt, tokenizer)
    bos = getattr(tokenizer, "bos_token", None)
    if bos and text.startswith(bos) and tokenizer("")["input_ids"][:1] == [tokenizer.bos_token_id]:
        text = text[len(bos) :]
    return text


def truncate_left(text: str, tokenizer: Any, cap: int) -> tuple[str, int, bool] | None:
    """(text, tokens, cut): ``text`` whose tokens (as TRL counts a plain-text prompt, special
    tokens included) fit in ``cap``, keeping the last ones; ``None`` when nothing fits."""
    n = len(tokenizer(text)["input_ids"])
    if n <= cap:
        return text, n, False
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    keep = cap - (n - len(ids))  # room left by the special tokens TRL adds
    for _ in range(8):  # decoding at a cut and re-tokenising can shift a token or two
        if keep <= 0:
            return None
        cut = tokenizer.decode(ids[-keep:])
        n = len(tokenizer(cut)["input_ids"])
        if n <= cap:
            return cut, n, True
        keep -= n - cap
    return None


def _fit(mcq: MCQ, data: DataSection, tokenizer: Any, cap: int) -> tuple[Any, int, bool] | None:
    """(prompt, tokens, truncated) within ``cap``; ``None`` when the question cannot fit."""
    prompt = prompt_value(mcq, data, tokenizer)
    if data.prompt_overflow == "truncate_left":
        return truncate_left(trl_text(prompt, tokenizer), tokenizer, cap)
    n = count_prompt_tokens(prompt, tokenizer)
    if n <= cap:
        return prompt, n, False
    if data.prompt_overflow != "truncate":
        return None
    stem_ids = tokenizer(mcq.question, add_special_tokens=False)["input_ids"]
    for _ in range(4):  # re-tokenising the cut stem can shift a token or two
        over = n - cap
        if over >= len(stem_ids):
            return None
        stem_ids = stem_ids[over + 1 :]
        cut = replace(mcq, question="..." + tokenizer.decode(stem_ids).lstrip())
        prompt = prompt_value(cut, data, tokenizer)
        n = count_prompt_tokens(prompt, tokenizer)
        if n <= cap:
            return prompt, n, True
    return None


def build_rows(
    mcqs: list[MCQ], data: DataSection, tokenizer: Any
) -> tuple[list[dict[str, Any]], PromptReport]:
    """Training rows (the :mod:`medzero.data.rows` layout) under the prompt cap."""
    report = PromptReport(total=len(mcqs), cap=data.prompt_max_tokens)
    rows = []
    for mcq in mcqs:
        row = mcq_to_row(mcq, data.prompt)
        if data.prompt_max_tokens is None:
            row["prompt"] = prompt_value(mcq, data, tokenizer)
            if tokenizer is not None:
                report.max_tokens = max(report.max_tokens, count_prompt_tokens(row["prompt"], tokenizer))
        else:
            fitted = _fit(mcq, data, tokenizer, data.prompt_max_tokens)
            if fitted is None:
                report.dropped += 1
                continue
            row["prompt"], n, cut = fitted
            report.truncated += cut
            report.max_tokens = max(report.max_tokens, n)
        rows.append(row)
    if not rows:
        raise ConfigError(f"every question is longer than data.prompt_max_tokens={data.prompt_max_tokens}")
    return rows, report


def to_dataset(rows: list[dict[str, Any]], image_max_pixels: int | None = None):
    """A ``datasets.Dataset`` for TRL. Rows with images get one ``images`` column of paths
    (text rows ``[]``), decoded to RGB ``PIL`` images capped at ``image_max_pixels`` each time TRL
    reads a row — what TRL's GRPOTrainer takes for a vision-language model."""
    from datasets import Dataset

    if not any(r.get("images") for r in rows):
        return Dataset.from_list([{k: v for k, v in r.items() if k != "images"} for r in rows])
    from medzero.data.images import load_image

    def decode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        batch["images"] = [[load_image(p, image_max_pixels) for p in paths] for paths in batch["images"]]
        return batch

    return Dataset.from_list([{**r, "images": list(r.get("images") or [])} for r in rows]).with_transform(
        decode
    )
