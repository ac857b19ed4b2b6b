"""Format warm-up ("cold start") for a from-scratch model, before GRPO.

A randomly initialised model never writes ``<think>…</think><answer>X</answer>`` by chance, so
every GRPO reward would be 0 and there would be nothing to learn from. A short supervised pass
teaches the *format* and nothing about the answer:

* the target is ``<think>{restatement}</think><answer>{RANDOM letter}</answer>`` + eos, with the
  letter drawn at random for every example, so accuracy stays at chance after the warm-up;
* the think block restates words of the question (``restate``), never the answer. A generic
  think text (fixed phrases) left GRPO stuck at chance in our measurements: the policy then has
  no token near the answer that carries what the answer depends on. The default, ``rare``,
  suits any MCQ file: the stem's rarest words (fewest training questions contain them: an
  invented drug name, a lab value, a finding) within ``restate_tokens`` tokens, in stem order;
  ``stem`` restates the stem's first ``restate_tokens`` tokens; ``last-sentence`` the stem's last
  sentence (within the same budget);
* the loss is on the completion only (a loss on the prompt emptied the think block);
* ``steps`` is a minimum when ``max_steps`` is larger: every ``check_every`` steps from then on,
  the warm-up measures how many of 64 training questions get their whole restatement right
  (teacher-forced, greedy token by token) and stops once that share reaches ``restate_goal``
  (or at ``max_steps``). How long copying takes depends on the task and the seed (the tiny
  model: 300-600 steps in the learning battery, docs/benchmarks.md), and a restatement that is
  not copied carries nothing for GRPO to learn from.

This is plain supervised learning (a small torch loop), not RL; GRPO then learns the answers.
``medzero train`` calls :func:`run_format_warmup` when a recipe has a ``warmup:`` section.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medzero.data.prompts import PromptConfig, build_text
from medzero.data.schema import MCQ

RESTATE = ("rare", "stem", "last-sentence")
WARMUP_LOG = "medzero_warmup.json"  # in the warm-up folder: steps run and the restatement checks
_WORD = re.compile(r"[^\W_]+")


@dataclass
class WarmupConfig:
    """Settings of the supervised format warm-up."""

    steps: int = field(default=150, metadata={"help": "Optimiser steps (150 suffice for the tiny model)."})
    batch_size: int = field(default=16, metadata={"help": "Examples per step."})
    learning_rate: float = field(
        default=1e-3, metadata={"help": "AdamW learning rate, constant (tiny from-scratch models)."}
    )
    seed: int = field(default=0, metadata={"help": "Seeds torch and the letter/example sampling."})
    restate: str = field(
        default="rare",
        metadata={"help": "What the think block restates: rare (rarest stem words), stem, last-sentence."},
    )
    restate_tokens: int = field(
        default=12, metadata={"help": "Token budget of the restatement (the think block's content)."}
    )
    restate_words: int = field(
        default=2, metadata={"help": "rare: how many of the stem's rarest words are restated."}
    )
    max_steps: int = field(
        default=0,
        metadata={
            "help": "Go on past `steps` until the restatement is learned, up to this many (0: stop at steps)."
        },
    )
    restate_goal: float = field(
        default=0.9,
        metadata={
            "help": "With max_steps: stop once this share of 64 training questions is restated exactly."
        },
    )
    check_every: int = field(default=100, metadata={"help": "With max_steps: steps between two checks."})

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps ({self.steps}) and batch_size ({self.batch_size}) must be >= 1")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.restate not in RESTATE:
            raise ValueError(f"restate must be one of {', '.join(RESTATE)}, got {self.restate!r}")
        if self.max_steps and self.max_steps < self.steps:
            raise ValueError(f"max_steps ({self.max_steps}) must be 0 or >= steps ({self.steps})")
        if not 0 < self.restate_goal <= 1 or self.check_every < 1:
            raise ValueError(
                f"restate_goal ({self.restate_goal}) must be in (0, 1] and check_every ({self.check_every}) >= 1"
            )
        if self.restate_tokens < 1 or self.restate_words < 1:
            raise ValueError(
                f"restate_tokens ({self.restate_tokens}) and restate_words ({self.restate_words}) must be >= 1"
            )


class Restater:
    """Builds the think text of the warm-up target for questions of one training set.

    ``rare`` ranks the stem's distinct words by how many training questions contain them
    (fewest first), keeps up to ``max_words`` of them that fit in ``budget`` tokens and writes
    them in stem order.
    """

    def __init__(
        self,
        questions: Sequence[MCQ],
        tokenizer: Any,
        restate: str = "rare",
        budget: int = 12,
        max_words: int = 2,
    ):
        if restate not in RESTATE:
            raise ValueError(f"restate must be one of {', '.join(RESTATE)}, got {restate!r}")
        self.tokenizer, self.restate, self.budget, self.max_words = tokenizer, restate, budget, max_words
        self.df: Counter[str] = Counter()
        for q in questions:
            self.df.update({w.lower() for w in _WORD.findall(q.question)})

    def _n_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _fit(self, text: str) -> str:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][: self.budget]
        return self.tokenizer.decode(ids).strip()

    def __call__(self, mcq: MCQ) -> str:
        stem = " ".join(mcq.question.split())
        if self.restate == "stem":
            return self._fit(stem)
        if self.restate == "last-sentence":
            return self._fit(re.split(r"(?<=[.!?])\s+", stem)[-1])
        words = list(dict.fromkeys(_WORD.findall(stem)))  # distinct, in stem order
        chosen: set[str] = set()
        for w in sorted(words, key=lambda w: self.df[w.lower()]):  # stable: ties keep stem order
            if len(chosen) == self.max_words:
                break
            trial = " ".join(x for x in words if x in chosen or x == w)
            if self._n_tokens(trial) <= self.budget:
                chosen.add(w)
        return " ".join(x for x in words if x in chosen)


def warmup_target(think: str, letter: str) -> str:
    """``<think>{think}</think><answer>{letter}</answer>`` (eos is appended by the caller)."""
    return f"<think>{think}</think><answer>{letter}</answer>"


def longest_target(questions: Sequence[MCQ], tokenizer: Any, **params: Any) -> tuple[int, str]:
    """Tokens (eos included) of the longest warm-up target over ``questions`` and its question
    id; ``params``: the warm-up's keyword arguments (restate, restate_tokens, restate_words)."""
    cfg = WarmupConfig(**{k: v for k, v in params.items() if k in WarmupConfig.__dataclass_fields__})
    restater = Restater(questions, tokenizer, cfg.restate, cfg.restate_tokens, cfg.restate_words)
    best = (0, "")
    for q in questions:
        letter = max(q.letters, key=lambda x: len(tokenizer(x, add_special_tokens=False)["input_ids"]))
        n = len(tokenizer(warmup_target(restater(q), letter), add_special_tokens=False)["input_ids"]) + 1
        best = max(best, (n, q.id))
    return best


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
    restate: str = "rare",
    restate_tokens: int = 12,
    restate_words: int = 2,
    max_steps: int = 0,
    restate_goal: float = 0.9,
    check_every: int = 100,
    on_step: Callable[[int, float], None] | None = None,
) -> Path:
    """Train the format on ``questions`` with random answer letters and save model + tokenizer
    (``save_pretrained``) to ``out_dir``; returns ``out_dir``. ``restate`` and ``restate_tokens``:
    what the think block restates (:class:`Restater`). ``max_steps``, ``restate_goal``,
    ``check_every``: go on past ``steps`` until the restatement is learned (module docstring);
    the checks are written to ``out_dir/medzero_warmup.json``.

    ``on_step(step, loss)`` is called after every optimiser step (progress display).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = WarmupConfig(
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        restate=restate,
        restate_tokens=restate_tokens,
        restate_words=restate_words,
        max_steps=max_steps,
        restate_goal=restate_goal,
        check_every=check_every,
    )
    if not questions:
        raise ValueError("run_format_warmup needs at least one question")
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device)
    model.train()
    restater = Restater(questions, tokenizer, cfg.restate, cfg.restate_tokens, cfg.restate_words)
    thinks = [restater(q) for q in questions]
    prompts = [
        tokenizer(build_text(q, prompt_cfg, tokenizer), add_special_tokens=False)["input_ids"]
        for q in questions
    ]
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id
    check_idx = random.Random(cfg.seed + 1).sample(range(len(questions)), min(64, len(questions)))
    checks: list[dict[str, float]] = []
    last = max(cfg.steps, cfg.max_steps)
    step = 0
    while step < last:
        step += 1
        idx = [rng.randrange(len(questions)) for _ in range(cfg.batch_size)]
        seqs, labels = [], []
        for i in idx:
            q = questions[i]
            target = warmup_target(thinks[i], rng.choice(q.letters))
            completion = [*tokenizer(target, add_special_tokens=False)["input_ids"], eos]
            seqs.append(prompts[i] + completion)
            labels.append([-100] * len(prompts[i]) + completion)
        batch = right_pad(seqs, pad, labels)
        loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if on_step is not None:
            on_step(step, float(loss.detach()))
        if check_due(step, cfg.steps, cfg.max_steps, cfg.check_every):
            rate = restated_share(
                model, tokenizer, [prompts[i] for i in check_idx], [thinks[i] for i in check_idx]
            )
            checks.append({"step": step, "restated": rate})
            if rate >= cfg.restate_goal:
                break
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    info = {"steps": step, "min_steps": cfg.steps, "max_steps": max(cfg.steps, cfg.max_steps),
            "restate_goal": cfg.restate_goal, "checks": checks}  # fmt: skip
    (out / WARMUP_LOG).write_text(json.dumps(info, indent=2) + "\n")
    return out


def check_due(step: int, steps: int, max_steps: int, every: int) -> bool:
    """Whether a warm-up that runs at least ``steps`` and at most ``max_steps`` steps checks its
    goal after ``step``: from ``steps`` on, every ``every`` steps (never when ``max_steps`` is not
    above ``steps``: a fixed-length warm-up)."""
    return max_steps > steps and step >= steps and (step - steps) % every == 0


def restated_share(model: Any, tokenizer: Any, prompts: Sequence[list[int]], thinks: Sequence[str]) -> float:
    """Share of examples whose whole ``<think>{think}</think>`` the model predicts token by token
    (teacher-forced greedy: every next-token argmax right) after its prompt."""
    spans = [tokenizer(warmup_target(t, "")[: -len("<answer></answer>")], add_special_tokens=False)["input_ids"]
             for t in thinks]  # fmt: skip
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return predicted_share(model, prompts, spans, pad)


def predicted_share(
    model: Any, prompts: Sequence[list[int]], spans: Sequence[list[int]], pad: int = 0
) -> float:
    """Share of examples whose whole ``span`` the model predicts after its prompt, teacher-forced:
    every next-token argmax right, i.e. greedy decoding would write the span exactly."""
    import torch

    batch = right_pad([list(p) + list(c) for p, c in zip(prompts, spans, strict=True)], pad)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        pred = model(**{k: v.to(model.device) for k, v in batch.items()}).logits.argmax(-1).cpu()
    model.train(was_training)
    hits = 0
    for row, (p, c) in enumerate(zip(prompts, spans, strict=True)):
        start = len(p)
        hits += bool(torch.equal(pred[row, start - 1 : start - 1 + len(c)], torch.tensor(c)))
    return hits / len(prompts)


def right_pad(
    seqs: Sequence[list[int]], pad: int, labels: Sequence[list[int]] | None = None
) -> dict[str, Any]:
    """A batch of token-id lists padded on the right: ``input_ids`` and ``attention_mask`` tensors,
    and ``labels`` padded with -100 when given. Right padding: positions start at 0 as they do in
    left-padded generation."""
    import torch

    width = max(map(len, seqs))
    batch = {
        "input_ids": torch.tensor([list(s) + [pad] * (width - len(s)) for s in seqs]),
        "attention_mask": torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs]),
    }
    if labels is not None:
        batch["labels"] = torch.tensor([list(lab) + [-100] * (width - len(lab)) for lab in labels])
    return batch
