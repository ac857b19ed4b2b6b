"""The OpenAI-compatible backend: ``POST {base_url}/chat/completions`` to any server speaking
the protocol (vLLM ``vllm serve``, SGLang, TGI, llama.cpp server, hosted APIs).

Standard library only (``urllib`` + a thread pool): ``batch_size`` requests are in flight at
once; each request asks for ``n`` choices (topped up with extra requests when a server returns
fewer). Timeouts, HTTP 429 and 5xx are retried with exponential back-off
(``retry_backoff_s``, doubling, at most 60 s, ``max_retries`` times); other HTTP errors fail at
once. A prompt that still fails comes back as :meth:`Generation.failed` carrying the last error,
so the runner records it and retries it later.

With ``tools`` (OpenAI function schemas, ``medzero eval --tools``) each request carries them as
``tools`` and a response's ``message.tool_calls`` come back in :attr:`Generation.tool_calls` as the
server sent them (``id``, ``type``, ``function`` with JSON-string ``arguments``), ready to be sent
back in the next request's assistant message (:mod:`medzero.evaluate.tooluse`).

Image questions: an ``{"type": "image", "image": PATH}`` part of a prompt is sent as an
``{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}`` part (the file's
bytes as they are; the server's processor resizes).
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from medzero.errors import ConfigError
from medzero.evaluate.backends import BackendConfig, Generation, Message, position_seeds

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def wire_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """``messages`` as sent: image parts become ``image_url`` parts holding a data URL."""
    from medzero.data.images import data_url

    out: list[dict[str, Any]] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            parts = [
                {"type": "image_url", "image_url": {"url": data_url(p["image"])}}
                if p.get("type") == "image"
                else p
                for p in content
            ]
            m = {**m, "content": parts}
        out.append(m)
    return out


class RequestFailed(Exception):
    """A request that must not (or can no longer) be retried."""


class OpenAIBackend:
    """Client for an OpenAI-compatible chat-completions server; see the module docstring."""

    name = "openai"
    think_preopened = False  # servers return the assistant message only; we cannot see the template

    def __init__(self, config: BackendConfig):
        if not config.base_url:
            raise ConfigError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        self.config = config
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self.api_key = config.api_key or os.environ.get("OPENAI_API_KEY")
        self._pool = ThreadPoolExecutor(max_workers=max(1, config.batch_size))
        self._tools: list[dict[str, Any]] | None = None

    def generate(
        self,
        prompts: list[list[Message]],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        seed: int = 0,
        seeds: list[list[int]] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> list[list[Generation]]:
        self._tools = tools or None
        if temperature > 0:  # one request per (prompt, sample), each with its own seed
            seeds = seeds if seeds is not None else position_seeds(seed, len(prompts), n)
            flat = [(i, s) for i in range(len(prompts)) for s in seeds[i][:n]]

            def sampled(job: tuple[int, int]) -> list[Generation]:
                return self._complete(prompts[job[0]], 1, temperature, max_new_tokens, job[1])

            per_sample = list(self._pool.map(sampled, flat))
            return [[g for gs in per_sample[i * n : (i + 1) * n] for g in gs] for i in range(len(prompts))]

        def one(i: int) -> list[Generation]:
            return self._complete(prompts[i], n, temperature, max_new_tokens, seed)

        return list(self._pool.map(one, range(len(prompts))))

    def _complete(
        self, messages: list[Message], n: int, temperature: float, max_tokens: int, seed: int
    ) -> list[Generation]:
        gens: list[Generation] = []
        attempt_seed = seed
        while len(gens) < n:
            body = {
                "model": self.config.model,
                "messages": wire_messages(messages),
                "n": n - len(gens),
                "temperature": temperature,
                "max_tokens": max_tokens,
                "seed": attempt_seed,
            }
            if self._tools:
                body["tools"] = self._tools
            try:
                gens.extend(_parse_choices(self._post(body), body))
            except RequestFailed as exc:
                return [*gens, *[Generation.failed(str(exc))] * (n - len(gens))]
            attempt_seed += 1_000_003  # a top-up request must not repeat the samples already drawn
        return gens[:n]

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                delay = min(60.0, self.config.retry_backoff_s * 2 ** (attempt - 1))
                time.sleep(delay * (0.5 + random.random() / 2))
            req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.config.timeout_s) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:500]
                last = f"HTTP {exc.code} from {self.url}: {detail}"
                if exc.code not in _RETRY_STATUS:
                    raise RequestFailed(last) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = f"{type(exc).__name__} from {self.url}: {getattr(exc, 'reason', exc)}"
            except json.JSONDecodeError as exc:
                last = f"invalid JSON from {self.url}: {exc.msg}"
        raise RequestFailed(f"{last} (gave up after {self.config.max_retries} retries)")

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _parse_choices(payload: dict[str, Any], request: dict[str, Any] | None = None) -> list[Generation]:
    """``choices`` of a chat-completions response -> generations (token counts from ``usage``;
    with several choices the completion tokens are split evenly, as the protocol gives a total)."""
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        raise RequestFailed(f"response without choices: {json.dumps(payload)[:300]}")
    usage = payload.get("usage") or {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    per_choice = int(usage.get("completion_tokens") or 0) // len(choices)
    gens = []
    tools = "tools" in (request or {})
    for ch in sorted(choices, key=lambda c: c.get("index", 0)):
        msg = ch.get("message") or {}
        text = msg.get("content") or ""
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        if reasoning:  # servers that split the reasoning out (e.g. --reasoning-parser): put it back
            text = f"<think>{reasoning}</think>{text}"
        reason = ch.get("finish_reason") or "stop"
        calls = [c for c in msg.get("tool_calls") or [] if isinstance(c, dict)] if tools else None
        finish = "length" if reason == "length" else "stop"
        gens.append(Generation(text, prompt_tokens, per_choice, finish, tool_calls=calls))
    return gens
