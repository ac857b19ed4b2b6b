"""The transformers backend: batched ``model.generate`` on CPU or GPU.

Prompts are rendered in the layout of :func:`medzero.data.prompts.prompt_form` (the chat template;
for a base model without one, R1-Zero's plain-text prompt, whose turn ends at ``</answer>``: a
generation stops there), sorted by length
(longest first, so an out-of-memory error shows up on the first batch and padding is minimal),
left-padded and generated ``batch_size`` at a time. Greedy decoding unless ``temperature > 0``;
then every (prompt, sample) row draws its tokens from its own generator seeded with
``seeds[i][j]`` (:class:`_SeededSampler`), so a sample does not depend on the batch it is in.
A batch that runs out of memory is split in half and retried; a single prompt that still fails
comes back as :meth:`Generation.failed`.

With ``tools`` (``medzero eval --tools``) prompts are rendered with the tools listed (the chat
template must support them, see :mod:`medzero.models.toolcall`) and each completion is parsed as
TRL's tool loop parses it (``trl.chat_template_utils.parse_response``): the text becomes the
content, a call comes back in :attr:`Generation.tool_calls`. :mod:`medzero.evaluate.tooluse` runs
the calls and asks again.

Image questions (prompts whose user turn has ``{"type": "image", "image": PATH}`` parts, from
:func:`medzero.data.prompts.with_images`) need a vision-language model folder, one with a
processor (``processor_config.json`` or ``preprocessor_config.json``): it is then loaded with
``AutoModelForImageTextToText``, its processor renders the chat template and turns the images
(RGB, scaled to at most :data:`~medzero.data.images.DEFAULT_MAX_PIXELS`) into model inputs.
Image prompts are generated in batches of their own; with a text-only model they fail with a
message that says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LogitsProcessorList

from medzero.data.prompts import (
    PromptForm,
    image_paths,
    messages_to_text,
    prompt_form,
    stop_cut,
    template_preopens_think,
)
from medzero.errors import ConfigError
from medzero.evaluate.backends import BackendConfig, Generation, Message, position_seeds
from medzero.models.local import loading

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _resolve_device(device: str | None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


_PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")


def _vision_processor(config: BackendConfig) -> Any:
    """The processor of a local vision-language model folder, else ``None``."""
    if not any((Path(config.model) / f).is_file() for f in _PROCESSOR_FILES):
        return None
    from transformers import AutoProcessor

    proc = AutoProcessor.from_pretrained(config.model)
    return proc if hasattr(proc, "image_processor") and hasattr(proc, "tokenizer") else None


def _eos_ids(tokenizer: Any, model: Any) -> set[int]:
    ids = model.generation_config.eos_token_id if model.generation_config is not None else None
    out = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        out.add(tokenizer.eos_token_id)
    return out


def context_length(model: Any, tokenizer: Any) -> int | None:
    """The longest sequence (prompt + completion) the model takes, from its config (or a sane
    ``tokenizer.model_max_length``); None when neither says."""
    cfg = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    return value if isinstance(value, int) and 0 < value < 10**7 else None


class _SeededSampler:
    """A logits processor that samples each row with its own ``torch.Generator`` (plain
    temperature sampling) and leaves only the drawn token finite, so that greedy decoding then
    (or sampling) can only pick it. ``generate`` draws a batch from one shared RNG; this makes
    row ``r`` depend on ``seeds[r]`` alone."""

    def __init__(self, seeds: list[int], temperature: float):
        self.seeds, self.temperature = seeds, temperature
        self.gens: list[torch.Generator] | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.gens is None:
            self.gens = [torch.Generator(device=scores.device).manual_seed(s) for s in self.seeds]
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        picks = torch.cat([torch.multinomial(probs[r], 1, generator=g) for r, g in enumerate(self.gens)])
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(scores.shape[0], device=scores.device), picks] = 0.0
        return out


class HFBackend:
    """transformers generation; see the module docstring."""

    name = "hf"

    def __init__(self, config: BackendConfig, model: Any = None, tokenizer: Any = None):
        self.config = config
        self.device = _resolve_device(config.device)
        #: the processor of a vision-language model (image questions); None for a text model
        self.processor = _vision_processor(config) if model is None else None
        if tokenizer is None and self.processor is not None:
            tokenizer = self.processor.tokenizer
        if tokenizer is None:
            # an adapter saved with its tokenizer (added tokens, chat template) takes precedence
            has_own = config.adapter and (Path(config.adapter) / "tokenizer_config.json").is_file()
            source = config.adapter if has_own else config.model
            with loading("--adapter" if has_own else "--model", str(source)):
                tokenizer = AutoTokenizer.from_pretrained(source)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if model is None:
            dtype = config.dtype
            torch_dtype = (
                (torch.bfloat16 if self.device.type == "cuda" else torch.float32)
                if dtype == "auto"
                else _DTYPES[dtype]
            )
            if self.processor is not None:
                from transformers import AutoModelForImageTextToText as auto
            else:
                auto = AutoModelForCausalLM
            with loading("--model", config.model):
                model = auto.from_pretrained(config.model, dtype=torch_dtype)
            if config.adapter:
                from peft import PeftModel

                with loading("--adapter", config.adapter):
                    model = PeftModel.from_pretrained(model, config.adapter).merge_and_unload()
            model.to(self.device)
        model.eval()
        self.model = model
        self.tokenizer = tokenizer
        self.think_preopened = template_preopens_think(tokenizer)
        #: the model's context (prompt + new tokens), None when the config does not say
        self.context_length = context_length(model, tokenizer)
        # distinct prompts whose new-token cap was lowered to fit the context / that alone fill it
        self._capped: set[tuple[int, ...]] = set()
        self._overlong: set[tuple[int, ...]] = set()
        self._eos = _eos_ids(tokenizer, model)
        # Chat templates add their own BOS; the plain layout needs the tokenizer's special tokens.
        self._add_special = not getattr(tokenizer, "chat_template", None)
        self._tools: list[Any] | None = None
        self._stops: list[str] | None = None

    def prompt_form(self, messages: list[Message]) -> PromptForm:
        """The layout these messages get with this tokenizer (it says whether ``<think>`` is opened)."""
        return prompt_form(messages, self.tokenizer)

    @property
    def capped_prompts(self) -> int:
        """Distinct prompts that got fewer new tokens than asked, so as to fit the context."""
        return len(self._capped)

    @property
    def overlong_prompts(self) -> int:
        """Distinct prompts that alone fill the context (their generations failed)."""
        return len(self._overlong)

    def encode(self, prompts: list[list[Message]], tools: list[Any] | None = None) -> list[list[int]]:
        """Token ids of each rendered prompt (no padding); ``tools`` are listed in the prompt."""
        if tools:
            if not getattr(self.tokenizer, "chat_template", None):
                raise ConfigError("tools need a chat template that renders them; this tokenizer has none")
            texts = [
                self.tokenizer.apply_chat_template(p, tools=tools, tokenize=False, add_generation_prompt=True)
                for p in prompts
            ]
        else:
            texts = [messages_to_text(p, self.tokenizer) for p in prompts]
        # verbose=False: a prompt longer than the context is reported by generate(), not by
        # the tokenizer's "Token indices sequence length is longer than ..." warning
        return self.tokenizer(texts, add_special_tokens=self._add_special, verbose=False)["input_ids"]

    def generate(
        self,
        prompts: list[list[Message]],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        seed: int = 0,
        seeds: list[list[int]] | None = None,
        tools: list[Any] | None = None,
    ) -> list[list[Generation]]:
        seeds = seeds if seeds is not None else position_seeds(seed, len(prompts), n)
        pictured = [i for i, p in enumerate(prompts) if image_paths(p)]
        if not pictured:
            return self._generate_text(prompts, n, temperature, max_new_tokens, seeds, tools)
        results: list[list[Generation]] = [[] for _ in prompts]
        plain = [i for i in range(len(prompts)) if i not in set(pictured)]
        if plain:
            outs = self._generate_text(
                [prompts[i] for i in plain], n, temperature, max_new_tokens, [seeds[i] for i in plain], tools
            )
            for i, gens in zip(plain, outs, strict=True):
                results[i] = gens
        if self.processor is None:
            why = f"{self.config.model} has no image processor: it cannot read image questions"
            for i in pictured:
                results[i] = [Generation.failed(why)] * n
            return results
        bs = max(1, self.config.batch_size)
        for start in range(0, len(pictured), bs):
            batch = pictured[start : start + bs]
            outs = self._run_images(
                [prompts[i] for i in batch], [seeds[i] for i in batch], n, temperature, max_new_tokens
            )
            for i, gens in zip(batch, outs, strict=True):
                results[i] = gens
        return results

    @torch.inference_mode()
    def _run_images(
        self,
        prompts: list[list[Message]],
        seeds: list[list[int]],
        n: int,
        temperature: float,
        max_new_tokens: int,
    ) -> list[list[Generation]]:
        """One batch of image prompts through the processor and ``generate``."""
        from medzero.data.images import DEFAULT_MAX_PIXELS, load_image

        self._tools, self._stops = None, None
        texts = [
            self.processor.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts
        ]
        images = [load_image(path, DEFAULT_MAX_PIXELS) for p in prompts for path in image_paths(p)]
        enc = self.processor(images=images, text=texts, padding=True, return_tensors="pt").to(self.device)
        lengths = enc["attention_mask"].sum(dim=1).tolist()  # prompt tokens, image tokens included
        return self._generate_encoded(
            enc, [[0] * int(k) for k in lengths], seeds, n, temperature, max_new_tokens
        )

    def _generate_text(
        self,
        prompts: list[list[Message]],
        n: int,
        temperature: float,
        max_new_tokens: int,
        seeds: list[list[int]],
        tools: list[Any] | None,
    ) -> list[list[Generation]]:
        ids = self.encode(prompts, tools)
        self._tools = tools or None
        self._stops = sorted({f.stop for f in map(self.prompt_form, prompts) if f.stop}) or None
        results: list[list[Generation]] = [[] for _ in prompts]
        # Prompt + new tokens must fit the context: each prompt's cap is lowered to what fits
        # (counted in capped_prompts) and a prompt that alone fills it fails with a clear error.
        # Prompts are grouped by cap, so a prompt's cap never depends on its batch neighbours.
        by_cap: dict[int, list[int]] = {}
        for i, x in enumerate(ids):
            cap = (
                max_new_tokens
                if self.context_length is None
                else min(max_new_tokens, self.context_length - len(x))
            )
            if cap < 1:
                self._overlong.add(tuple(x))
                results[i] = [
                    Generation.failed(
                        f"the prompt has {len(x)} tokens, the model's context is {self.context_length}: "
                        "nothing can be generated (shorten the prompt or use a model with a longer context)"
                    )
                ] * n
                continue
            if cap < max_new_tokens:
                self._capped.add(tuple(x))
            by_cap.setdefault(cap, []).append(i)
        bs = max(1, self.config.batch_size)
        for cap, members in sorted(by_cap.items(), reverse=True):
            order = sorted(members, key=lambda i: -len(ids[i]))
            for start in range(0, len(order), bs):
                batch = order[start : start + bs]
                outs = self._generate_batch(
                    [ids[i] for i in batch], [seeds[i] for i in batch], n, temperature, cap
                )
                for i, gens in zip(batch, outs, strict=True):
                    results[i] = gens
        return results

    def _generation_config(self, n: int, sample: bool, max_new_tokens: int) -> GenerationConfig:
        # When sampling, _SeededSampler (the last processor) draws the token and leaves only it
        # finite, so generate's own draw can only pick it: plain temperature sampling (no
        # top-k/top-p, as vLLM/OpenAI servers do) from each row's own generator.
        return GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=sample,
            temperature=1.0 if sample else None,
            top_p=1.0 if sample else None,
            top_k=0 if sample else None,
            num_return_sequences=n,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=sorted(self._eos) or None,
        )

    def _generate_batch(
        self,
        batch_ids: list[list[int]],
        seeds: list[list[int]],
        n: int,
        temperature: float,
        max_new_tokens: int,
    ) -> list[list[Generation]]:
        try:
            return self._run(batch_ids, seeds, n, temperature, max_new_tokens)
        except torch.OutOfMemoryError as exc:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(batch_ids) == 1:
                return [[Generation.failed(f"out of memory: {exc}")] * n]
            half = len(batch_ids) // 2
            args = (n, temperature, max_new_tokens)
            return self._generate_batch(batch_ids[:half], seeds[:half], *args) + self._generate_batch(
                batch_ids[half:], seeds[half:], *args
            )

    @torch.inference_mode()
    def _run(
        self,
        batch_ids: list[list[int]],
        seeds: list[list[int]],
        n: int,
        temperature: float,
        max_new_tokens: int,
    ) -> list[list[Generation]]:
        enc = self.tokenizer.pad({"input_ids": batch_ids}, padding=True, return_tensors="pt").to(self.device)
        return self._generate_encoded(enc, batch_ids, seeds, n, temperature, max_new_tokens)

    def _generate_encoded(
        self,
        enc: Any,
        prompts: list[list[int]],
        seeds: list[list[int]],
        n: int,
        temperature: float,
        max_new_tokens: int,
    ) -> list[list[Generation]]:
        """``generate`` on an encoded, padded batch (text or image prompts); ``prompts``: each
        row's prompt tokens (their count is reported; tool calls are parsed after them)."""
        gen_cfg = self._generation_config(n, temperature > 0, max_new_tokens)
        processors = LogitsProcessorList()
        if temperature > 0:  # rows are prompt-major: prompt i's samples are rows i*n .. i*n+n-1
            processors.append(_SeededSampler([s for row in seeds for s in row[:n]], temperature))
        extra: dict[str, Any] = {}
        if self._stops:  # a base model's turn ends at </answer> (stop strings need the tokenizer)
            gen_cfg.stop_strings = self._stops
            extra["tokenizer"] = self.tokenizer
        out = self.model.generate(**enc, generation_config=gen_cfg, logits_processor=processors, **extra)
        new = out[:, enc["input_ids"].shape[1] :].tolist()
        return [
            [self._to_generation(new[row * n + j], prompt) for j in range(n)]
            for row, prompt in enumerate(prompts)
        ]

    def _to_generation(self, tokens: list[int], prompt: list[int]) -> Generation:
        cut = next((k for k, t in enumerate(tokens) if t in self._eos), None)
        if cut is None:
            kept, reason = tokens, "length"
        else:
            kept, reason = tokens[: cut + 1], "stop"
        for stop in self._stops or ():
            at = stop_cut(kept, self.tokenizer, stop)
            if at is not None:
                kept, reason = kept[:at], "stop"
        if self._tools:
            from trl.chat_template_utils import parse_response

            parsed = parse_response(self.tokenizer, kept, prefix=prompt, tools=self._tools)
            content = parsed.get("content")
            text = content if isinstance(content, str) else ""
            return Generation(text, len(prompt), len(kept), reason, tool_calls=parsed.get("tool_calls") or [])
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return Generation(text, len(prompt), len(kept), reason)

    def close(self) -> None:
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
