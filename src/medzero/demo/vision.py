"""``medzero demo --task vision``: GRPO from pixels on synthetic scans with the tiny VLM.

1. write synthetic scans (:mod:`medzero.data.synthetic_scans`, task ``colour`` by default): a
   training set and a held-out set drawn with other seeds; the question text and options are the
   same for every scan, so only the picture tells the answer (chance: 25%);
2. build the tiny vision-language model (:mod:`medzero.models.tiny_vlm`), its tokenizer trained
   on the prompt text;
3. a supervised *format* warm-up on the images with random answer letters, text tower only (it
   teaches the tags, not the answers: accuracy stays at chance), :func:`vision_format_warmup`;
4. evaluate the warmed-up model on the held-out scans (greedy, strict / last / lenient);
5. GRPO through ``medzero train`` on the training scans (accuracy + format rewards, nucleus
   sampling);
6. evaluate again and compare (``eval compare``: after - before with a paired bootstrap CI over
   the held-out scans); ``OUT/demo.json`` holds ``heldout.before`` / ``heldout.after`` (strict
   accuracy, fractions), ``gain`` and every score and timing; ``OUT/compare.md`` the table.

What was measured over seeds, and what did not learn: docs/multimodal.md, "The vision demo".
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medzero.console import console
from medzero.data.prompts import PromptConfig
from medzero.data.schema import MCQ
from medzero.errors import ConfigError

TEMPLATE = "r1zero-short"


@dataclass
class VisionDemoConfig:
    """Settings of ``medzero demo --task vision`` (``quick`` shrinks every size for CI)."""

    out: Path = field(default=Path("demo-out"), metadata={"help": "Output folder (must be new or a demo's)."})
    seed: int = field(default=0, metadata={"help": "Seeds scans, model, warm-up and GRPO."})
    scan_task: str = field(
        default="colour",
        metadata={"help": "What the scans ask (medzero.data.synthetic_scans.SCAN_TASKS): colour or region."},
    )
    quick: bool = field(default=False, metadata={"help": "Pipeline check for CI (learning not expected)."})
    steps: int | None = field(default=None, metadata={"help": "GRPO steps (default 200; quick: 2)."})
    warmup_steps: int | None = field(
        default=None, metadata={"help": "Warm-up steps (default 100; quick: 2)."}
    )
    n_train: int | None = field(default=None, metadata={"help": "Training scans (default 512; quick: 8)."})
    n_heldout: int | None = field(default=None, metadata={"help": "Held-out scans (default 200; quick: 8)."})
    overwrite: bool = field(
        default=False, metadata={"help": "Replace an earlier demo run in `out` (only a demo's folder)."}
    )

    def __post_init__(self) -> None:
        from medzero.data.synthetic_scans import SCAN_TASKS

        self.out = Path(self.out)
        SCAN_TASKS.get(self.scan_task)  # ConfigError naming the tasks
        defaults = {"steps": (200, 2), "warmup_steps": (100, 2), "n_train": (512, 8), "n_heldout": (200, 8)}
        for name, (full, quick) in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, quick if self.quick else full)
            if getattr(self, name) < 1:
                raise ConfigError(f"demo: {name} must be >= 1, got {getattr(self, name)}")


def vision_format_warmup(
    model_dir: str | Path,
    questions: Sequence[MCQ],
    out_dir: str | Path,
    steps: int,
    seed: int = 0,
    prompt_cfg: PromptConfig | None = None,
    batch_size: int = 8,
    learning_rate: float = 1e-3,
) -> Path:
    """The format warm-up of :mod:`medzero.train.warmup` for a vision-language model: each
    example is a question's prompt with its image, the target ``<think>…</think><answer>X</answer>``
    with a random letter; loss on the target only. Saves model + processor to ``out_dir``."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from medzero.data.images import DEFAULT_MAX_PIXELS, load_image
    from medzero.data.prompts import build_messages, with_images
    from medzero.train.warmup import Restater, warmup_target

    torch.manual_seed(seed)
    rng = random.Random(seed)
    processor = AutoProcessor.from_pretrained(model_dir)
    tok = processor.tokenizer
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32)
    model.train()
    restater = Restater(questions, tok)
    # The text tower only: random letters carry no information about the picture, so training the
    # vision tower and projector on them only teaches those to wash the picture out (measured:
    # afterwards even supervised training on the answer plateaus at 0.5; docs/multimodal.md).
    params = [p for n, p in model.named_parameters() if ".language_model." in f".{n}"]
    optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)
    for _ in range(steps):
        for i in (rng.randrange(len(questions)) for _ in range(batch_size)):
            q = questions[i]
            messages = with_images(build_messages(q, prompt_cfg), q.images)
            text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            images = [load_image(p, DEFAULT_MAX_PIXELS) for p in q.images]
            enc = processor(images=images, text=[text], return_tensors="pt")
            target = tok(warmup_target(restater(q), rng.choice(q.letters)), add_special_tokens=False)[
                "input_ids"
            ]
            target_ids = torch.tensor([[*target, tok.eos_token_id]])
            input_ids = torch.cat([enc["input_ids"], target_ids], dim=1)
            labels = torch.cat([torch.full_like(enc["input_ids"], -100), target_ids], dim=1)
            loss = model(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                pixel_values=enc["pixel_values"],
                labels=labels,
            ).loss
            (loss / batch_size).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def grpo_recipe(cfg: VisionDemoConfig, model_dir: Path, train_file: Path) -> Any:
    """The GRPO recipe of the vision demo (the tiny CPU recipe's settings, image questions)."""
    from medzero.train.recipe import recipe_from_dict

    quick = cfg.quick
    return recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir), "dtype": "float32"},
            "data": {"path": str(train_file), "seed": cfg.seed, "prompt": {"template": TEMPLATE}},
            "rewards": {"accuracy": 1.0, "format": 0.2},
            "guard": {"action": "warn"},
            "grpo": {
                "learning_rate": 3.0e-4,
                "lr_scheduler_type": "constant",
                "beta": 0.0,
                "loss_type": "dapo",
                "num_generations": 4 if quick else 8,
                "per_device_train_batch_size": 8 if quick else 64,
                "max_completion_length": 24,
                "temperature": 0.8,
                # Nucleus sampling cuts the tail of rare tokens: without it ~2% of completions
                # break the format with tokens of probability ~1e-3, whose large log-prob gradients
                # (advantage < 0) swamp the one-token answer signal in the vision path; measured:
                # no image dependence after 60 steps without it, 0.67 greedy with it.
                "top_p": 0.95,
                "max_grad_norm": 1.0,
                "max_steps": cfg.steps,
                "gradient_checkpointing": False,
                "bf16": False,
                "use_cpu": True,
                "seed": cfg.seed,
                "save_steps": cfg.steps,
            },
        }
    )


