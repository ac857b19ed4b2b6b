"""Synthetic training runs with planted truths, for tests, the benchmark and trying the report.

:func:`write_synthetic_run` writes a RUN_DIR in the format of ``medzero train`` (config.yaml,
run_info.json, metrics.jsonl, completions.jsonl) whose statistics are known in advance:

* reward vs. length: inside each prompt group the population correlation is ``within_corr``;
  a shared prompt effect ``d`` (difficulty) moves both, so the pooled correlation is
  ``(b*c + rho) / sqrt((b^2 + 1)(c^2 + 1))`` with ``b = length_effect``, ``c = reward_effect``;
* reflection: each completion contains "Wait, let me double-check" with probability
  ``reflection_before`` before step ``reflection_step`` and ``reflection_after`` from it on;
* answer flips: a fraction ``flip_rate`` first commits to a different letter than the final one;
  the exact counts of every flip-matrix cell are returned.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

_WORDS = [
    "the",
    "patient",
    "presents",
    "with",
    "fever",
    "cough",
    "and",
    "fatigue",
    "labs",
    "show",
    "elevated",
    "markers",
    "imaging",
    "suggests",
    "inflammation",
    "history",
    "includes",
    "hypertension",
    "diabetes",
    "smoking",
    "exam",
    "reveals",
    "tenderness",
    "pulse",
    "rate",
    "blood",
    "pressure",
    "normal",
    "range",
    "findings",
    "consistent",
    "with",
    "infection",
    "treatment",
    "options",
    "include",
    "antibiotics",
    "fluids",
    "rest",
    "monitoring",
    "considering",
    "differential",
    "diagnosis",
    "mechanism",
    "pathway",
    "enzyme",
    "receptor",
    "inhibition",
    "clinical",
    "picture",
    "typical",
    "presentation",
    "common",
    "cause",
]


@dataclass
class SyntheticRun:
    """Shape of the synthetic run and its planted effects."""

    steps: int = field(default=40, metadata={"help": "Training steps logged (1..steps)."})
    prompts_per_step: int = field(default=8, metadata={"help": "Prompt groups per step."})
    group_size: int = field(default=8, metadata={"help": "Completions per prompt (GRPO num_generations)."})
    seed: int = field(default=0, metadata={"help": "Random seed; the same seed writes the same bytes."})
    within_corr: float = field(default=0.5, metadata={"help": "Planted within-group reward-length r."})
    length_effect: float = field(default=1.0, metadata={"help": "Prompt effect on length (in length sds)."})
    reward_effect: float = field(default=1.0, metadata={"help": "Prompt effect on reward (in reward sds)."})
    mean_tokens: float = field(default=300.0, metadata={"help": "Mean completion length (tokens)."})
    sd_tokens: float = field(default=50.0, metadata={"help": "Within-group length sd (tokens)."})
    max_tokens: int = field(
        default=10_000, metadata={"help": "Length cap; longer completions are truncated."}
    )
    chars_per_token: float = field(default=2.0, metadata={"help": "Filler characters per token."})
    reflection_step: int | None = field(default=20, metadata={"help": "Step the reflection rate rises at."})
    reflection_before: float = field(default=0.05, metadata={"help": "Reflection rate before the rise."})
    reflection_after: float = field(default=0.5, metadata={"help": "Reflection rate from the rise on."})
    flip_rate: float = field(default=0.2, metadata={"help": "Share of completions whose answer flips."})
    letters: str = field(default="ABCD", metadata={"help": "Option letters."})


def _filler(rng: np.random.Generator) -> str:
    return " ".join(rng.choice(_WORDS, 20_000).tolist())


def write_synthetic_run(run_dir: str | Path, spec: SyntheticRun | None = None) -> dict:
    """Write the run; returns the planted truths (see module docstring)."""
    s = spec or SyntheticRun()
    rng = np.random.default_rng(s.seed)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    n_groups = s.steps * s.prompts_per_step
    n = n_groups * s.group_size
    step = np.repeat(np.arange(1, s.steps + 1), s.prompts_per_step * s.group_size)
    group = np.repeat(np.arange(n_groups), s.group_size)
    d = rng.standard_normal(n_groups)[group]
    e_len, e_rew = rng.standard_normal(n), rng.standard_normal(n)
    rho = s.within_corr
    tokens = np.maximum(np.round(s.mean_tokens + s.sd_tokens * (s.length_effect * d + e_len)), 5)
    reward = s.reward_effect * d + rho * e_len + np.sqrt(1 - rho * rho) * e_rew
    truncated = tokens >= s.max_tokens
    tokens = np.minimum(tokens, s.max_tokens)
    letters = np.array(list(s.letters))
    gold = letters[rng.integers(0, len(letters), n)]
    correct = reward > 0
    other = letters[(np.searchsorted(letters, gold) + rng.integers(1, len(letters), n)) % len(letters)]
    final = np.where(correct, gold, other)
    flip = rng.random(n) < s.flip_rate
    shift = rng.integers(1, len(letters), n)
    first = np.where(flip, letters[(np.searchsorted(letters, final) + shift) % len(letters)], final)
    if s.reflection_step is None:
        p_refl = np.full(n, s.reflection_before)
    else:
        p_refl = np.where(step >= s.reflection_step, s.reflection_after, s.reflection_before)
    reflect = rng.random(n) < p_refl

    filler = _filler(rng)
    size = np.maximum((tokens * s.chars_per_token).astype(int), 20)
    offs = rng.integers(0, len(filler) - size.max() - 1, n)
    lines = []
    for i in range(n):
        half = size[i] // 2
        f1, f2 = filler[offs[i] : offs[i] + half], filler[offs[i] + half : offs[i] + size[i]]
        mid = "Wait, let me double-check this. " if reflect[i] else ""
        text = (f"<think>{f1}. The answer is {first[i]}. {mid}{f2}. So the answer is {final[i]}.</think>"
                f"<answer>{final[i]}</answer>")  # fmt: skip
        rec = {
            "step": int(step[i]), "prompt_id": f"q{group[i] % 97}", "sample": int(i % s.group_size),
            "completion": text, "completion_tokens": int(tokens[i]), "truncated": bool(truncated[i]),
            "rewards": {"accuracy": float(correct[i]), "format": 1.0}, "reward": float(reward[i]),
            "advantage": None, "gold": str(gold[i]), "rank": 0,
        }  # fmt: skip
        lines.append(json.dumps(rec))
    (run_dir / "completions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    with (run_dir / "metrics.jsonl").open("w", encoding="utf-8") as fh:
        for t in range(1, s.steps + 1):
            m = step == t
            fh.write(json.dumps({
                "step": t, "epoch": t / s.steps, "loss": float(rng.normal(0, 0.01)),
                "reward": float(reward[m].mean()), "reward_std": float(reward[m].std()),
                "rewards/accuracy/mean": float(correct[m].mean()), "rewards/format/mean": 1.0,
                "completions/mean_length": float(tokens[m].mean()),
                "completions/clipped_ratio": float(truncated[m].mean()), "frac_reward_zero_std": 0.0,
                "kl": float(abs(rng.normal(0, 0.001)) * t), "learning_rate": 1e-6,
            }) + "\n")  # fmt: skip
    (run_dir / "config.yaml").write_text(
        f"# synthetic run\nseed: {s.seed}\nnum_generations: {s.group_size}\n"
    )
    (run_dir / "run_info.json").write_text(json.dumps({"medzero_version": "synthetic", "spec": asdict(s)}))

    b, c = s.length_effect, s.reward_effect
    cf = np.where(first == gold, 0, 1)
    cl = np.where(final == gold, 0, 1)
    return {
        "completions": n,
        "within_corr": rho,
        "overall_corr": (b * c + rho) / np.sqrt((b * b + 1) * (c * c + 1)),
        "reflection_step": s.reflection_step,
        "reflection_completions": int(reflect.sum()),
        "flips": int(flip.sum()),
        "wrong_to_right": int(((cf == 1) & (cl == 0)).sum()),
        "right_to_wrong": int(((cf == 0) & (cl == 1)).sum()),
        "wrong_to_other_wrong": int((flip & (cf == 1) & (cl == 1)).sum()),
        "matrix": [[int(((cf == i) & (cl == j)).sum()) for j in (0, 1)] for i in (0, 1)],
    }
