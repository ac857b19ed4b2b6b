"""The vLLM backend: offline batched generation with ``vllm.LLM.chat`` (GPU; optional extra).

Install with ``pip install 'medzero[vllm]'``. vLLM applies the model's chat template itself,
schedules all prompts at once (continuous batching) and returns ``n`` samples per prompt. A LoRA
adapter is served with ``enable_lora=True`` and a ``LoRARequest``. Sampling is seeded per call
(``SamplingParams.seed``), so a rerun with the same settings reproduces its samples.
"""

from __future__ import annotations

from typing import Any

from medzero.errors import ConfigError
from medzero.evaluate.backends import BackendConfig, Generation, Message, position_seeds


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise ConfigError(
            "the vllm backend needs vLLM: pip install 'medzero[vllm]' (GPU only), "
            "or use --backend hf / --backend openai"
        ) from exc
    return vllm


class VLLMBackend:
    """vLLM offline inference; see the module docstring."""

    name = "vllm"

    def __init__(self, config: BackendConfig):
        vllm = _import_vllm()
        self.config = config
        kwargs: dict[str, Any] = {
            "model": config.model,
            "dtype": config.dtype,
            "gpu_memory_utilization": config.gpu_memory_utilization,
            "tensor_parallel_size": config.tensor_parallel_size,
            "seed": 0,
        }
        if config.max_model_len:
            kwargs["max_model_len"] = config.max_model_len
        self._lora = None
        if config.adapter:
            from vllm.lora.request import LoRARequest

            kwargs["enable_lora"] = True
            kwargs["max_lora_rank"] = _adapter_rank(config.adapter)
            self._lora = LoRARequest("adapter", 1, config.adapter)
        self.llm = vllm.LLM(**kwargs)
        self._sampling_params = vllm.SamplingParams
        from medzero.data.prompts import template_preopens_think

        self.think_preopened = template_preopens_think(self.llm.get_tokenizer())

    def generate(
        self,
        prompts: list[list[Message]],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        seed: int = 0,
        seeds: list[list[int]] | None = None,
    ) -> list[list[Generation]]:
        def params(k: int, sample_seed: int | None) -> Any:
            return self._sampling_params(
                n=k,
                temperature=temperature,
                top_p=1.0,
                max_tokens=max_new_tokens,
                seed=sample_seed,
                skip_special_tokens=True,
            )

        if temperature > 0:  # one request per (prompt, sample), each with its own seed
            seeds = seeds if seeds is not None else position_seeds(seed, len(prompts), n)
            flat = [(p, s) for p, row in zip(prompts, seeds, strict=True) for s in row[:n]]
            outputs = self.llm.chat(
                [p for p, _ in flat],
                sampling_params=[params(1, s) for _, s in flat],
                lora_request=self._lora,
                use_tqdm=False,
            )
            per_sample = self._to_generations(outputs)
            return [[g for gs in per_sample[i * n : (i + 1) * n] for g in gs] for i in range(len(prompts))]
        outputs = self.llm.chat(
            prompts, sampling_params=params(n, None), lora_request=self._lora, use_tqdm=False
        )
        return self._to_generations(outputs)

    @staticmethod
    def _to_generations(outputs: Any) -> list[list[Generation]]:
        results: list[list[Generation]] = []
        for req in outputs:
            prompt_tokens = len(req.prompt_token_ids or [])
            gens = []
            for out in req.outputs:
                reason = out.finish_reason if out.finish_reason in ("stop", "length") else "error"
                gens.append(
                    Generation(
                        text=out.text,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=len(out.token_ids),
                        finish_reason=reason,
                        error=None if reason != "error" else f"vLLM finish_reason={out.finish_reason}",
                    )
                )
            results.append(gens)
        return results

    def close(self) -> None:
        self.llm = None


def _adapter_rank(adapter_dir: str) -> int:
    """The LoRA rank ``r`` from ``adapter_config.json`` (vLLM must reserve at least that)."""
    import json
    from pathlib import Path

    cfg_path = Path(adapter_dir) / "adapter_config.json"
    if not cfg_path.is_file():
        raise ConfigError(f"{cfg_path}: not found; --adapter must be a PEFT LoRA directory")
    rank = int(json.loads(cfg_path.read_text(encoding="utf-8")).get("r", 16))
    # vLLM accepts only these ranks for max_lora_rank.
    return next((r for r in (8, 16, 32, 64, 128, 256, 320, 512) if r >= rank), rank)
