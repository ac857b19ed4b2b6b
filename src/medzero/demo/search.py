"""``medzero demo --task search``: a tiny model is to learn, by GRPO with the search tool, to look
up what it cannot know (measured so far: it does not yet; docs/tools.md has the numbers).

The task is a synthetic *formulary*: invented drug names (random syllables; the name carries no
rule) each given one of four classes at random, and a corpus with one entry per drug,
``{Name} is a {class}.``, the only place its class is written. Questions ask for a drug's class,
options in a fixed order A-D. Training and held-out questions use disjoint drugs, so without the
tool a held-out drug's class cannot be known: accuracy stays at chance. With the tool the model
can search the drug's name and read the class from the entry.

Per seed:

1. the formulary, its index (``medzero corpus``), training and held-out questions;
2. the tiny model, its tokenizer trained on the questions, the entries and the call syntax;
3. a supervised format warm-up: with the tool listed, the target calls ``search`` with the
   question's drug name (a word of the question), then after the tool turn restates the entry's
   class and gives a **random** answer letter; without the tool it restates the drug name and
   gives a random letter. It teaches the call syntax and the layout, never the answers: accuracy
   after it is at chance with and without the tool;
4. GRPO through ``medzero train`` with ``tools: {search: ...}`` (TRL's tool loop; tool results
   masked from the loss), rewards accuracy + format;
5. ``medzero eval --tools search`` on the held-out questions after the warm-up and after GRPO:
   accuracy with the tool vs without it on the same questions, paired bootstrap CI.

``OUT/demo.json``: ``heldout`` = the mean over seeds of the strict held-out accuracy after GRPO
without and with the tool (``{"without_tool": x, "with_tool": y}``), and every seed's numbers.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medzero.console import console

CLASSES = ("beta blocker", "statin", "ACE inhibitor", "proton pump inhibitor")
LETTERS = "ABCD"
# No system prompt, no instruction line: the tool list is the prompt's preamble, and a short
# prompt keeps the CPU run short. Training, warm-up and evaluation all use it.
PROMPT = {"system_prompt": "", "instruction": ""}
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr", "pl", "cr")
_VOWELS = ("a", "e", "i", "o", "u", "ae", "io")
_CODAS = ("", "", "n", "r", "x", "l", "s")


@dataclass
class SearchDemoConfig:
    """Settings of ``medzero demo --task search``."""

    out: Path = field(default=Path("demo-search"), metadata={"help": "Output folder."})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "One full run per seed."})
    n_train: int = field(default=240, metadata={"help": "Training drugs (one question each)."})
    n_heldout: int = field(default=100, metadata={"help": "Held-out drugs (never trained on)."})
    warmup_steps: int = field(default=400, metadata={"help": "Supervised format warm-up steps."})
    steps: int = field(default=80, metadata={"help": "GRPO steps (4 questions x 8 completions each)."})
    learning_rate: float = field(default=3e-4, metadata={"help": "GRPO learning rate (constant)."})
    cache_dir: Path | None = field(default=None, metadata={"help": "Tiny-model cache."})

    @classmethod
    def make(cls, out: Path, seed: int, steps: int | None, quick: bool, cache_dir: Path | None):
        """The CLI's settings: 3 seeds from ``seed``; ``quick``: one seed, small sizes (CI)."""
        if quick:
            return cls(
                out, (seed,), n_train=64, n_heldout=32, warmup_steps=30, steps=steps or 4, cache_dir=cache_dir
            )
        return cls(out, (seed, seed + 1, seed + 2), steps=steps or cls.steps, cache_dir=cache_dir)


