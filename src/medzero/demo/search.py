"""``medzero demo --task search``: a tiny model is to learn, by GRPO with the search tool, to look
up what it cannot know (docs/tools.md has what was measured).

The task is a synthetic *formulary*: invented drug names (a fixed code prefix and three random
syllables, ``rx-lizibu``: the name carries no rule) each given one of four classes at random, and
a corpus with one entry per drug, ``{Name} is a {class}.``, the only place its class is written.
Questions ask for a drug's class, options in a fixed order A-D. Training and held-out questions
use disjoint drugs, so without the tool a held-out drug's class cannot be known: accuracy stays at
chance. With the tool the model can search the drug's name and read the class from the entry.

Per seed:

1. the formulary, its index (``medzero corpus``), training and held-out questions;
2. the tiny model (:func:`tiny_model`), its tokenizer trained on the questions, the entries, the
   call syntax and 2000 fresh invented names, each name syllable a piece of its own (a name is
   the same pieces in the question, the query and the entry), its weights drawn with std 0.06;
3. a supervised format warm-up on fresh invented names, never a formulary drug
   (:mod:`medzero.demo.search_warmup`): it teaches copying the asked name into the ``search``
   call (helped by copy drills), restating the class the tool returned, and the answer layout
   with a **random** letter. It never teaches an answer; it runs until 90% of fresh names are
   both copied exactly and restated right (or a cap);
4. GRPO through ``medzero train`` with ``tools: {search: ...}`` (TRL's tool loop; tool results
   masked from the loss), 16 questions x 8 completions a step, rewards accuracy + format,
   stopped early once the training accuracy of 5 steps reaches 0.9;
5. ``medzero eval --tools search`` on the held-out questions after the warm-up and after GRPO:
   accuracy with the tool vs without it on the same questions, paired bootstrap CI, and the share
   of questions whose search returned the asked drug's entry.

``OUT/demo.json``: ``heldout`` = the mean over seeds of the strict held-out accuracy after GRPO
without and with the tool (``{"without_tool": x, "with_tool": y}``), and every seed's numbers
(the warm-up's copy checks, GRPO's steps and retrieval share, both evaluations).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medzero.console import console
from medzero.jsonl import iter_jsonl

CLASSES = ("beta blocker", "statin", "ACE inhibitor", "proton pump inhibitor")
LETTERS = "ABCD"
QUESTION = 'Which drug class does "{drug}" belong to?'
# No system prompt, no instruction line: the tool list is the prompt's preamble, and a short
# prompt keeps the CPU run short. Training, warm-up and evaluation all use it.
PROMPT = {"system_prompt": "", "instruction": ""}
# A name is a fixed code prefix, a hyphen and three random consonant-vowel syllables
# ("rx-lizibu"). The prefix is the same for every drug (it carries no class); it makes copying the
# name into the query an induction: after "rx-" the model writes what followed "rx-" in the
# question, and "-" appears nowhere else in the prompt. Without it, the first piece of the name
# had to be found by position among the tool list's many quoted words, and 500-700 warm-up steps
# copied 0-20% of names.
PREFIX = "rx-"
# The tokenizer keeps each syllable of a name a piece of its own (the 2-letter runs after the
# prefix), so a formulary name and a fresh warm-up name are cut alike: three syllable pieces that
# the warm-up's copy drills have all practised. Left to BPE, names seen in the tokenizer's corpus
# were merged into longer, rarer pieces than fresh names: the warm-up copied 91% of fresh names
# but 72% of held-out formulary names, and GRPO retrieved the asked drug's entry 22-32% of the time.
NAME_SYLLABLE = "(?i)(?<={p}|{p}[a-z]{{2}}|{p}[a-z]{{4}})[a-z]{{2}}".format(p=re.escape(PREFIX))
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z")
_VOWELS = ("a", "e", "i", "o", "u")


@dataclass
class SearchDemoConfig:
    """Settings of ``medzero demo --task search``."""

    out: Path = field(default=Path("demo-search"), metadata={"help": "Output folder."})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "One full run per seed."})
    n_train: int = field(default=240, metadata={"help": "Training drugs (one question each)."})
    n_heldout: int = field(default=100, metadata={"help": "Held-out drugs (never trained on)."})
    warmup_steps: int = field(default=100, metadata={"help": "Format warm-up: at least this many steps."})
    warmup_max_steps: int = field(
        default=2000, metadata={"help": "Format warm-up: at most this many steps (0: exactly warmup_steps)."}
    )
    copy_goal: float = field(
        default=0.9,
        metadata={"help": "The warm-up stops once this share of 64 fresh names is copied and restated."},
    )
    steps: int = field(
        default=300, metadata={"help": "GRPO steps at most (16 questions x 8 completions each)."}
    )
    stop_at: float = field(
        default=0.9, metadata={"help": "GRPO stops once its training accuracy, over 5 steps, reaches this."}
    )
    learning_rate: float = field(default=7e-4, metadata={"help": "GRPO learning rate (constant)."})
    cache_dir: Path | None = field(default=None, metadata={"help": "Tiny-model cache."})

    @classmethod
    def make(cls, out: Path, seed: int, steps: int | None, quick: bool, cache_dir: Path | None):
        """The CLI's settings: 3 seeds from ``seed``; ``quick``: one seed, small sizes (CI)."""
        if quick:
            return cls(out, (seed,), n_train=64, n_heldout=32, warmup_steps=30, warmup_max_steps=0,
                       steps=steps or 4, cache_dir=cache_dir)  # fmt: skip
        return cls(out, (seed, seed + 1, seed + 2), steps=steps or cls.steps, cache_dir=cache_dir)


