"""``medzero eval --tools search``: the tool loop in the hf backend (a scripted model behind the
real tokenizer, template and parser) and the openai backend (a localhost server speaking the
API's tool calls), items with their calls, and the with/without summary."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from medzero.errors import ConfigError
from medzero.evaluate.config import EvalConfig
from medzero.evaluate.runner import evaluate

CLASSES = {"A": "beta blocker", "B": "statin", "C": "ACE inhibitor", "D": "proton pump inhibitor"}
DRUGS = {"zorvatine": "B", "kelbidone": "A", "mupraxil": "C", "tesorine": "D", "valemid": "B", "quonex": "C"}


@pytest.fixture
def formulary(tmp_path: Path) -> tuple[Path, Path]:
    from medzero.tools.corpus import build_index
    from medzero.tools.documents import read_documents

    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(
            json.dumps({"id": d, "title": d, "text": f"{d.capitalize()} is a {CLASSES[c]}."}) + "\n"
            for d, c in DRUGS.items()
        )
    )
    read, skipped, sources = read_documents([docs])
    build_index(read, tmp_path / "index", sources=sources, skipped=skipped)
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "".join(
            json.dumps(
                {"id": d, "question": f"Which class is {d}?", "options": CLASSES, "answer": c, "source": "x"}
            )
            + "\n"
            for d, c in DRUGS.items()
        )
    )
    return tmp_path / "index", questions


def _letter_in(passage: str) -> str:
    return next(letter for letter, name in CLASSES.items() if f"is a {name}." in passage)


def _drug_in(text: str) -> str:
    return next(d for d in DRUGS if f"Which class is {d}?" in text)


class ScriptedLM:
    """Stands in for the model: with tools listed and no tool turn yet it calls search for the
    question's drug; after a tool turn it answers from the passage; without tools it says A."""

    def __init__(self, tok):
        import torch

        self.tok, self.torch = tok, torch
        self.generation_config = None
        self.prompts: list[str] = []

    def eval(self):
        return self

    def generate(self, input_ids, attention_mask, generation_config, logits_processor):
        rows = []
        for ids in input_ids.tolist():
            text = self.tok.decode([t for t in ids if t != self.tok.pad_token_id])
            self.prompts.append(text)
            if "<|tool|>" in text:
                out = f"<think>found</think><answer>{_letter_in(text.rsplit('<|tool|>', 1)[1])}</answer>"
            elif "Tools you can call" in text:
                call = json.dumps({"name": "search", "arguments": {"query": _drug_in(text)}})
                out = f"<think>look up</think><tool_call>{call}</tool_call>"
            else:
                out = "<think>guess</think><answer>A</answer>"
            rows.append(self.tok(out, add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id])
        width = max(map(len, rows))
        new = [r + [self.tok.pad_token_id] * (width - len(r)) for r in rows]
        return self.torch.cat([input_ids, self.torch.tensor(new)], dim=1)


def _cfg(tmp_path, questions, index, **kw) -> EvalConfig:
    return EvalConfig(
        model="scripted",
        out=str(tmp_path / "out"),
        benchmarks=[f"file:{questions}"],
        max_new_tokens=200,
        tools="search",
        index=str(index),
        tool_k=1,
        n_boot=200,
        **kw,
    )


def test_hf_tool_loop_searches_answers_and_compares_with_no_tool(tiny_model_dir, formulary, tmp_path):
    from transformers import AutoTokenizer

    from medzero.evaluate.backends import BackendConfig
    from medzero.evaluate.backends.hf import HFBackend

    index, questions = formulary
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    lm = ScriptedLM(tok)
    backend = HFBackend(BackendConfig(model="scripted", device="cpu", batch_size=4), model=lm, tokenizer=tok)
    summary = evaluate(_cfg(tmp_path, questions, index), backend=backend)

    bench = f"file:{questions}"
    assert summary.score(bench, "strict") == 1.0
    items = [json.loads(x) for x in (tmp_path / "out" / "items.jsonl").read_text().splitlines()]
    assert len(items) == len(DRUGS)
    for item in items:
        assert item["output"].endswith(f"<answer>{DRUGS[item['id']]}</answer>")  # the last turn
        (call,) = item["tool_calls"]
        assert call["query"] == item["id"] and call["ids"] == [item["id"]]
        assert (
            call["result"] == f"[{item['id']}] {item['id'].capitalize()} is a {CLASSES[DRUGS[item['id']]]}."
        )
    baseline = [
        json.loads(x) for x in (tmp_path / "out" / "without_tool" / "items.jsonl").read_text().splitlines()
    ]
    assert all("tool_calls" not in b for b in baseline) and len(baseline) == len(DRUGS)

    tools = json.loads((tmp_path / "out" / "summary.json").read_text())["tools"][bench]
    assert tools["searches_per_question"] == 1.0 and tools["searched"] == 1.0
    pair = tools["with_vs_without"]["strict"]
    assert pair["with_tool"] == 1.0 and pair["without_tool"] == pytest.approx(1 / 6)
    assert pair["difference"]["low"] > 0 and pair["n_shared"] == len(DRUGS)
    md = (tmp_path / "out" / "summary.md").read_text()
    assert "## With the search tool" in md and "+83.3" in md
    # the tool turn was rendered by the chat template between the call and the answer
    assert any("<|tool|>[zorvatine] Zorvatine is a statin.\n<|assistant|>" in p for p in lm.prompts)


