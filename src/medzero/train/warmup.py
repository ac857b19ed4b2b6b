"""Format warm-up ("cold start") for a from-scratch model, before GRPO.

A randomly initialised model never writes ``<think>…</think><answer>X</answer>`` by chance, so
every GRPO reward would be 0 and there would be nothing to learn from. A short supervised pass
teaches the *format* and nothing about the answer:

* the target is ``<think>{restated fact}</think><answer>{RANDOM letter}</answer>`` + eos, with the
  letter drawn at random for every example, so accuracy stays at chance after the warm-up;
* the think block restates the fact the answer depends on (for the synthetic drug-class task,
  ``the drug is Baviolol``). A generic think text (fixed phrases) left GRPO stuck at chance in
  our measurements: the policy then has no token near the answer that carries the rule;
* the loss is on the completion only (a loss on the prompt emptied the think block).

This is plain supervised learning (a small torch loop), not RL; GRPO then learns the answers.
``medzero train`` calls :func:`run_format_warmup` when a recipe has a ``warmup:`` section.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medzero.data.prompts import PromptConfig, build_text
from medzero.data.schema import MCQ


@dataclass
class WarmupConfig:
    """Settings of the supervised format warm-up."""

    steps: int = field(default=150, metadata={"help": "Optimiser steps (150 suffice for the tiny model)."})
    batch_size: int = field(default=16, metadata={"help": "Examples per step."})
    learning_rate: float = field(
        default=1e-3, metadata={"help": "AdamW learning rate, constant (tiny from-scratch models)."}
    )
    seed: int = field(default=0, metadata={"help": "Seeds torch and the letter/example sampling."})

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps ({self.steps}) and batch_size ({self.batch_size}) must be >= 1")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must be in (0, 1), got {self.learning_rate}")


def restated_fact(mcq: MCQ) -> str:
    """The think text of the warm-up target: the fact the answer depends on.

    Synthetic drug-class items restate the drug (``"the drug is Baviolol"``); other items restate
    the question's last sentence (``"the question is: Which ...?"``).
    """
    if "drug" in mcq.meta:
        return f"the drug is {mcq.meta['drug']}"
    last = mcq.question.strip().replace("\n", " ").split(". ")[-1]
    return f"the question is: {last}"


def warmup_target(mcq: MCQ, letter: str) -> str:
    """``<think>{fact}</think><answer>{letter}</answer>`` (eos is appended by the caller)."""
    return f"<think>{restated_fact(mcq)}</think><answer>{letter}</answer>"


def run_format_warmup(
    model_dir: str | Path,
    questions: Sequence[MCQ],
    out_dir: str | Path,
    steps: int = 150,
    seed: int = 0,
    prompt_cfg: PromptConfig | None = None,
    *,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    on_step: Callable[[int, float], None] | None = None,
) -> Path:
    """Train the format on ``questions`` with random answer letters and save model + tokenizer
    (``save_pretrained``) to ``out_dir``; returns ``out_dir``.

    ``on_step(step, loss)`` is called after every optimiser step (progress display).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = WarmupConfig(steps=steps, batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    if not questions:
        raise ValueError("run_format_warmup needs at least one question")
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device)
    model.train()
    prompts = [
        tokenizer(build_text(q, prompt_cfg, tokenizer), add_special_tokens=False)["input_ids"]
        for q in questions
    ]
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id
    for step in range(1, cfg.steps + 1):
        idx = [rng.randrange(len(questions)) for _ in range(cfg.batch_size)]
        seqs, labels = [], []
        for i in idx:
            q = questions[i]
            target = warmup_target(q, rng.choice(q.letters))
            completion = [*tokenizer(target, add_special_tokens=False)["input_ids"], eos]
            seqs.append(prompts[i] + completion)
            labels.append([-100] * len(prompts[i]) + completion)
        # Right padding: positions then start at 0 as they do in left-padded generation.
        width = max(map(len, seqs))
        input_ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs])
        attention = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
        label_ids = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels])
        batch = {"input_ids": input_ids, "attention_mask": attention, "labels": label_ids}
        loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if on_step is not None:
            on_step(step, float(loss.detach()))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
