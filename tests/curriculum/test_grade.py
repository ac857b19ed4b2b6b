"""`medzero data grade`: pass rates through the eval engine, bins, manifest, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medzero.curriculum.bins import BINS
from medzero.curriculum.grade import GradeConfig, grade
from medzero.curriculum.sampler import DifficultyTable
from medzero.data.synthetic import drug_class_questions
from medzero.evaluate.backends import Generation
from medzero.jsonl import iter_jsonl, write_jsonl


class ScriptedBackend:
    """Answers question i correctly in `right[i]` of K samples (the rest answer a wrong letter)."""

    name = "scripted"
    think_preopened = False

    def __init__(self, right_by_drug: dict[str, int], golds: dict[str, str]):
        self.right, self.golds, self.calls = right_by_drug, golds, 0

    def generate(self, prompts, n=1, temperature=0.0, max_new_tokens=512, seed=0, seeds=None):
        self.calls += 1
        out = []
        for messages in prompts:
            text = messages[-1]["content"]
            drug = next(d for d in self.right if d in text)
            gold = self.golds[drug]
            wrong = "A" if gold != "A" else "B"
            # samples are generated n at a time; a question's sample s is correct when s < right
            out.append(
                [
                    Generation(
                        f"<think>{drug}</think><answer>{gold if s < self.right[drug] else wrong}</answer>",
                        10,
                        5,
                        "stop",
                    )
                    for s in range(n)
                ]
            )
        return out

    def close(self) -> None:
        pass


@pytest.fixture()
def questions(tmp_path: Path) -> tuple[Path, list]:
    mcqs = drug_class_questions(6, seed=3, split="train")
    path = tmp_path / "q.jsonl"
    write_jsonl(path, [m.to_dict() for m in mcqs])
    return path, mcqs


def test_pass_rates_bins_and_manifest(tmp_path, questions):
    path, mcqs = questions
    right = [4, 3, 2, 1, 0, 4]  # of K=4 -> 1.0, 0.75, 0.5, 0.25, 0.0, 1.0
    backend = ScriptedBackend(
        {m.meta["drug"]: r for m, r in zip(mcqs, right, strict=True)},
        {m.meta["drug"]: m.answer for m in mcqs},
    )
    out = tmp_path / "graded"
    manifest = grade(GradeConfig(dataset=str(path), model="scripted", out=str(out), k=4), backend=backend)
    rows = [r for _, r in iter_jsonl(out / "train.jsonl")]
    assert [r["id"] for r in rows] == [m.id for m in mcqs]
    assert [r["pass_rate"] for r in rows] == [1.0, 0.75, 0.5, 0.25, 0.0, 1.0]
    assert [r["difficulty"] for r in rows] == ["easy", "easy", "medium", "medium", "unsolved", "easy"]
    assert all(len(r["grade_answers"]) == 4 for r in rows)
    assert rows[3]["grade_answers"].count(mcqs[3].answer) == 1 and rows[3]["grade_correct"] == 1
    g = manifest["grade"]
    assert g["bins"] == {"easy": 3, "medium": 2, "hard": 0, "unsolved": 1}
    assert sum(g["bins"].values()) == len(mcqs)  # bins add up
    assert g["k"] == 4 and g["sampling"] == {"temperature": 1.0, "max_new_tokens": 1024, "seed": 0}
    assert manifest["train_ids"] == {"synthetic": [m.id for m in mcqs]}
    assert g["chance_pass_rate"] == 0.25 and sum(g["answer_letters"].values()) == 6 * 4
    assert json.loads((out / "manifest.json").read_text()) == manifest
    # the grades survive the MCQ round trip of the training data path (kept in meta)
    table = DifficultyTable.from_dataset([{"id": r["id"], "meta": r["meta"]} for r in rows])
    assert list(table.bins) == [r["difficulty"] for r in rows]


def test_rerun_resumes_from_items(tmp_path, questions):
    path, mcqs = questions
    drugs = {m.meta["drug"]: 2 if i < 3 else 0 for i, m in enumerate(mcqs)}  # all right / all wrong
    golds = {m.meta["drug"]: m.answer for m in mcqs}
    out = tmp_path / "graded"
    cfg = GradeConfig(dataset=str(path), model="scripted", out=str(out), k=2, batch_size=2)
    grade(cfg, backend=ScriptedBackend(drugs, golds))
    items = out / "items.jsonl"
    lines = items.read_text().splitlines()
    assert len(lines) == 6 * 2
    # a kill mid-run: the last items are gone and the final line is torn
    items.write_text("\n".join(lines[:7]) + "\n" + lines[7][:20])
    again = ScriptedBackend(drugs, golds)
    manifest = grade(cfg, backend=again)
    keys = [(r["id"], r["sample"]) for _, r in iter_jsonl(items)]
    assert sorted(keys) == sorted({(m.id, s) for m in mcqs for s in range(2)})  # each exactly once
    assert again.calls >= 1 and manifest["grade"]["bins"] == {
        "easy": 3,
        "medium": 0,
        "hard": 0,
        "unsolved": 3,
    }
    # nothing left: a third run generates nothing
    idle = ScriptedBackend(drugs, golds)
    grade(cfg, backend=idle)
    assert idle.calls == 0


def test_other_settings_on_the_same_out_are_refused(tmp_path, questions):
    from medzero.errors import ConfigError

    path, mcqs = questions
    backend = ScriptedBackend({m.meta["drug"]: 1 for m in mcqs}, {m.meta["drug"]: m.answer for m in mcqs})
    out = str(tmp_path / "g")
    grade(GradeConfig(dataset=str(path), model="scripted", out=out, k=2), backend=backend)
    with pytest.raises(ConfigError, match="temperature"):
        grade(
            GradeConfig(dataset=str(path), model="scripted", out=out, k=2, temperature=0.5), backend=backend
        )


def test_tiny_model_through_the_hf_backend(tmp_path, tiny_model_dir, questions):
    path, mcqs = questions
    cfg = GradeConfig(
        dataset=str(path),
        model=str(tiny_model_dir),
        out=str(tmp_path / "g"),
        k=3,
        max_new_tokens=12,
        device="cpu",
    )
    manifest = grade(cfg)
    rows = [r for _, r in iter_jsonl(tmp_path / "g" / "train.jsonl")]
    assert len(rows) == len(mcqs) and sum(manifest["grade"]["bins"].values()) == len(mcqs)
    for r in rows:
        assert r["difficulty"] in BINS and r["pass_rate"] == r["grade_correct"] / 3
        assert len(r["grade_answers"]) == 3


def test_grades_near_chance_come_with_a_warning(tmp_path, questions, capsys):
    path, mcqs = questions
    backend = ScriptedBackend({m.meta["drug"]: 1 for m in mcqs}, {m.meta["drug"]: m.answer for m in mcqs})
    grade(GradeConfig(dataset=str(path), model="scripted", out=str(tmp_path / "g"), k=4), backend=backend)
    assert "near chance" in capsys.readouterr().err


def test_grading_carries_the_whole_prompt_configuration(tmp_path):
    from medzero.curriculum.grade import GradeConfig
    from medzero.data.prompts import PromptConfig

    cfg = GradeConfig(dataset="x", model="m", out=str(tmp_path), prompt=PromptConfig(system_role="user"))
    ecfg = cfg.eval_config(tmp_path / "q.jsonl")
    assert ecfg.prompt.system_role == "user" and cfg.template == "r1zero"


class ScriptedImageBackend(ScriptedBackend):
    """The scripted answers for image questions (the user turn is image parts + a text part)."""

    def generate(self, prompts, n=1, **kw):
        def text_only(m):
            if not isinstance(m["content"], list):
                return m
            return {**m, "content": " ".join(p.get("text", "") for p in m["content"])}

        return super().generate([[text_only(m) for m in messages] for messages in prompts], n, **kw)


def test_graded_image_questions_keep_image_paths_relative_to_out(tmp_path):
    from PIL import Image

    from medzero.data.prepare import prepared_mcqs

    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(data / "scan.png")
    mcqs = drug_class_questions(3, seed=3, split="train")
    write_jsonl(data / "q.jsonl", [{**m.to_dict(), "images": ["scan.png"]} for m in mcqs])
    backend = ScriptedImageBackend(
        {m.meta["drug"]: 1 for m in mcqs}, {m.meta["drug"]: m.answer for m in mcqs}
    )
    out = tmp_path / "graded"
    grade(GradeConfig(dataset=str(data / "q.jsonl"), model="scripted", out=str(out), k=2), backend=backend)
    rows = [r for _, r in iter_jsonl(out / "train.jsonl")]
    assert [r["images"] for r in rows] == [["../data/scan.png"]] * 3  # not an absolute path
    scan = (data / "scan.png").resolve()
    assert [[Path(p).resolve() for p in m.images] for m in prepared_mcqs(out)] == [[scan]] * 3