def test_max_calls_and_token_budget_end_the_loop(tiny_model_dir, formulary, tmp_path):
    from transformers import AutoTokenizer

    from medzero.evaluate.backends import BackendConfig
    from medzero.evaluate.backends.hf import HFBackend
    from medzero.evaluate.tooluse import ToolBackend
    from medzero.tools.search import SearchTool, SearchToolConfig

    index, _ = formulary
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)

    class AlwaysCalls(ScriptedLM):
        def generate(self, input_ids, **kw):
            text = self.tok.decode(input_ids[0].tolist())
            call = json.dumps({"name": "search", "arguments": {"query": "zorvatine"}})
            self.prompts.append(text)
            ids = self.tok(f"<tool_call>{call}</tool_call>", add_special_tokens=False)["input_ids"]
            return self.torch.cat([input_ids, self.torch.tensor([[*ids, self.tok.eos_token_id]])], dim=1)

    lm = AlwaysCalls(tok)
    inner = HFBackend(BackendConfig(model="x", device="cpu"), model=lm, tokenizer=tok)
    tb = ToolBackend(inner, SearchTool(SearchToolConfig(index=str(index), k=1)), max_calls=2)
    prompt = [[{"role": "user", "content": "Which class is zorvatine?"}]]
    ((gen,),) = tb.generate(prompt, max_new_tokens=1000)
    assert len(lm.prompts) == 3 and len(gen.tool_calls) == 3  # 2 answered rounds, then a last turn
    assert [c["result"] is not None for c in gen.tool_calls] == [True, True, False]
    lm.prompts.clear()
    ((gen,),) = tb.generate(prompt, max_new_tokens=10)  # one turn spends the whole budget
    assert len(lm.prompts) == 1 and gen.completion_tokens > 10


class ToolServer:
    """Chat completions with the API's tool calls: with ``tools`` and no tool message yet it calls
    search for the question's drug; after a tool message it answers from it; without tools, A."""

    def __init__(self):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                msgs = body["messages"]
                tool_msgs = [m for m in msgs if m["role"] == "tool"]
                message: dict = {"role": "assistant"}
                if tool_msgs:
                    message["content"] = f"<answer>{_letter_in(tool_msgs[-1]['content'])}</answer>"
                elif body.get("tools"):
                    args = json.dumps({"query": _drug_in(msgs[-1]["content"])})
                    message["content"] = None
                    message["tool_calls"] = [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "search", "arguments": args},
                        }
                    ]
                else:
                    message["content"] = "<answer>A</answer>"
                payload = {
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {},
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def test_openai_tool_calls_round_trip_through_the_api(formulary, tmp_path):
    index, questions = formulary
    server = ToolServer()
    try:
        summary = evaluate(_cfg(tmp_path, questions, index, backend="openai", base_url=server.url))
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    assert summary.score(f"file:{questions}", "strict") == 1.0
    with_tools = [r for r in server.requests if r.get("tools")]
    assert with_tools[0]["tools"][0]["function"]["name"] == "search"
    follow = next(r for r in with_tools if any(m["role"] == "tool" for m in r["messages"]))
    assistant, tool_msg = follow["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == "call_1" and tool_msg["tool_call_id"] == "call_1"
    items = [json.loads(x) for x in (tmp_path / "out" / "items.jsonl").read_text().splitlines()]
    assert all(i["tool_calls"][0]["ids"] == [i["id"]] for i in items)
    assert len([r for r in server.requests if not r.get("tools")]) == len(DRUGS)  # the baseline


def test_tool_settings_are_checked(formulary, tmp_path):
    index, _questions = formulary
    with pytest.raises(ConfigError, match="--index"):
        EvalConfig(model="m", out=str(tmp_path), tools="search")
    with pytest.raises(ConfigError, match="tools must be"):
        EvalConfig(model="m", out=str(tmp_path), tools="calculator", index=str(index))  # type: ignore[arg-type]
    cfg = EvalConfig(model="m", out=str(tmp_path / "o"), tools="search", index=str(index), backend="vllm")
    with pytest.raises(ConfigError, match="hf and openai"):
        evaluate(cfg)
