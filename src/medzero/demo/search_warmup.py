"""The search demo's format warm-up (``medzero demo --task search``, :mod:`medzero.demo.search`).

It teaches the call syntax and the layout, never an answer, on *fresh* invented names: every
example asks about a name drawn anew (never a formulary drug), so the model cannot memorise which
name to search and must learn to copy the asked name into its ``search`` query. With the tool
listed (3 examples in 4) the target is the call ``search(query=<the name>)``, then, after a tool
turn that returns ``{Name} is a {random class}.`` (masked from the loss, as TRL masks tool results),
``<think>the entry says {class}</think><answer>{random letter}</answer>``. Without the tool the
target is ``<think>the drug is {name}</think><answer>{random letter}</answer>``.

Half of every batch are **copy drills**: a user turn ``Repeat: "rx-a" "rx-b" ...`` lists 8 fresh
names sharing no syllable and the target repeats them in order. The call copies one name per
example, 3-4 of ~45 target tokens: on its own that signal taught no copying in 950 steps (seed
0). In a drill every name piece of the target is a copy of what followed the same piece in the
prompt, the induction the query needs. With the demo's model (syllable pieces, initial std 0.06) the copy and the
restatement were learned by step 150-400 on seeds 0-2 (docs/tools.md has the runs). A drill
names no drug, class or letter.

It runs at least ``steps`` steps; with ``max_steps``, every ``check_every`` steps it checks, on 64
other fresh names, how many greedy decoding copies exactly into the call and for how many it
restates the class the tool returned (both teacher-forced,
:func:`medzero.train.warmup.predicted_share`), and stops once both reach ``goal``, as the text
warm-up does with its restatement (:func:`medzero.train.warmup.check_due`). GRPO needs both: a
warm-up stopped on the copy alone (seed 0, 2000 steps, a tokenizer without the formulary's names)
wrote "beta" or "ACE" at 50/50 for both of those classes, telling the classes apart by the
entry's length, and GRPO's accuracy stayed at 0.25 for 40 steps.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

from medzero.console import console
from medzero.demo.search import CLASSES, LETTERS, PROMPT, QUESTION, disjoint_names, drug_of, fresh_names
from medzero.jsonl import iter_jsonl


def restatement(cls: str) -> str:
    """What the policy writes after the tool returned an entry of class ``cls`` (the warm-up's
    target and what its restatement check expects)."""
    return f"<think>the entry says {cls}</think>"


class WarmupExamples:
    """Token ids of the warm-up's examples for one tokenizer and tool schema."""

    def __init__(self, tok: Any, fn: Any):
        self.tok, self.fn = tok, fn

    def enc(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def question(self, drug: str) -> list[dict[str, str]]:
        from medzero.data.prompts import PromptConfig, build_messages
        from medzero.data.schema import MCQ

        mcq = MCQ(id=f"warmup-{drug}", question=QUESTION.format(drug=drug),
                  options=dict(zip(LETTERS, CLASSES, strict=True)), answer="A", source="formulary")  # fmt: skip
        return build_messages(mcq, PromptConfig(**PROMPT))

    def with_tool(self, drug: str, cls: str, letter: str) -> tuple[list[int], list[int], list[int], int]:
        """(prompt, call, rest): the prompt with the tool listed, the ``search`` call on ``drug``
        and, after a tool turn returning the entry ``{Drug} is a {cls}.``, the answer turn."""
        from medzero.tools.corpus import Hit
        from medzero.tools.search import format_hits

        tok, fn, prompt = self.tok, self.fn, self.question(drug)
        call = {"type": "function", "function": {"name": "search", "arguments": {"query": drug}}}
        turn = {"role": "assistant", "content": "", "tool_calls": [call]}
        result = format_hits([Hit(drug, 0, 1.0, drug, f"{drug.capitalize()} is a {cls}.")])
        p_text = tok.apply_chat_template(prompt, tools=[self.fn], tokenize=False, add_generation_prompt=True)
        c_text = tok.apply_chat_template([*prompt, turn], tools=[fn], tokenize=False).rstrip("\n")
        t_text = tok.apply_chat_template(
            [*prompt, turn, {"role": "tool", "name": "search", "content": result}],
            tools=[fn],
            tokenize=False,
            add_generation_prompt=True,
        )
        tool_ids = self.enc(t_text[len(c_text) :])
        answer = [
            *self.enc(f"{restatement(cls)}<answer>{letter}</answer>"),
            tok.eos_token_id,
        ]
        return self.enc(p_text), self.enc(c_text[len(p_text) :]), [*tool_ids, *answer], len(tool_ids)

    def example(self, drug: str, rng: random.Random) -> tuple[list[int], list[int]]:
        """One training example (ids, labels) on ``drug``, class and letter drawn at random."""
        tok, letter = self.tok, rng.choice(LETTERS)  # random: the warm-up never teaches an answer
        if rng.random() < 0.25:  # without the tool
            prompt = self.question(drug)
            ids = self.enc(tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))
            target = [
                *self.enc(f"<think>the drug is {drug}</think><answer>{letter}</answer>"),
                tok.eos_token_id,
            ]
            return ids + target, [-100] * len(ids) + target
        p_ids, c_ids, rest, n_tool = self.with_tool(drug, rng.choice(CLASSES), letter)
        labels = [-100] * len(p_ids) + c_ids + [-100] * n_tool + rest[n_tool:]
        return p_ids + c_ids + rest, labels

    def drill(self, names: list[str]) -> tuple[list[int], list[int]]:
        """A copy drill (ids, labels): the user lists ``names``, the target repeats them in order."""
        listed = " ".join(f'"{n}"' for n in names)
        prompt = [{"role": "user", "content": f"Repeat: {listed}"}]
        ids = self.enc(self.tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))
        target = [*self.enc(listed), self.tok.eos_token_id]
        return ids + target, [-100] * len(ids) + target

    def restate_share(self, model: Any, drugs: list[str]) -> float:
        """Share of ``drugs`` (each given a class in turn) whose ``<think>the entry says {class}
        </think>`` greedy decoding writes exactly after the prompt, the call and the tool turn
        that returned the entry (teacher-forced check): the model reads the class from the tool."""
        from medzero.train.warmup import predicted_share

        prompts, targets = [], []
        for i, drug in enumerate(drugs):
            cls = CLASSES[i % len(CLASSES)]
            p_ids, c_ids, rest, n_tool = self.with_tool(drug, cls, LETTERS[0])
            prompts.append(p_ids + c_ids + rest[:n_tool])
            targets.append(self.enc(restatement(cls)))
        return predicted_share(model, prompts, targets, self.tok.pad_token_id)

    def copy_share(self, model: Any, drugs: list[str]) -> float:
        """Share of ``drugs`` whose whole ``search`` call (the query: the drug's name) greedy
        decoding writes exactly after the question's prompt (teacher-forced check)."""
        from medzero.train.warmup import predicted_share

        calls = [self.with_tool(d, CLASSES[0], LETTERS[0])[:2] for d in drugs]
        return predicted_share(model, [p for p, _ in calls], [c for _, c in calls], self.tok.pad_token_id)


