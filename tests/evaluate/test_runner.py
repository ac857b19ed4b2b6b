import json

import pytest
from tests.evaluate.conftest import ScriptedBackend

from medzero.errors import ConfigError
from medzero.evaluate.backends import Generation
from medzero.evaluate.config import EvalConfig
from medzero.evaluate.runner import evaluate, read_items
from medzero.evaluate.scoring import BackendFailure


def _cfg(out, question_file, **kw):
    kw.setdefault("max_new_tokens", 16)
    return EvalConfig(model="scripted", out=str(out), benchmarks=[f"file:{question_file}"], **kw)


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_run_writes_the_out_dir_and_a_rerun_skips_scored_items(tmp_path, question_file):
    out = tmp_path / "out"
    summary = evaluate(_cfg(out, question_file), backend=ScriptedBackend())
    assert {p.name for p in out.iterdir()} >= {
        "items.jsonl",
        "run.json",
        "summary.json",
        "summary.md",
        "summary.csv",
    }
    assert len(_lines(out / "items.jsonl")) == 10
    name = f"file:{question_file}"
    assert summary.score(name, "strict") == 0.5  # always "A", gold alternates A/B
    again = ScriptedBackend()
    summary2 = evaluate(_cfg(out, question_file), backend=again)
    assert again.calls == [] and len(_lines(out / "items.jsonl")) == 10
    assert summary2.to_dict()["benchmarks"] == summary.to_dict()["benchmarks"]
    run = json.loads((out / "run.json").read_text())
    assert run["identity"]["model"] == "scripted" and "api_key" not in run["config"]


def test_a_torn_tail_is_cut_and_the_item_redone_exactly_once(tmp_path, question_file):
    out = tmp_path / "out"
    evaluate(_cfg(out, question_file, limit=6), backend=ScriptedBackend())
    items = out / "items.jsonl"
    text = items.read_text()
    items.write_text(text[: len(text) - 40])  # a kill in the middle of the last line
    evaluate(_cfg(out, question_file), backend=ScriptedBackend())  # and extend to all 10
    ids = [r["id"] for r in _lines(items)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(10)) and len(ids) == len(set(ids))


def test_other_output_changing_settings_are_refused(tmp_path, question_file):
    out = tmp_path / "out"
    evaluate(_cfg(out, question_file, limit=2), backend=ScriptedBackend())
    with pytest.raises(ConfigError, match=r"template: 'r1zero' -> 'plain'.*new --out"):
        evaluate(_cfg(out, question_file, limit=2, template="plain"), backend=ScriptedBackend())


def test_settings_can_change_while_nothing_is_scored(tmp_path, question_file):
    out = tmp_path / "out"
    with pytest.raises(BackendFailure, match="server unreachable"):
        evaluate(_cfg(out, question_file, limit=2), backend=ScriptedBackend(raise_all=True))
    evaluate(_cfg(out, question_file, limit=2, template="plain"), backend=ScriptedBackend())
    assert len(read_items(out / "items.jsonl")) == 2


def test_backend_errors_are_recorded_and_retried_by_the_next_run(tmp_path, question_file):
    out = tmp_path / "out"
    summary = evaluate(
        _cfg(out, question_file, max_attempts=2), backend=ScriptedBackend(fail_first={"number 3?": 5})
    )
    name = f"file:{question_file}"
    assert summary.benchmarks[name].n_missing == 1
    errors = _lines(out / "errors.jsonl")
    assert [e["id"] for e in errors] == ["q3"]
    assert "1 completions missing" in (out / "summary.md").read_text()
    summary = evaluate(_cfg(out, question_file, max_attempts=2), backend=ScriptedBackend())
    assert summary.benchmarks[name].n_missing == 0 and len(read_items(out / "items.jsonl")) == 10


def test_exclude_ids_are_left_out_and_counted(tmp_path, question_file):
    ids = tmp_path / "trained.txt"
    ids.write_text("q0\nq5\n")
    summary = evaluate(_cfg(tmp_path / "out", question_file, exclude_ids=str(ids)), backend=ScriptedBackend())
    b = summary.benchmarks[f"file:{question_file}"]
    assert (b.n_excluded, b.n_questions) == (2, 8)
    assert "2 questions excluded" in (tmp_path / "out" / "summary.md").read_text()


def test_config_errors_are_clear():
    with pytest.raises(ConfigError, match="temperature"):
        EvalConfig(model="m", out="o", samples=4)
    with pytest.raises(ConfigError, match="dtype must be one of auto, float32"):
        EvalConfig(model="m", out="o", dtype="fp8")
    with pytest.raises(ConfigError, match="base_url"):
        EvalConfig(model="m", out="o", backend="openai")
    assert EvalConfig(model="m", out="o", benchmarks="medqa, gpqa_med").benchmarks == ["medqa", "gpqa_med"]


