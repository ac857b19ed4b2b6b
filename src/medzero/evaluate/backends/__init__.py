"""Generation backends behind one interface.

Every backend turns chat prompts into completions::

    backend.generate(prompts, n=1, temperature=0.0, max_new_tokens=512, seed=0, seeds=None)
    -> list[list[Generation]]   # one list of ``n`` generations per prompt, in prompt order

With ``temperature > 0``, ``seeds[i][j]`` seeds sample ``j`` of prompt ``i`` alone: a backend must
draw it the same whatever else is in the call (batch size, other prompts, resumption). The
runner derives each seed from (seed, benchmark, question id, sample index) with
:func:`sample_seed`. Without ``seeds`` a backend derives them from ``seed`` and the positions.

Backends are registered by name in :data:`BACKENDS` as lazy ``"module:Class"`` entries, so the
heavy library behind one (transformers, vLLM) is imported only when that backend is chosen:

=========  ==========================================================================
``hf``     transformers ``generate``: batched, prompts sorted by length, left padding;
           CPU or GPU; a LoRA adapter through peft
``vllm``   vLLM's offline ``LLM.chat`` (optional extra ``medzero[vllm]``)
``openai`` any OpenAI-compatible ``/chat/completions`` server (vLLM, SGLang, TGI, ...)
=========  ==========================================================================

A backend that fails on one prompt returns a :class:`Generation` with ``error`` set (and
``finish_reason="error"``) instead of raising, so the runner can record and retry it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from medzero.registry import Registry

Message = dict[str, str]


def sample_seed(seed: int, benchmark: str, question_id: str, sample: int) -> int:
    """The sampling seed of one (question, sample): a 63-bit hash of (seed, benchmark, question
    id, sample index), so it does not depend on batching, resumption or the backend.

    >>> sample_seed(0, "medqa", "q1", 0) == sample_seed(0, "medqa", "q1", 0) != sample_seed(0, "medqa", "q1", 1)
    True
    """
    key = f"{seed}\x1f{benchmark}\x1f{question_id}\x1f{sample}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


def position_seeds(seed: int, n_prompts: int, n: int) -> list[list[int]]:
    """Seeds by position, for a caller that gives none (``seeds=None``)."""
    return [[sample_seed(seed, "", str(i), j) for j in range(n)] for i in range(n_prompts)]


@dataclass(frozen=True)
class Generation:
    """One completion.

    Attributes:
        text: the completion only (no prompt), special tokens removed.
        prompt_tokens: tokens in the rendered prompt.
        completion_tokens: generated tokens (including the end-of-sequence token when produced).
        finish_reason: ``"stop"`` (end of sequence), ``"length"`` (hit ``max_new_tokens``) or
            ``"error"`` (the backend failed; ``text`` is empty and ``error`` says why).
        error: the failure message when ``finish_reason == "error"``.
        tool_calls: with ``tools``: the calls the model made in this turn, in the form the
            backend's chat messages take (``[]``: it answered); ``None`` without tools.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    error: str | None = None
    tool_calls: list[dict[str, Any]] | None = None

    @classmethod
    def failed(cls, message: str) -> Generation:
        return cls(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error", error=message)


@dataclass
class BackendConfig:
    """How to reach the model. Only the fields of the chosen backend are used."""

    model: str = field(
        metadata={"help": "Local model dir or hub id (hf, vllm); the served model name (openai)."}
    )
    adapter: str | None = field(
        default=None, metadata={"help": "LoRA adapter directory applied on top of --model (hf, vllm)."}
    )
    batch_size: int = field(
        default=16,
        metadata={"help": "Prompts per generate call (hf); requests in flight (openai concurrency)."},
    )
    device: str | None = field(
        default=None, metadata={"help": "hf: 'cpu', 'cuda', 'cuda:1'...; default cuda when available."}
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = field(
        default="auto", metadata={"help": "Weights dtype; auto = bfloat16 on GPU, float32 on CPU."}
    )
    base_url: str | None = field(
        default=None, metadata={"help": "openai: server root, e.g. http://127.0.0.1:8000/v1."}
    )
    api_key: str | None = field(
        default=None, metadata={"help": "openai: bearer token; default $OPENAI_API_KEY if set."}
    )
    timeout_s: float = field(default=600.0, metadata={"help": "openai: seconds per HTTP request."})
    max_retries: int = field(
        default=5,
        metadata={"help": "openai: retries per request on timeouts, 429 and 5xx (exponential back-off)."},
    )
    retry_backoff_s: float = field(
        default=1.0,
        metadata={"help": "openai: first back-off in seconds; doubles per retry (capped at 60 s)."},
    )
    gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "vllm: fraction of GPU memory for weights + KV cache."}
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm: GPUs to shard the model over."})
    max_model_len: int | None = field(
        default=None, metadata={"help": "vllm: context length cap (default: the model's)."}
    )


class Backend(Protocol):
    """What the runner needs from a backend."""

    name: str
    #: True when the chat template's generation prompt already opens ``<think>`` (the extractor must know).
    think_preopened: bool

    def generate(
        self,
        prompts: list[list[Message]],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        seed: int = 0,
        seeds: list[list[int]] | None = None,
    ) -> list[list[Generation]]: ...

    def close(self) -> None: ...


BACKENDS: Registry[type] = Registry("backend")
BACKENDS.register("hf", "medzero.evaluate.backends.hf:HFBackend")
BACKENDS.register("vllm", "medzero.evaluate.backends.vllm:VLLMBackend")
BACKENDS.register("openai", "medzero.evaluate.backends.openai:OpenAIBackend")


def make_backend(name: str, config: BackendConfig) -> Backend:
    """Instantiate a registered backend (imports its library only now)."""
    return BACKENDS.get(name)(config)
