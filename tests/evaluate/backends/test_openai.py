"""The openai backend against a real HTTP server on 127.0.0.1 speaking chat completions."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from medzero.errors import ConfigError
from medzero.evaluate.backends import BackendConfig
from medzero.evaluate.backends.openai import OpenAIBackend
from medzero.evaluate.config import EvalConfig
from medzero.evaluate.runner import evaluate


class ChatServer:
    """A canned chat-completions server: answers "<answer>B</answer>" for every choice.

    ``fail_next``: status codes returned (in order) before answering normally.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_next: list[int] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(
                        {"path": self.path, "auth": self.headers.get("Authorization"), **body}
                    )
                    status = server.fail_next.pop(0) if server.fail_next else 200
                if self.path != "/v1/chat/completions":
                    status = 404
                if status != 200:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "scripted failure"}')
                    return
                n = body.get("n", 1)
                payload = {
                    "id": "x",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": i,
                            "message": {"role": "assistant", "content": "<think>t</think><answer>B</answer>"},
                            "finish_reason": "stop",
                        }
                        for i in range(n)
                    ],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 6 * n, "total_tokens": 11 + 6 * n},
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with ChatServer() as s:
        yield s


def _backend(url, **kw):
    kw.setdefault("retry_backoff_s", 0.01)
    return OpenAIBackend(BackendConfig(model="served-model", base_url=url, batch_size=4, **kw))


MSGS = [[{"role": "user", "content": f"question {i}"}] for i in range(6)]


def test_generates_n_choices_per_prompt_in_order(server):
    b = _backend(server.url, api_key="sk-test")
    out = b.generate(MSGS, n=2, temperature=0.7, max_new_tokens=32, seed=5)
    b.close()
    assert [len(g) for g in out] == [2] * 6
    g = out[0][0]
    assert (g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason) == (
        "<think>t</think><answer>B</answer>",
        11,
        6,
        "stop",
    )
    req = server.requests[0]
    # sampled: one request per (prompt, sample), each with its own seed
    assert req["model"] == "served-model" and req["n"] == 1 and req["max_tokens"] == 32
    assert req["temperature"] == 0.7 and req["auth"] == "Bearer sk-test"
    assert sorted(r["messages"][0]["content"] for r in server.requests) == sorted(
        f"question {i}" for i in range(6) for _ in range(2)
    )
    assert len({r["seed"] for r in server.requests}) == 12


def test_retries_busy_server_with_backoff(server):
    server.fail_next = [503, 429, 500]
    b = _backend(server.url, max_retries=3)
    out = b.generate(MSGS[:1])
    assert out[0][0].error is None and len(server.requests) == 4


def test_gives_up_after_retries_and_on_client_errors(server):
    server.fail_next = [503] * 10
    out = _backend(server.url, max_retries=2).generate(MSGS[:1])
    assert out[0][0].finish_reason == "error" and "gave up after 2 retries" in out[0][0].error
    server.fail_next = [400]
    n_before = len(server.requests)
    out = _backend(server.url, max_retries=5).generate(MSGS[:1])
    assert "HTTP 400" in out[0][0].error and len(server.requests) == n_before + 1  # not retried


def test_unreachable_server_is_an_error_not_a_hang():
    b = _backend("http://127.0.0.1:9/v1", max_retries=1, timeout_s=2)
    out = b.generate(MSGS[:1])
    assert out[0][0].finish_reason == "error" and "127.0.0.1:9" in out[0][0].error


def test_base_url_is_required():
    with pytest.raises(ConfigError, match="--base-url"):
        OpenAIBackend(BackendConfig(model="m"))


def test_evaluate_through_the_openai_backend(server, tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"q{i}",
                    "source": "x",
                    "question": f"Q{i}?",
                    "options": {"A": "a", "B": "b"},
                    "answer": "AB"[i % 2],
                }
            )
            + "\n"
            for i in range(6)
        )
    )
    cfg = EvalConfig(
        model="served-model",
        out=str(tmp_path / "out"),
        backend="openai",
        base_url=server.url,
        benchmarks=[f"file:{qfile}"],
        max_new_tokens=16,
        batch_size=3,
    )
    summary = evaluate(cfg)
    assert summary.score(f"file:{qfile}", "strict") == 0.5
    assert len(server.requests) == 6
