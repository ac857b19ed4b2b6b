"""Image benchmarks in `medzero eval`: `file:PATH` with images through the hf backend (the tiny
VLM) and the openai backend (images sent as data URLs), and the MedXpertQA-MM breakdowns."""

from __future__ import annotations

import base64
import json

from tests.evaluate.backends.test_openai import ChatServer

from medzero.data.prompts import image_paths, with_images
from medzero.data.synthetic_scans import write_scans
from medzero.evaluate.backends import BackendConfig
from medzero.evaluate.backends.hf import HFBackend
from medzero.evaluate.benchmarks import get_benchmark
from medzero.evaluate.config import EvalConfig
from medzero.evaluate.runner import evaluate


def mm_file(tmp_path, n=4):
    """A MedXpertQA-MM-style file: scans with body_system / medical_task fields."""
    mcqs = write_scans(tmp_path / "scans", n)
    recs = []
    for i, m in enumerate(mcqs):
        choices = " ".join(f"({k}) {v}" for k, v in m.options.items())
        recs.append(
            {
                "id": f"MM-{i}",
                "question": f"{m.question}\nAnswer Choices: {choices}",
                "options": m.options,
                "label": "B",
                "images": [f"scans/scans/{m.id}.png"],
                "medical_task": "Diagnosis" if i % 2 else "Treatment",
                "body_system": "Skeletal",
            }
        )
    path = tmp_path / "mm.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path, mcqs


def test_with_images_puts_image_parts_first_in_the_user_turn():
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]
    out = with_images(msgs, ["/x/a.png", "/x/b.png"])
    assert out[0] == msgs[0] and out[1]["content"][-1] == {"type": "text", "text": "q"}
    assert image_paths(out) == ["/x/a.png", "/x/b.png"] and with_images(msgs, []) is msgs


def test_openai_backend_sends_images_as_data_urls_and_summary_breaks_down(tmp_path):
    path, _ = mm_file(tmp_path)
    with ChatServer() as server:
        cfg = EvalConfig(
            model="served-model",
            out=str(tmp_path / "out"),
            backend="openai",
            base_url=server.url,
            benchmarks=[f"file:{path}"],
            max_new_tokens=16,
            batch_size=2,
        )
        summary = evaluate(cfg)
    assert len(server.requests) == 4
    by_url = {}
    for req in server.requests:
        user = req["messages"][-1]["content"]
        assert [p["type"] for p in user] == ["image_url", "text"]
        by_url[user[0]["image_url"]["url"]] = req
    png = (tmp_path / "scans" / "scans" / "scan-0.png").read_bytes()
    assert "data:image/png;base64," + base64.b64encode(png).decode() in by_url
    bench = f"file:{path}"
    assert summary.score(bench, "strict") == 1.0  # the server always answers B, the label
    subsets = [s.subset for s in summary.benchmarks[bench].subsets]
    assert "medical_task=Diagnosis" in subsets and "body_system=Skeletal" in subsets


def test_mm_benchmark_is_registered_with_breakdowns():
    b = get_benchmark("medxpertqa_mm")
    assert b.fmt == "medxpertqa_mm" and b.breakdowns == ("medical_task", "body_system")


def test_hf_backend_reads_images_with_the_tiny_vlm(tiny_vlm_dir, tmp_path):
    path, _ = mm_file(tmp_path, n=2)
    cfg = EvalConfig(
        model=str(tiny_vlm_dir),
        out=str(tmp_path / "out"),
        backend="hf",
        device="cpu",
        benchmarks=[f"file:{path}"],
        max_new_tokens=4,
        batch_size=2,
    )
    evaluate(cfg)
    items = [json.loads(line) for line in (tmp_path / "out" / "items.jsonl").read_text().splitlines()]
    assert len(items) == 2 and all(not it.get("error") for it in items)
    assert all(0 < it["completion_tokens"] <= 4 for it in items)


def test_hf_backend_pixels_change_the_output(tiny_vlm_dir, tmp_path):
    mcqs = write_scans(tmp_path, 2, seed=3)
    backend = HFBackend(BackendConfig(model=str(tiny_vlm_dir), device="cpu", batch_size=2))
    text = [{"role": "user", "content": "Which region?"}]
    prompts = [with_images(text, m.images) for m in mcqs]
    together = backend.generate(prompts, max_new_tokens=6)
    alone = [backend.generate([p], max_new_tokens=6)[0] for p in prompts]
    assert [g[0].text for g in together] == [g[0].text for g in alone]  # batching changes nothing
    assert together[0][0].prompt_tokens == together[1][0].prompt_tokens > 16  # 16 image tokens + text


def test_text_model_fails_image_questions_with_a_reason(tiny_model_dir, tmp_path):
    mcqs = write_scans(tmp_path, 1)
    backend = HFBackend(BackendConfig(model=str(tiny_model_dir), device="cpu"))
    gen = backend.generate([with_images([{"role": "user", "content": "q"}], mcqs[0].images)])[0][0]
    assert gen.finish_reason == "error" and "cannot read image questions" in gen.error