def drug_names(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct invented names of 3 random syllables."""
    names: set[str] = set()
    while len(names) < n:
        syl = [rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(3)]
        names.add("".join(syl))
    return sorted(names, key=lambda _: rng.random())


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
                "question": f"Which drug class does {d} belong to?",
                "options": dict(zip(LETTERS, CLASSES, strict=True)),
                "answer": LETTERS[classes[d]],
                "source": "formulary",
            }
            for d in drugs
        ]
        files[split] = out / f"{split}.jsonl"
        files[split].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return {"docs": docs, "index": out / "index", "classes": classes, **files}


def drug_of(mcq: Any) -> str:
    """The drug a formulary question asks about (its id is ``{split}-{drug}``)."""
    return str(mcq.id).split("-", 1)[1]


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
    texts += [json.loads(line)["text"] for line in data["docs"].read_text().splitlines()]
    texts += [f"<tool_call>{_call_text(drug_of(q))}</tool_call>" for q in mcqs]
    # the tool list as the template renders it (same schema as the demo's tool), so BPE merges it
    texts += [json.dumps(SearchTool(SearchToolConfig(index=str(data["index"]))).schema())] * 50
    return texts


def warm_up(model_dir: Path, data: dict[str, Any], out: Path, steps: int, seed: int) -> Path:
    """The format warm-up of the module docstring; saves model + tokenizer to ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medzero.data.loaders import load_mcqs
    from medzero.data.prompts import PromptConfig, build_messages
    from medzero.tools.search import SearchTool, SearchToolConfig
    from medzero.train.warmup import right_pad

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.train()
    tool = SearchTool(SearchToolConfig(index=str(data["index"]), k=1))
    fn = tool.function()
    mcqs = list(load_mcqs(data["train"]).records)
    enc = lambda text: tok(text, add_special_tokens=False)["input_ids"]  # noqa: E731

    def example(q: Any) -> tuple[list[int], list[int]]:
        drug = drug_of(q)
        prompt = build_messages(q, PromptConfig(**PROMPT))
        letter = rng.choice(LETTERS)  # random: the warm-up never teaches an answer
        if rng.random() < 0.25:  # without the tool
            ids = enc(tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))
            target = [*enc(f"<think>the drug is {drug}</think><answer>{letter}</answer>"), tok.eos_token_id]
            return ids + target, [-100] * len(ids) + target
        call = {"type": "function", "function": {"name": "search", "arguments": {"query": drug}}}
        turn = {"role": "assistant", "content": "", "tool_calls": [call]}
        result = fn(drug)
        p_text = tok.apply_chat_template(prompt, tools=[fn], tokenize=False, add_generation_prompt=True)
        c_text = tok.apply_chat_template([*prompt, turn], tools=[fn], tokenize=False).rstrip("\n")
        t_text = tok.apply_chat_template(
            [*prompt, turn, {"role": "tool", "name": "search", "content": result}],
            tools=[fn],
            tokenize=False,
            add_generation_prompt=True,
        )
        entry_class = result.split(" is a ", 1)[-1].rstrip(".")
        p_ids, c_ids, t_ids = enc(p_text), enc(c_text[len(p_text) :]), enc(t_text[len(c_text) :])
        a_ids = [
            *enc(f"<think>the entry says {entry_class}</think><answer>{letter}</answer>"),
            tok.eos_token_id,
        ]
        ids = p_ids + c_ids + t_ids + a_ids
        labels = [-100] * len(p_ids) + c_ids + [-100] * len(t_ids) + a_ids
        return ids, labels

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    for _ in range(steps):
        batch = [example(rng.choice(mcqs)) for _ in range(16)]
        padded = right_pad([ids for ids, _ in batch], tok.pad_token_id, [lab for _, lab in batch])
        loss = model(**padded).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.eval()
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)  # a killed warm-up leaves no half-saved model behind
    return out


def grpo(model_dir: Path, data: dict[str, Any], out: Path, steps: int, seed: int, lr: float = 3e-4) -> Path:
    """GRPO with the search tool through ``medzero train``; returns the final model folder."""
    from medzero.train.recipe import recipe_from_dict
    from medzero.train.runner import train

    recipe = recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir)},
            "data": {"path": str(data["train"]), "prompt": dict(PROMPT)},
            "tools": {"search": {"index": str(data["index"]), "k": 1, "max_calls": 1}},
            "rewards": {"accuracy": 1.0, "format": 0.2},
            "guard": {"action": "warn"},
            "grpo": {
                "max_steps": steps,
                "learning_rate": lr,
                "lr_scheduler_type": "constant",
                "beta": 0.0,
                "loss_type": "dapo",
                "per_device_train_batch_size": 32,
                "num_generations": 8,
                "max_completion_length": 96,
                "temperature": 0.8,
                "max_grad_norm": 1.0,
                "gradient_checkpointing": False,
                "save_strategy": "no",
                "seed": seed,
            },
        },
        source=str(out / "recipe.yaml"),
    )
    train(recipe, out, progress=False)
    return out / "final"


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
            max_new_tokens=96,
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
    pair = t["with_vs_without"]["strict"]
    return {
        "with_tool": pair["with_tool"],
        "without_tool": pair["without_tool"],
        "difference": pair["difference"],
        "searches_per_question": t["searches_per_question"],
        "n": pair["n_shared"],
    }


def run_search_demo(cfg: SearchDemoConfig) -> dict[str, Any]:
    """Every seed end to end; writes and returns ``OUT/demo.json``'s content."""
    from medzero.jsonl import write_json_atomic
    from medzero.models.tiny import ensure_tiny_model

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
            model = ensure_tiny_model(cfg.cache_dir, seed=seed, corpus=tokenizer_corpus(data))
            console.print(f"seed {seed}: warm-up ({cfg.warmup_steps} steps)")
            warm_up(model, data, warmed, cfg.warmup_steps, seed)
        final = run / "train" / "final"
        if not (final / "tokenizer.json").is_file():
            shutil.rmtree(run / "train", ignore_errors=True)  # no checkpoints are kept: start again
            console.print(f"seed {seed}: GRPO ({cfg.steps} steps)")
            grpo(warmed, data, run / "train", cfg.steps, seed, cfg.learning_rate)
        after = heldout_scores(final, data, run / "eval-grpo")
        console.print(f"seed {seed}: after GRPO {after}")
        before = heldout_scores(warmed, data, run / "eval-warmup")
        console.print(f"seed {seed}: after the warm-up {before}")
        seeds[str(seed)] = {"warmup": before, "grpo": after, "seconds": round(time.perf_counter() - t0, 1)}
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