def warm_up(
    model_dir: Path,
    data: dict[str, Any],
    out: Path,
    steps: int,
    seed: int,
    max_steps: int = 0,
    goal: float = 0.9,
    check_every: int = 50,
    drill_share: float = 0.5,
    drill_names: int = 8,
) -> Path:
    """The format warm-up of the module docstring on fresh invented names (a new draw for every
    example, none a formulary drug; ``drill_share`` of each batch of 16 are copy drills of
    ``drill_names`` names): at least ``steps`` steps; with ``max_steps``, every ``check_every``
    steps it checks the copy and the restatement on 64 other fresh names and stops once ``goal``
    of them are right in both. Saves model + tokenizer (and ``medzero_warmup.json``: the checks)
    to ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medzero.tools.search import SearchTool, SearchToolConfig
    from medzero.train.warmup import WARMUP_LOG, check_due, right_pad

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.train()
    examples = WarmupExamples(tok, SearchTool(SearchToolConfig(index=str(data["index"]), k=1)).function())
    formulary_drugs = set(data["classes"])
    probe = fresh_names(64, random.Random(seed + 1), formulary_drugs)
    heldout = [drug_of(row["id"]) for _, row in iter_jsonl(data["heldout"])]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    checks: list[dict[str, float]] = []
    step, last = 0, max(steps, max_steps)
    n_drills = round(16 * drill_share)
    unseen = formulary_drugs | set(probe)  # the training draws avoid the formulary and the probe
    while step < last:
        step += 1
        batch = [examples.example(d, rng) for d in fresh_names(16 - n_drills, rng, unseen)]
        batch += [examples.drill(disjoint_names(drill_names, rng, unseen)) for _ in range(n_drills)]
        padded = right_pad([ids for ids, _ in batch], tok.pad_token_id, [lab for _, lab in batch])
        loss = model(**padded).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if check_due(step, steps, max_steps, check_every) or step == last:
            checks.append({"step": step, "copied": examples.copy_share(model, probe),
                           "copied_heldout": examples.copy_share(model, heldout[:64]),
                           "restated": examples.restate_share(model, probe)})  # fmt: skip
            console.print(f"  warm-up step {step}: loss {loss.item():.3f}, {checks[-1]}")
            if checks[-1]["copied"] >= goal and checks[-1]["restated"] >= goal:
                break
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.eval()
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / WARMUP_LOG).write_text(
        json.dumps({"steps": step, "goal": goal, "checks": checks}, indent=2) + "\n"
    )
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)  # a killed warm-up leaves no half-saved model behind
    return out