def run_vision_demo(cfg: VisionDemoConfig) -> dict[str, Any]:
    """Run the six stages into ``cfg.out``; return (and write to ``OUT/demo.json``) the result."""
    from medzero.data.synthetic_scans import SCANS_FILE, write_scans
    from medzero.demo.run import claim_out_dir, evaluate_model, scores_of
    from medzero.evaluate.compare import compare_runs, diffs_to_markdown
    from medzero.models.tiny import corpus_from_questions
    from medzero.models.tiny_vlm import build_tiny_vlm
    from medzero.train.runner import train

    out = cfg.out
    claim_out_dir(out, cfg.overwrite)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str, what: str) -> None:
        nonlocal t0
        timings[name] = round(time.perf_counter() - t0, 2)
        console.print(f"[dim]{what}: {timings[name]:.1f} s[/]")
        t0 = time.perf_counter()

    prompt = PromptConfig(template=TEMPLATE)
    train_qs = write_scans(
        out / "data" / "train", cfg.n_train, seed=cfg.seed, prefix="train", task=cfg.scan_task
    )
    write_scans(
        out / "data" / "heldout", cfg.n_heldout, seed=cfg.seed + 10_000, prefix="heldout", task=cfg.scan_task
    )
    lap("data", f"{cfg.n_train} training / {cfg.n_heldout} held-out scans")
    base = build_tiny_vlm(
        out / "warmup" / "base", seed=cfg.seed, corpus=corpus_from_questions(train_qs, prompt)
    )
    lap("model", "tiny VLM built")
    warm = vision_format_warmup(base, train_qs, out / "warmup" / "model", cfg.warmup_steps, cfg.seed, prompt)
    lap("warmup", f"format warm-up ({cfg.warmup_steps} steps)")
    recipe = grpo_recipe(cfg, warm, out / "data" / "train" / SCANS_FILE)
    held = f"file:{out / 'data' / 'heldout' / SCANS_FILE}"
    before = scores_of(evaluate_model(warm, out / "eval" / "before", [held], recipe, device="cpu"))
    lap("eval_before", "held-out before GRPO")
    info = train(recipe, out / "run", progress=True)
    lap("grpo", f"GRPO ({info['global_step']} steps)")
    after = scores_of(
        evaluate_model(out / "run" / "final", out / "eval" / "after", [held], recipe, device="cpu")
    )
    lap("eval_after", "held-out after GRPO")
    diffs = compare_runs(out / "eval" / "after", out / "eval" / "before", seed=cfg.seed)
    (out / "compare.md").write_text(diffs_to_markdown(diffs, "after GRPO", "before GRPO (warm-up)"))
    gain = next(d.diff for d in diffs if d.mode == "strict")
    result = {
        "task": "vision",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(cfg).items()},
        "heldout": {
            "before": before[held]["strict"]["estimate"],
            "after": after[held]["strict"]["estimate"],
            "n": cfg.n_heldout,
            "chance": 0.25,
        },
        "scores": {"before": before[held], "after": after[held]},
        # after - before on the same held-out scans: paired bootstrap over scans (eval compare)
        "gain": {"estimate": gain.estimate, "low": gain.low, "high": gain.high, "n": gain.n},
        "grpo": {"status": info["status"], "steps": info["global_step"]},
        "timings": timings,
        "paths": {
            "run": str(out / "run"),
            "eval": str(out / "eval"),
            "data": str(out / "data"),
            "compare": str(out / "compare.md"),
        },
    }
    (out / "demo.json").write_text(json.dumps(result, indent=2) + "\n")
    console.print(
        f"held-out strict accuracy (chance 0.25): before GRPO {result['heldout']['before']:.3f}, "
        f"after {result['heldout']['after']:.3f} ({cfg.n_heldout} scans; gain {gain.estimate:+.3f}, "
        f"paired 95% CI [{gain.low:+.3f}, {gain.high:+.3f}]) -> {out / 'demo.json'}"
    )
    return result