def drug_names(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct invented names of 3 random syllables, no syllable twice in a name (so each
    piece of the name says which piece follows it: copying is an induction)."""
    names: set[str] = set()
    while len(names) < n:
        syl = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(3)]
        if len(set(syl)) == 3:
            names.add(PREFIX + "".join(syl))
    ordered = sorted(names)  # not the set's order: it follows the process's string hashing
    rng.shuffle(ordered)
    return ordered


def formulary(cfg: SearchDemoConfig, seed: int, out: Path) -> dict[str, Any]:
    """Write the corpus, its index and the question files; return their paths and the drugs."""
    from medzero.tools.corpus import build_index
    from medzero.tools.documents import read_documents

    rng = random.Random(seed)
    names = drug_names(cfg.n_train + cfg.n_heldout, rng)
    classes = {d: rng.randrange(len(CLASSES)) for d in names}
    out.mkdir(parents=True, exist_ok=True)
    docs = out / "formulary.jsonl"
    docs.write_text(
        "".join(
            json.dumps({"id": d, "title": d, "text": f"{d.capitalize()} is a {CLASSES[c]}."}) + "\n"
            for d, c in classes.items()
        ),
        encoding="utf-8",
    )
    read, skipped, sources = read_documents([docs])
    build_index(read, out / "index", sources=sources, skipped=skipped, overwrite=True)
    files = {}
    for split, drugs in (("train", names[: cfg.n_train]), ("heldout", names[cfg.n_train :])):
        rows = [
            {
                "id": f"{split}-{d}",
                "question": QUESTION.format(drug=d),
                "options": dict(zip(LETTERS, CLASSES, strict=True)),
                "answer": LETTERS[classes[d]],
                "source": "formulary",
            }
            for d in drugs
        ]
        files[split] = out / f"{split}.jsonl"
        files[split].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return {"docs": docs, "index": out / "index", "classes": classes, **files}


def drug_of(qid: Any) -> str:
    """The drug a formulary question asks about, from its id ``{split}-{drug}``."""
    return str(qid).split("-", 1)[1]


def _call_text(drug: str) -> str:
    return json.dumps({"name": "search", "arguments": {"query": drug}})


def tokenizer_corpus(data: dict[str, Any]) -> list[str]:
    """Questions (rendered as prompts are), formulary entries and the call syntax."""
    from medzero.data.loaders import load_mcqs
    from medzero.data.prompts import PromptConfig
    from medzero.models.tiny import corpus_from_questions
    from medzero.tools.search import SearchTool, SearchToolConfig

    mcqs = list(load_mcqs(data["train"]).records)
    texts = corpus_from_questions(mcqs, PromptConfig(**PROMPT))
    texts += [row["text"] for _, row in iter_jsonl(data["docs"])]
    texts += [f"<tool_call>{_call_text(drug_of(q.id))}</tool_call>" for q in mcqs]
    # the warm-up's fresh names, in the question and in the call: the pieces come from the name
    # syllables in general, not from the formulary's own names
    fresh = fresh_names(2000, random.Random(-1), set(data["classes"]))
    texts += [f"{QUESTION.format(drug=d)} <tool_call>{_call_text(d)}</tool_call>" for d in fresh]
    # the tool list as the template renders it (same schema as the demo's tool), so BPE merges it
    texts += [json.dumps(SearchTool(SearchToolConfig(index=str(data["index"]))).schema())] * 50
    return texts


def tiny_model(data: dict[str, Any], seed: int, cache_dir: Path | None) -> Path:
    """The untrained tiny model (cached): its tokenizer trained on :func:`tokenizer_corpus`, each
    name syllable a piece of its own; initial weights of std 0.06, not 0.02. The copy and the
    restatement are both learned by a copy circuit that forms suddenly after a plateau; from
    std 0.02 the plateau lasted 850-950 warm-up steps on seeds 0 and 2 and over 1700 on seed 1,
    from 0.06 seed 1 restated and copied by step 150 (docs/tools.md)."""
    from medzero.models.tiny import TinyModelConfig, ensure_tiny_model

    config = TinyModelConfig(isolate=(NAME_SYLLABLE,), initializer_range=0.06)
    return ensure_tiny_model(cache_dir, seed=seed, config=config, corpus=tokenizer_corpus(data))


def fresh_names(n: int, rng: random.Random, exclude: set[str]) -> list[str]:
    """``n`` invented names drawn as the formulary's are, none of them in ``exclude``: the warm-up
    practises the call on these, never on a formulary drug."""
    names: list[str] = []
    while len(names) < n:
        names += [d for d in drug_names(n - len(names), rng) if d not in exclude and d not in names]
    return names


def syllables(name: str) -> list[str]:
    """The three syllables of an invented name."""
    body = name[len(PREFIX) :]
    return [body[i : i + 2] for i in range(0, len(body), 2)]


def disjoint_names(n: int, rng: random.Random, exclude: set[str]) -> list[str]:
    """``n`` fresh names (as :func:`fresh_names`) no two of which share a syllable: in a copy
    drill listing them, every syllable then says which piece follows it."""
    names: list[str] = []
    used: set[str] = set()
    while len(names) < n:
        (name,) = fresh_names(1, rng, exclude | set(names))
        if not used & set(syllables(name)):
            names.append(name)
            used.update(syllables(name))
    return names


def accuracy_stop(goal: float, window: int) -> Any:
    """A ``TrainerCallback`` that stops GRPO once the training accuracy reward, averaged over the
    last ``window`` logged steps, reaches ``goal`` (the demo's early stop: held-out accuracy is
    measured after training, on drugs never trained on)."""
    from transformers import TrainerCallback

    class AccuracyStop(TrainerCallback):
        def __init__(self) -> None:
            self.seen: list[float] = []
            self.stopped_at: int | None = None

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "rewards/accuracy/mean" not in logs:
                return
            self.seen.append(float(logs["rewards/accuracy/mean"]))
            if len(self.seen) >= window and sum(self.seen[-window:]) / window >= goal:
                self.stopped_at = state.global_step
                control.should_training_stop = True

    return AccuracyStop()


def grpo_recipe(
    model_dir: Path, data: dict[str, Any], steps: int, seed: int, lr: float = 7e-4
) -> dict[str, Any]:
    """The demo's GRPO recipe (as ``medzero train`` reads it) with the search tool."""
    return {
        "model": {"name_or_path": str(model_dir)},
        "data": {"path": str(data["train"]), "prompt": dict(PROMPT)},
        "tools": {"search": {"index": str(data["index"]), "k": 1, "max_calls": 1}},
        "rewards": {"accuracy": 1.0, "format": 0.2},
        "guard": {"action": "warn"},
        "grpo": {
            "max_steps": steps,
            "learning_rate": lr,
            "lr_scheduler_type": "constant",
            # the KL to the warm-up keeps the copied query and pulls letters that a group pushed
            # down back towards the warm-up's near-uniform letters: at 0.1 (recipes/tiny-cpu.yaml)
            # seeds 1 and 2 still stopped sampling A by step 70, even at temperature 0.8
            "beta": 0.3,
            "loss_type": "dapo",
            "per_device_train_batch_size": 128,  # 16 questions x 8 completions
            "num_generations": 8,
            # TRL counts the tool turn in this budget and cuts the answer after it to what is
            # left: a whole tool-using completion (call, tool turn, answer: ~70 tokens with the
            # demo's tokenizer) must fit, or no completion that searched is ever scored right
            "max_completion_length": 96,
            # 0.8, not 0.5: at 0.5 a letter that the first steps pushed down was no longer
            # sampled and never came back (seeds 0 and 1 lost B and A: training accuracy held at
            # 0.54 and 0.75); at 1.0 the sampled queries copied the name less (retrieval 0.44-0.57)
            "temperature": 0.8,
            "max_grad_norm": 1.0,
            "gradient_checkpointing": False,
            "save_strategy": "no",
            "seed": seed,
        },
    }


def grpo(
    model_dir: Path, data: dict[str, Any], out: Path, steps: int, seed: int, lr: float = 7e-4,
    stop_at: float = 0.9,
) -> Path:  # fmt: skip
    """GRPO with the search tool through ``medzero train`` (at most ``steps`` steps; it stops
    early once the mean training accuracy of the last 5 steps reaches ``stop_at``); returns the
    final model folder."""
    from medzero.train.recipe import recipe_from_dict
    from medzero.train.runner import train

    recipe = recipe_from_dict(grpo_recipe(model_dir, data, steps, seed, lr), source=str(out / "recipe.yaml"))
    stop = accuracy_stop(stop_at, 5)
    train(recipe, out, progress=False, callbacks=[stop])
    return out / "final"


def retrieved(row: dict[str, Any], id_key: str) -> bool:
    """Whether a completion (``completions.jsonl``: ``id_key="prompt_id"``) or an evaluated item
    (``items.jsonl``: ``"id"``) searched and got the asked drug's entry first."""
    drug = drug_of(row[id_key])
    return any(c.get("ids", [])[:1] == [drug] for c in row.get("tool_calls") or [])


def grpo_summary(run: Path, window: int = 10) -> dict[str, Any]:
    """From a GRPO run's ``completions.jsonl``: the steps run, and over its first and its last
    ``window`` steps the share of completions that retrieved the asked drug's entry and their
    mean accuracy reward."""
    rows = [row for _, row in iter_jsonl(run / "completions.jsonl")]
    steps = sorted({r["step"] for r in rows})

    def over(chosen: set[int]) -> dict[str, float]:
        part = [r for r in rows if r["step"] in chosen]
        acc = [r["rewards"].get("accuracy") or 0.0 for r in part]
        return {"retrieved": round(sum(retrieved(r, "prompt_id") for r in part) / len(part), 4),
                "accuracy": round(sum(acc) / len(acc), 4)}  # fmt: skip

    return {"steps": len(steps), "first": over(set(steps[:window])), "last": over(set(steps[-window:]))}


def heldout_scores(model_dir: Path, data: dict[str, Any], out: Path) -> dict[str, Any]:
    """Strict held-out accuracy with and without the tool and the paired difference."""
    from medzero.data.prompts import PromptConfig
    from medzero.evaluate.config import EvalConfig
    from medzero.evaluate.runner import evaluate

    bench = f"file:{data['heldout']}"
    summary = evaluate(
        EvalConfig(
            model=str(model_dir),
            out=str(out),
            benchmarks=[bench],
            max_new_tokens=96,  # the model's own tokens over both turns (the tool's do not count)
            prompt=PromptConfig(**PROMPT),
            batch_size=32,
            device="cpu",
            tools="search",
            index=str(data["index"]),
            tool_k=1,
            max_calls=1,
        )
    )
    t = summary.tools[bench]
    items = [row for _, row in iter_jsonl(out / "items.jsonl")]
    pair = t["with_vs_without"]["strict"]
    return {
        "with_tool": pair["with_tool"],
        "without_tool": pair["without_tool"],
        "difference": pair["difference"],
        "searches_per_question": t["searches_per_question"],
        "retrieved": round(sum(map(retrieved, items, ["id"] * len(items))) / max(len(items), 1), 4),
        "n": pair["n_shared"],
    }


def run_search_demo(cfg: SearchDemoConfig) -> dict[str, Any]:
    """Every seed end to end; writes and returns ``OUT/demo.json``'s content."""
    from medzero.demo.search_warmup import warm_up
    from medzero.jsonl import write_json_atomic
    from medzero.train.warmup import WARMUP_LOG

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds: dict[str, Any] = {}
    for seed in cfg.seeds:
        t0 = time.perf_counter()
        run = out / f"seed{seed}"
        done = run / "result.json"
        if done.is_file():  # finished earlier (an interrupted demo resumes per seed)
            seeds[str(seed)] = json.loads(done.read_text(encoding="utf-8"))
            continue
        data = formulary(cfg, seed, run / "data")
        warmed = run / "warmup"
        if not (warmed / "tokenizer.json").is_file():  # an earlier, interrupted demo may have it
            model = tiny_model(data, seed, cfg.cache_dir)
            console.print(f"seed {seed}: warm-up ({cfg.warmup_steps}-{cfg.warmup_max_steps} steps)")
            warm_up(model, data, warmed, cfg.warmup_steps, seed, cfg.warmup_max_steps, cfg.copy_goal)
        final = run / "train" / "final"
        if not (final / "tokenizer.json").is_file():
            shutil.rmtree(run / "train", ignore_errors=True)  # no checkpoints are kept: start again
            console.print(f"seed {seed}: GRPO (at most {cfg.steps} steps)")
            grpo(warmed, data, run / "train", cfg.steps, seed, cfg.learning_rate, cfg.stop_at)
        after = heldout_scores(final, data, run / "eval-grpo")
        console.print(f"seed {seed}: after GRPO {after}")
        before = heldout_scores(warmed, data, run / "eval-warmup")
        console.print(f"seed {seed}: after the warm-up {before}")
        seeds[str(seed)] = {
            "warmup": before,
            "grpo": after,
            "warmup_copy": json.loads((warmed / WARMUP_LOG).read_text(encoding="utf-8")),
            "grpo_run": grpo_summary(run / "train"),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        write_json_atomic(done, seeds[str(seed)])
    result = {
        "task": "search",
        "heldout": {
            key: sum(s["grpo"][key] for s in seeds.values()) / len(seeds)
            for key in ("without_tool", "with_tool")
        },
        "chance": 1 / len(CLASSES),
        "seeds": seeds,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
    }
    write_json_atomic(out / "demo.json", result)
    return result
