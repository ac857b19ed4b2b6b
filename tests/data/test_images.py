"""Image questions: the MedXpertQA-MM layout, generic JSONL with ``images``, load-time checks,
``data inspect`` image counts, prepare rows and image-hash overlap (files made here with PIL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app, main
from medzero.data.images import ImageError, load_image
from medzero.data.loaders import load_mcqs
from medzero.data.overlap import OverlapIndex
from medzero.data.schema import MCQ, question_key

OPTIONS = {"A": "Pneumothorax", "B": "Fracture", "C": "Normal", "D": "Effusion", "E": "Mass"}


def make_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (16, 12)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def mm_record(i: int, images: list[str], **extra) -> dict:
    """One record as MedXpertQA MM ships it (options repeated in the question)."""
    choices = " ".join(f"({k}) {v}" for k, v in OPTIONS.items())
    return {
        "id": f"MM-{i}",
        "question": f"What does image {i} show?\nAnswer Choices: {choices}",
        "options": OPTIONS,
        "label": "B",
        "images": images,
        "medical_task": "Diagnosis",
        "body_system": "Skeletal",
        "question_type": "Understanding",
        **extra,
    }


def write_mm(tmp_path: Path, n: int = 3, missing: str | None = None) -> Path:
    """``test.jsonl`` beside ``images/``, like the MedXpertQA-MM download."""
    for i in range(n):
        make_png(tmp_path / "images" / f"MM-{i}-a.png", (40 * i, 0, 0), size=(16 + i, 12))
    recs = [mm_record(i, [f"MM-{i}-a.png"]) for i in range(n)]
    if missing:
        recs.append(mm_record(n, [missing]))
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def test_mm_layout_detected_and_images_resolved(tmp_path):
    path = write_mm(tmp_path)
    res = load_mcqs(path)
    assert res.format == "medxpertqa_mm" and not res.errors
    first = res.records[0]
    assert first.source == "medxpertqa_mm" and first.question == "What does image 0 show?"
    assert first.images == [str((tmp_path / "images" / "MM-0-a.png").absolute())]
    assert first.meta["body_system"] == "Skeletal"
    summary = res.summary()["images"]
    assert (summary["count"], summary["unique"], summary["records_with_images"]) == (3, 3, 3)
    assert summary["width"] == {"min": 16, "max": 18} and summary["missing"] == []


def test_mm_record_without_images_is_a_located_error(tmp_path):
    path = tmp_path / "mm.jsonl"
    path.write_text(json.dumps(mm_record(0, [])) + "\n")
    res = load_mcqs(path, "medxpertqa_mm")
    assert (
        str(res.errors[0])
        == f'{path}:1: field "images": missing or empty: an MM question needs at least one image'
    )


def test_missing_image_names_file_line_and_image(tmp_path):
    path = write_mm(tmp_path, n=2, missing="MM-9-z.png")
    res = load_mcqs(path)
    assert len(res.records) == 2
    (err,) = res.errors
    assert isinstance(err, ImageError) and err.kind == "missing"
    assert str(err).startswith(f"{path}:3: field \"images[0]\": image 'MM-9-z.png': no such file")
    with pytest.raises(ImageError):
        load_mcqs(path, strict=True)


def test_undecodable_image_is_reported(tmp_path):
    path = write_mm(tmp_path, n=1)
    (tmp_path / "images" / "MM-0-a.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (err,) = load_mcqs(path).errors
    assert err.kind == "unreadable" and 'field "images[0]"' in str(err) and "does not decode" in str(err)


def test_image_dir_option(tmp_path):
    make_png(tmp_path / "pics" / "x.png", (0, 9, 0))
    path = tmp_path / "data" / "mm.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps(mm_record(0, ["x.png"])) + "\n")
    assert load_mcqs(path).errors  # not beside the file
    res = load_mcqs(path, image_dir=tmp_path / "pics")
    assert not res.errors and res.records[0].images[0].endswith("pics/x.png")


def test_generic_jsonl_with_images_field(tmp_path):
    make_png(tmp_path / "scan.png", (1, 2, 3))
    rec = {
        "id": "q1",
        "source": "mine",
        "question": "Which side?",
        "options": ["left", "right"],
        "answer": "A",
    }
    medqa_like = {
        "question": "Which side?",
        "options": {"A": "l", "B": "r"},
        "answer_idx": "B",
        "images": "scan.png",
    }
    path = tmp_path / "mine.jsonl"
    path.write_text(
        json.dumps({**rec, "images": ["scan.png"]}) + "\n" + json.dumps(rec | {"id": "q2"}) + "\n"
    )
    res = load_mcqs(path)
    assert res.format == "medzero" and [len(m.images) for m in res.records] == [1, 0]
    other = tmp_path / "medqa.jsonl"
    other.write_text(json.dumps(medqa_like) + "\n")
    assert load_mcqs(other, "medqa").records[0].images == [str((tmp_path / "scan.png").absolute())]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**rec, "images": [3]}) + "\n")
    assert 'field "images[0]": expected a file name, got 3' in str(load_mcqs(bad).errors[0])


def test_canonical_round_trip_keeps_images_and_text_files_unchanged(tmp_path):
    make_png(tmp_path / "a.png", (5, 5, 5))
    m = MCQ("i", "s", "Q?", {"A": "x", "B": "y"}, "A", images=[str(tmp_path / "a.png")])
    assert MCQ.from_dict(m.to_dict()).images == m.images
    assert "images" not in MCQ("i", "s", "Q?", {"A": "x", "B": "y"}, "A").to_dict()


def test_question_key_tells_pictures_apart(tmp_path):
    a, b = make_png(tmp_path / "a.png", (255, 0, 0)), make_png(tmp_path / "b.png", (0, 0, 255))
    copy = tmp_path / "copy.png"
    copy.write_bytes(a.read_bytes())
    q = {
        "id": "i",
        "source": "s",
        "question": "Where is the lesion?",
        "options": {"A": "x", "B": "y"},
        "answer": "A",
    }
    key = lambda p: question_key(MCQ(**q, images=[str(p)]))  # noqa: E731
    assert key(a) != key(b) and key(a) == key(copy) and key(a) != question_key(MCQ(**q))


def test_overlap_finds_a_shared_image_under_new_text(tmp_path):
    a, b = make_png(tmp_path / "a.png", (255, 0, 0)), make_png(tmp_path / "b.png", (0, 255, 0))
    renamed = tmp_path / "renamed.png"
    renamed.write_bytes(a.read_bytes())
    opts = {"A": "x", "B": "y"}
    train = [MCQ("t1", "s", "An entirely different training stem here", opts, "A", images=[str(a)])]
    index = OverlapIndex(train)
    evals = [
        MCQ("e1", "b", "What is shown in this radiograph of the chest?", opts, "A", images=[str(renamed)]),
        MCQ("e2", "b", "What is shown in this radiograph of the chest?", opts, "A", images=[str(b)]),
    ]
    found = index.matches(evals)
    assert [(m.eval_id, m.train_id, m.kind) for m in found] == [("e1", "t1", "image")]


def test_load_image_caps_pixels(tmp_path):
    img = load_image(make_png(tmp_path / "big.png", (9, 9, 9), size=(400, 100)), max_pixels=10_000)
    assert img.mode == "RGB" and img.width * img.height <= 10_000 and img.width == 4 * img.height


runner = CliRunner()


def test_inspect_contract_counts_images(tmp_path):
    path = write_mm(tmp_path)
    res = runner.invoke(build_app(), ["data", "inspect", str(path), "--json"], catch_exceptions=False)
    assert res.exit_code == 0
    payload = json.loads(res.stdout)
    assert payload["records"] == 3 and payload["images"]["count"] == 3 and payload["images"]["bytes"] > 0
    table = runner.invoke(build_app(), ["data", "inspect", str(path)], catch_exceptions=False)
    assert "images: 3 in 3 records, 3 files" in table.stdout


def test_inspect_contract_fails_located_on_missing_image(tmp_path, capsys):
    path = write_mm(tmp_path, n=2, missing="gone.png")
    with pytest.raises(SystemExit) as exc:
        main(["data", "inspect", str(path), "--json"])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    err = err.replace("\n", "")  # the console wraps long lines
    assert json.loads(out)["images"]["missing"][0].startswith(f"{path}:3:")
    assert f"{path}:3: field \"images[0]\": image 'gone.png': no such file" in err
    assert "Traceback" not in err


def test_prepare_and_overlap_with_images(tmp_path):
    import yaml

    path = write_mm(tmp_path / "mm", n=4)
    mix = tmp_path / "mix.yaml"
    mix.write_text(yaml.safe_dump([{"source": "medxpertqa_mm", "path": str(path), "count": 3}]))
    out = tmp_path / "prep"
    main_ok = runner.invoke(
        build_app(), ["data", "prepare", "--mix", str(mix), "--out", str(out)], catch_exceptions=False
    )
    assert main_ok.exit_code == 0, main_ok.stdout
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    # written relative to the prepared folder, read back as absolute paths
    assert len(rows) == 3 and all((out / r["images"][0]).is_file() for r in rows)
    assert [m.images for m in load_mcqs(out).records] == [[str(out / r["images"][0])] for r in rows]
    res = runner.invoke(
        build_app(), ["data", "overlap", str(out), str(path), "--json"], catch_exceptions=False
    )
    bench = json.loads(res.stdout)["benchmarks"][0]
    assert bench["records"] == 4 and bench["exact"] == 3 and bench["image"] == 0


def test_a_prepared_folder_moved_with_its_images_still_loads(tmp_path):
    import shutil

    from medzero.data.prepare import HELDOUT_FILE, TRAIN_FILE, prepare_from_mcqs, prepared_mcqs

    tree = tmp_path / "before"
    questions = load_mcqs(write_mm(tree / "mm", n=4)).records
    prepare_from_mcqs(questions[:3], questions[3:], tree / "prep", recipe="mm", seed=0)
    for name in (TRAIN_FILE, HELDOUT_FILE):  # no absolute path into the old place is written
        assert str(tree) not in (tree / "prep" / name).read_text()
    moved = tmp_path / "after"
    shutil.move(tree, moved)
    prep = moved / "prep"
    for mcqs in (prepared_mcqs(prep), prepared_mcqs(prep / TRAIN_FILE), load_mcqs(prep).records):
        assert len(mcqs) == 3 and all(Path(m.images[0]).is_file() for m in mcqs)
        assert all(Path(m.images[0]).is_relative_to(moved) for m in mcqs)
    (held,) = load_mcqs(prep / HELDOUT_FILE).records
    assert Path(held.images[0]).is_file() and Path(held.images[0]).is_relative_to(moved)
    shutil.rmtree(moved / "mm")  # the images left behind: the row is named
    with pytest.raises(ImageError, match=r"prep:0: .*images\[0\]"):
        prepared_mcqs(prep)
