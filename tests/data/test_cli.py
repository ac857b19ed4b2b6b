"""``medzero data inspect|prepare|overlap|formats`` through the real root app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app, main
from medzero.data.loaders import SAMPLE_RESOURCE

runner = CliRunner()


def sample_path():
    from importlib import resources

    return str(resources.files("medzero") / "resources" / SAMPLE_RESOURCE)


def run(*args):
    return runner.invoke(build_app(), list(args), catch_exceptions=False)


def test_inspect_json_contract():
    res = run("data", "inspect", sample_path(), "--json")
    assert res.exit_code == 0
    payload = json.loads(res.stdout)
    assert payload["format"] == "medzero" and payload["records"] >= 60 and payload["errors"] == 0
    assert payload["sources"] == {"sample": payload["records"]}


def test_inspect_reports_bad_records_and_exits_zero(tmp_path):
    good = {"id": "a", "source": "s", "question": "Q?", "options": {"A": "x", "B": "y"}, "answer": "B"}
    bad = {**good, "id": "b", "answer": "C"}
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    payload = json.loads(run("data", "inspect", str(path), "--json").stdout)
    assert (payload["records"], payload["errors"]) == (1, 1)
    assert payload["first_errors"][0].startswith(f'{path}:2: field "answer"')
    table = run("data", "inspect", str(path))
    assert table.exit_code == 0 and "medzero" in table.stdout and "skipped" in table.stdout


def test_unclassifiable_file_exits_2(tmp_path, capsys):
    path = tmp_path / "odd.jsonl"
    path.write_text('{"foo": 1}\n')
    with pytest.raises(SystemExit) as exc:
        main(["data", "inspect", str(path), "--json"])
    assert exc.value.code == 2
    assert "cannot detect the format" in capsys.readouterr().err


def test_medmcqa_needs_cop_base(tmp_path, capsys):
    path = tmp_path / "dev.jsonl"
    rec = {"id": "u", "question": "Q?", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 2}
    path.write_text(json.dumps(rec) + "\n")
    with pytest.raises(SystemExit) as exc:
        main(["data", "inspect", str(path)])
    assert exc.value.code == 2 and "--cop-base 1" in capsys.readouterr().err
    payload = json.loads(run("data", "inspect", str(path), "--json", "--cop-base", "1").stdout)
    assert payload["answers"] == {"B": 1}


def test_prepare_mix_then_overlap(tmp_path):
    from medzero.data.loaders import sample_questions

    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in sample_questions()))
    mix = tmp_path / "mix.yaml"
    mix.write_text("- {source: sample, path: pool.jsonl, count: 20, pool_frac: 0.5}\n")
    res = run(
        "data",
        "prepare",
        "--mix",
        str(mix),
        "--seed",
        "3",
        "--out",
        str(tmp_path / "out"),
        "--template",
        "plain",
    )
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"] == {"sample": 20} and manifest["prompt"]["template"] == "plain"
    assert len(manifest["heldout_ids"]["sample"]) == len(sample_questions()) - round(
        len(sample_questions()) / 2
    )
    over = json.loads(run("data", "overlap", str(tmp_path / "out"), str(pool), "--json").stdout)
    (bench,) = over["benchmarks"]
    assert (
        over["train_records"] == 20 and bench["exact"] == 20 and bench["records"] == len(sample_questions())
    )


def test_prepare_needs_recipe_or_mix(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["data", "prepare", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "exactly one of --recipe" in capsys.readouterr().err


def test_formats_lists_registry():
    res = run("data", "formats")
    assert res.exit_code == 0 and "medmcqa_xpert" in res.stdout and "cop_base" in res.stdout


def test_loader_flag_a_format_lacks(tmp_path, capsys):
    path = tmp_path / "c.jsonl"
    from medzero.data.loaders import sample_questions

    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in sample_questions()[:4]))
    with pytest.raises(SystemExit) as exc:
        main(["data", "inspect", str(path), "--medical-only"])
    assert exc.value.code == 2 and "has no option(s) ['medical_only']" in capsys.readouterr().err
    over = json.loads(run("data", "overlap", str(path), str(path), "--medical-only", "--json").stdout)
    assert over["benchmarks"][0]["exact"] == 4  # overlap passes the flag only to formats that take it


def test_prepare_stratify_option(tmp_path, capsys):
    rows = []
    for i in range(20):
        options = {k: f"choice {k}{i}" for k in "ABCDE"}
        block = " ".join(f"({k}) {v}" for k, v in options.items())
        kind = "Understanding" if i % 4 == 0 else "Reasoning"
        rows.append(
            {
                "id": f"Text-{i}",
                "question": f"Case {i}?\nAnswer Choices: {block}",
                "options": options,
                "label": "B",
                "question_type": kind,
            }
        )
    xpert = tmp_path / "xpert.jsonl"
    xpert.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    args = ["data", "prepare", "--recipe", "dataset3", "--medxpertqa", str(xpert), "--n-medxpertqa", "4"]
    res = run(*args, "--stratify", "question_type", "--template", "seed", "--out", str(out))
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"][0]["stratify"] == "question_type" and manifest["prompt"]["template"] == "seed"
    train = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    kinds = [json.loads(r["meta"])["question_type"] for r in train]
    assert sorted(kinds) == ["Reasoning"] * 3 + ["Understanding"]  # 15/5 -> 3/1 of 4
    assert train[0]["prompt"][1]["content"].endswith("(E) choice E" + train[0]["id"].split("-")[1])
    with pytest.raises(SystemExit) as exc:
        main(["data", "prepare", "--mix", str(xpert), "--stratify", "question_type", "--out", str(out)])
    assert exc.value.code == 2 and "a --mix file sets stratify per entry" in capsys.readouterr().err