def test_dtype_and_the_prompt_configuration_are_part_of_the_settings(tmp_path, question_file):
    from medzero.data.prompts import PromptConfig

    out = tmp_path / "out"
    evaluate(_cfg(out, question_file, limit=2), backend=ScriptedBackend())
    with pytest.raises(ConfigError, match=r"dtype: 'auto' -> 'bfloat16'"):
        evaluate(_cfg(out, question_file, limit=2, dtype="bfloat16"), backend=ScriptedBackend())
    gemma = PromptConfig(template="r1zero", system_role="user")
    with pytest.raises(ConfigError, match=r"prompt: .*'system_role': 'system'.*'system_role': 'user'"):
        evaluate(_cfg(out, question_file, limit=2, prompt=gemma), backend=ScriptedBackend())


def test_the_whole_prompt_configuration_reaches_the_prompts(tmp_path, question_file):
    from medzero.data.prompts import PromptConfig

    backend = ScriptedBackend()
    seen = []
    real = backend.generate

    def spy(prompts, **kw):
        seen.extend(prompts)
        return real(prompts, **kw)

    backend.generate = spy
    cfg = _cfg(
        tmp_path / "out", question_file, limit=1, prompt=PromptConfig(template="r1zero", system_role="user")
    )
    evaluate(cfg, backend=backend)
    assert [m["role"] for m in seen[0]] == ["user"]  # the system prompt went into the user turn
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["config"]["prompt"]["system_role"] == "user"


def test_think_preopened_stays_in_run_json_when_a_rerun_generates_nothing(tmp_path, question_file):
    out = tmp_path / "out"
    backend = ScriptedBackend()
    backend.think_preopened = True
    evaluate(_cfg(out, question_file, limit=2), backend=backend)
    assert json.loads((out / "run.json").read_text())["think_preopened"] is True
    evaluate(_cfg(out, question_file, limit=2), backend=ScriptedBackend())  # nothing left to generate
    assert json.loads((out / "run.json").read_text())["think_preopened"] is True


class BaseModelBackend(ScriptedBackend):
    """A base model: R1-Zero's plain-text prompt opens <think>, so outputs carry only </think>."""

    def prompt_form(self, messages):
        from medzero.data.prompts import prompt_form

        return prompt_form(messages, None)

    def generate(self, prompts, n=1, temperature=0.0, max_new_tokens=16, seed=0, **kw):
        return [[Generation("thinking</think><answer>A</answer>", 50, 9, "stop")] * n for _ in prompts]


def test_a_prompt_that_opens_think_is_scored_as_such(tmp_path, question_file):
    out = tmp_path / "out"
    summary = evaluate(_cfg(out, question_file, limit=4), backend=BaseModelBackend())
    assert summary.score(f"file:{question_file}", "strict") == 0.5  # format accepted without <think>
    run = json.loads((out / "run.json").read_text())
    assert run["think_preopened"] is True and run["prompt_forms"] == {f"file:{question_file}": "r1zero-text"}
    plain = tmp_path / "plain"
    evaluate(_cfg(plain, question_file, limit=4, template="plain"), backend=BaseModelBackend())
    assert json.loads((plain / "run.json").read_text())["prompt_forms"] == {
        f"file:{question_file}": "roles-text"
    }


def test_gguf_file_is_part_of_the_identity_only_when_set(tmp_path):
    cfg = EvalConfig(model="m", out=str(tmp_path))
    assert "gguf_file" not in cfg.identity()
    assert EvalConfig(model="", gguf_file="packaged", out=str(tmp_path)).identity()["gguf_file"] == "packaged"
    with pytest.raises(ConfigError, match="gguf_file"):
        EvalConfig(model="m", gguf_file="x.gguf", backend="openai", base_url="http://h/v1", out=str(tmp_path))


def test_a_prompt_field_added_later_does_not_block_a_resume(tmp_path, question_file):
    out = tmp_path / "out"
    evaluate(_cfg(out, question_file, limit=2), backend=ScriptedBackend())
    run = json.loads((out / "run.json").read_text())
    del run["identity"]["prompt"]["system_role"]  # as written by a version without that field
    (out / "run.json").write_text(json.dumps(run))
    again = ScriptedBackend()
    evaluate(_cfg(out, question_file, limit=2), backend=again)
    assert again.calls == []


def test_a_demonstration_is_part_of_the_identity_only_when_set(tmp_path):
    from medzero.data.prompts import PromptConfig

    assert "demonstration" not in EvalConfig(model="m", out=str(tmp_path)).identity()["prompt"]
    one_shot = EvalConfig(model="m", out=str(tmp_path), prompt=PromptConfig(demonstration="anemia"))
    assert one_shot.identity()["prompt"]["demonstration"] == "anemia"
