"""``EvalConfig``: everything one ``medzero eval`` run needs (the CLI fills it; so can Python)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from medzero.data.prompts import TEMPLATES, PromptConfig
from medzero.errors import ConfigError
from medzero.evaluate.backends import BACKENDS
from medzero.evaluate.benchmarks import SEED_BENCHMARKS


def prompt_settings(prompt: PromptConfig | dict[str, Any] | None, template: str) -> PromptConfig:
    """The prompt of a config that takes a whole ``prompt`` (a :class:`PromptConfig`, or its
    mapping from a JSON/YAML file) or just a ``template`` name; a given ``prompt`` wins."""
    if isinstance(prompt, dict):
        return PromptConfig(**prompt)
    return PromptConfig(template=template) if prompt is None else prompt


@dataclass
class EvalConfig:
    """One evaluation run. ``model`` and ``out`` are required."""

    model: str = field(
        metadata={"help": "Local model dir or hub id (hf, vllm), or the served model name (openai)."}
    )
    out: str = field(metadata={"help": "Output dir: items.jsonl, summary.{json,md,csv}, run.json."})
    adapter: str | None = field(default=None, metadata={"help": "LoRA adapter dir on top of the model."})
    gguf_file: str | None = field(
        default=None,
        metadata={"help": "GGUF file converted once to a cached HF folder ('packaged': Gemma 3 270M)."},
    )
    backend: Literal["hf", "vllm", "openai"] = field(
        default="hf", metadata={"help": "Generation backend (medzero.evaluate.backends.BACKENDS)."}
    )
    benchmarks: list[str] = field(
        default_factory=lambda: list(SEED_BENCHMARKS),
        metadata={"help": "Registered names, 'sample', or file:PATH (default: the seed's six)."},
    )
    data_dir: str | None = field(
        default=None, metadata={"help": "Folder with the benchmark files (layout of ../shared/data)."}
    )
    limit: int | None = field(
        default=None, metadata={"help": "First N questions of each benchmark (after exclusions)."}
    )
    samples: int = field(default=1, metadata={"help": "Completions per question; > 1 needs temperature > 0."})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy decoding."})
    max_new_tokens: int = field(default=1024, metadata={"help": "Generated-token cap per completion."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    batch_size: int = field(
        default=16, metadata={"help": "hf: prompts per generate call; openai: requests in flight."}
    )
    template: str = field(
        default="r1zero",
        metadata={"help": "Prompt template from medzero.data.prompts (sets prompt.template)."},
    )
    prompt: PromptConfig | None = field(
        default=None,
        metadata={
            "help": "The whole prompt configuration (template, system prompt, instruction, option "
            "format, system role), e.g. a training run's data.prompt; None: the template's defaults. "
            "When given, its template wins over `template`."
        },
    )
    think_preopened: bool | None = field(
        default=None,
        metadata={
            "help": "The chat template opens <think> itself; None: detected from the tokenizer "
            "(`--run` takes the training run's value)."
        },
    )
    exclude_ids: str | None = field(
        default=None, metadata={"help": "Ids file, JSON list, or a `data prepare` manifest (its train_ids)."}
    )
    base_url: str | None = field(default=None, metadata={"help": "openai: server URL ending in /v1."})
    api_key: str | None = field(default=None, metadata={"help": "openai: bearer token (or $OPENAI_API_KEY)."})
    device: str | None = field(default=None, metadata={"help": "hf: cpu / cuda / cuda:N (default: auto)."})
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = field(
        default="auto", metadata={"help": "Weights dtype (auto: bf16 on GPU, fp32 on CPU)."}
    )
    max_attempts: int = field(
        default=3, metadata={"help": "Generation rounds for items whose generation failed."}
    )
    n_boot: int = field(default=2000, metadata={"help": "Bootstrap resamples for the 95% CIs."})
    tools: Literal["search"] | None = field(
        default=None,
        metadata={"help": "Let the model call a tool while it answers (hf, openai); needs `index`."},
    )
    index: str | None = field(
        default=None, metadata={"help": "tools=search: a `medzero corpus build` index folder."}
    )
    tool_k: int = field(default=3, metadata={"help": "tools=search: passages per search."})
    max_calls: int = field(
        default=2,
        metadata={"help": "tools: rounds of tool calls per completion (as tools.search.max_calls)."},
    )
    tool_max_chars: int | None = field(
        default=None, metadata={"help": "tools=search: cut each passage to this many characters."}
    )
    tool_baseline: bool = field(
        default=True,
        metadata={
            "help": "tools: also score the same items without the tool (OUT/without_tool) and "
            "report with vs without (paired CI)."
        },
    )

    def __post_init__(self) -> None:
        self.prompt = prompt_settings(self.prompt, self.template)
        self.template = self.prompt.template
        if isinstance(self.benchmarks, str):
            self.benchmarks = [b.strip() for b in self.benchmarks.split(",") if b.strip()]
        if not self.benchmarks:
            raise ConfigError("benchmarks: give at least one benchmark name")
        for name, allowed in (
            ("backend", tuple(BACKENDS.names())),
            ("template", tuple(TEMPLATES.names())),
            ("dtype", ("auto", "float32", "bfloat16", "float16")),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        self._check_values()
        if self.samples < 1:
            raise ConfigError(f"samples must be >= 1, got {self.samples}")
        if self.samples > 1 and self.temperature <= 0:
            raise ConfigError(
                f"samples={self.samples} with temperature={self.temperature}: greedy samples are "
                "identical; set --temperature > 0 (e.g. 0.7) or --samples 1"
            )
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be >= 1, got {self.limit}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.backend == "openai" and not self.base_url:
            raise ConfigError("backend=openai needs base_url (e.g. http://127.0.0.1:8000/v1)")
        if self.tools is not None:
            if self.tools != "search":
                raise ConfigError(f"tools must be 'search', got {self.tools!r}")
            if not self.index:
                raise ConfigError("--tools search needs --index INDEX (a `medzero corpus build` folder)")
            if self.tool_k < 1 or self.max_calls < 1:
                raise ConfigError(f"tool_k and max_calls must be >= 1, got {self.tool_k}, {self.max_calls}")
        if self.gguf_file and self.backend == "openai":
            raise ConfigError(
                "gguf_file: the openai backend serves its own model; --gguf-file is for hf and vllm"
            )
        if self.adapter and self.backend == "openai":
            raise ConfigError("adapter: serve the adapter on the server side; --adapter is for hf and vllm")

    def _check_values(self) -> None:
        """Values nobody else checks: repeated benchmarks, temperature, device, local paths."""
        import math
        import re

        from medzero.models.local import check_local_model

        repeated = sorted({b for b in self.benchmarks if self.benchmarks.count(b) > 1})
        if repeated:
            raise ConfigError(f"benchmarks: {', '.join(repeated)} given more than once")
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if self.device is not None and not re.fullmatch(r"cpu|mps|cuda(:\d+)?", self.device):
            raise ConfigError(f"device must be cpu, cuda, cuda:N or mps, got {self.device!r}")
        if self.n_boot < 1:
            raise ConfigError(f"n_boot must be >= 1, got {self.n_boot}")
        if self.backend != "openai" and not self.gguf_file and not self.model.endswith(".gguf"):
            check_local_model(self.model, "--model")
        if self.adapter is not None:
            check_local_model(self.adapter, "--adapter", "adapter_config.json")

    #: settings that change the outputs; an OUT dir written with others cannot be resumed. The
    #: batch size is not among them: sampled items are seeded per (question, sample).
    IDENTITY = (
        "model",
        "adapter",
        "backend",
        "template",
        "prompt",
        "think_preopened",
        "temperature",
        "max_new_tokens",
        "seed",
        "dtype",
        "device",
        "tools",
        "index",
        "tool_k",
        "max_calls",
        "tool_max_chars",
    )

    def identity(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.IDENTITY}
        out["prompt"] = asdict(self.prompt) if self.prompt is not None else None
        if out["prompt"] is not None and out["prompt"]["demonstration"] is None:
            del out["prompt"]["demonstration"]  # so OUT dirs written before it existed still resume
        if self.gguf_file:  # left out while unset, so OUT dirs written before it existed still resume
            out["gguf_file"] = self.gguf_file
        return out

    def prompt_for(self, benchmark_template: str | None) -> PromptConfig:
        """The prompt configuration for a benchmark (one that fixes its own template keeps the
        rest of the configuration)."""
        assert self.prompt is not None  # set in __post_init__
        if benchmark_template and benchmark_template != self.prompt.template:
            return replace(self.prompt, template=benchmark_template)
        return self.prompt

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("api_key", None)  # never written to disk
        return d
