"""Everything before the model weights are loaded: resolve the model, load the tokenizer, build
the training rows under the prompt cap, gather what the checks need cheaply, run the checks.

``medzero train --check`` stops here; a training run stops here too when a check is fatal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medzero.data.prompts import PromptForm
from medzero.errors import ConfigError
from medzero.models.local import check_local_model
from medzero.train.checks import Context, Finding, errors, run_checks
from medzero.train.dataset import PromptReport, build_rows, load_questions
from medzero.train.recipe import Recipe
from medzero.train.scale import AccelerateConfig, environment_setup, recipe_setup
from medzero.train.validation import split_holdout

WARMUP_DIR = "warmup"  # the warm-up's folder inside a run directory


@dataclass
class Preflight:
    """The result of the pre-flight stage."""

    recipe: Recipe
    model_path: str
    tokenizer: Any
    questions: list[Any]
    rows: list[dict[str, Any]]
    report: PromptReport
    findings: list[Finding] = field(default_factory=list)
    #: the prompt layout for this tokenizer (None: tokenizer unavailable in ``--check``)
    form: PromptForm | None = None
    validation: Any = None  # LoadedBenchmark of the validation questions, when the recipe has some
    #: the processor TRL gets for image questions (None: text questions, the tokenizer is used)
    processor: Any = None

    @property
    def processing_class(self) -> Any:
        """What TRL's ``processing_class`` and the saved checkpoints get."""
        return self.processor if self.processor is not None else self.tokenizer

    @property
    def think_preopened(self) -> bool:
        return bool(self.form and self.form.think_preopened)

    @property
    def ok(self) -> bool:
        return not errors(self.findings)


def world_size() -> int:
    """Number of training processes from the launcher's environment (torchrun/accelerate/MPI).

    Read from the environment on purpose: creating accelerate's ``PartialState`` here would fix
    the distributed set-up before ``GRPOConfig(use_cpu=...)`` can choose it."""
    for key in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        if os.environ.get(key):
            return int(os.environ[key])
    return 1


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_model_path(recipe: Recipe, questions: list[Any] | None = None) -> str:
    """``tiny`` -> the tiny model with a tokenizer trained on the recipe's training ``questions``
    and weights seeded by ``grpo.seed``, built on first use and cached by a hash of both;
    a GGUF file (``model.gguf_file``, or a ``.gguf`` name) -> converted once and cached
    (:func:`medzero.models.resolve.resolve_model`); anything else as given. A local path that
    does not exist is an error (it cannot be a hub id either)."""
    name = recipe.model.name_or_path
    if recipe.model.gguf_file or name.endswith(".gguf"):
        from medzero.models.resolve import resolve_model

        return resolve_model(name, recipe.model.gguf_file)
    if name == "tiny":
        from medzero.models.tiny import corpus_from_questions, ensure_tiny_model

        corpus = corpus_from_questions(questions, recipe.data.prompt) if questions else None
        return str(ensure_tiny_model(seed=run_seed(recipe), corpus=corpus))
    check_local_model(name, f'{recipe.source or "<recipe>"}: "model.name_or_path"')
    return name


def attn_implementation(recipe: Recipe, cuda: bool | None = None) -> tuple[str | None, str | None]:
    """The attention implementation the model is loaded with, and a note when it is not the
    recipe's: ``flash_attention_2`` needs the ``flash_attn`` package and a CUDA device; without
    them ``model.attn_fallback`` (``sdpa``: same attention, more memory on long sequences) is used."""
    import importlib.util

    m = recipe.model
    if m.attn_implementation != "flash_attention_2" or m.attn_fallback is None:
        return m.attn_implementation, None
    cuda = has_cuda() if cuda is None else cuda
    missing = []
    if importlib.util.find_spec("flash_attn") is None:
        missing.append("flash_attn is not installed")
    if not cuda:
        missing.append("there is no CUDA device")
    if not missing:
        return m.attn_implementation, None
    return m.attn_fallback, (
        f"model.attn_implementation is flash_attention_2 but {' and '.join(missing)}: loading with "
        f"{m.attn_fallback!r} (model.attn_fallback) instead"
    )


def run_seed(recipe: Recipe) -> int:
    """The seed of the tiny model's weights and of the warm-up: ``grpo.seed`` (0 when unset)."""
    return int(recipe.grpo.get("seed", 0))


def read_model_config(path: str, recipe: Recipe) -> dict[str, Any] | None:
    """``config.json`` of a local dir or of a hub model already in the local cache (no download)."""
    local = Path(path) / "config.json"
    if local.is_file():
        return json.loads(local.read_text(encoding="utf-8"))
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(path, "config.json", revision=recipe.model.revision)
    except Exception:  # not a repo id, or no cache
        return None
    if isinstance(cached, str) and Path(cached).is_file():
        return json.loads(Path(cached).read_text(encoding="utf-8"))
    return None


def meta_module_names(path: str, recipe: Recipe, vision: bool = False) -> list[str] | None:
    """Module names from a meta-device instance of the architecture (no weights, no memory).
    ``vision``: image questions, the class training loads (``AutoModelForImageTextToText``: its
    names, e.g. ``model.language_model.layers.0.self_attn.q_proj``, are what LoRA targets match)."""
    try:
        from accelerate import init_empty_weights
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

        cfg = AutoConfig.from_pretrained(path, trust_remote_code=recipe.model.trust_remote_code)
        auto = AutoModelForImageTextToText if vision else AutoModelForCausalLM
        with init_empty_weights():
            model = auto.from_config(cfg, trust_remote_code=recipe.model.trust_remote_code)
        return [name for name, _ in model.named_modules()]
    except Exception:  # unknown architecture offline: the LoRA check is skipped
        return None


def _from_pretrained(auto: Any, path: str, recipe: Recipe, required: bool, what: str) -> Any:
    """``auto.from_pretrained`` with the recipe's revision and remote-code setting; a failure is a
    :class:`ConfigError` naming ``what`` when ``required``, else ``None``."""
    try:
        return auto.from_pretrained(
            path, revision=recipe.model.revision, trust_remote_code=recipe.model.trust_remote_code
        )
    except (OSError, ValueError) as exc:
        if required:
            raise ConfigError(f"cannot load {what}: {exc}") from None
        return None


def chat_template_text(recipe: Recipe) -> str | None:
    """``model.chat_template``: the text of a ``.jinja`` file it names, else the template text itself."""
    template = recipe.model.chat_template
    if not template:
        return None
    p = Path(template).expanduser()
    return p.read_text(encoding="utf-8") if p.suffix == ".jinja" and p.is_file() else template


def load_tokenizer(path: str, recipe: Recipe, required: bool = True) -> Any:
    """The tokenizer, with the recipe's chat template installed; ``None`` if unavailable and not required."""
    from transformers import AutoTokenizer

    tok = _from_pretrained(AutoTokenizer, path, recipe, required, f'the tokenizer of model "{path}"')
    if tok is None:
        return None
    template = chat_template_text(recipe)
    if template is not None:
        tok.chat_template = template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_processor(path: str, recipe: Recipe, required: bool = True) -> Any:
    """The processor for image questions (its tokenizer gets the recipe's chat template, as
    :func:`load_tokenizer` does); ``None`` if unavailable and not required."""
    from transformers import AutoProcessor

    proc = _from_pretrained(
        AutoProcessor, path, recipe, required, f'the processor of "{path}" (model.processor)'
    )
    if proc is None:
        return None
    if not hasattr(proc, "tokenizer") or not hasattr(proc, "image_processor"):
        raise ConfigError(
            f'"{path}" has no image processor, but the training questions carry images; set '
            "model.processor to a vision-language model's processor"
        )
    template = chat_template_text(recipe)
    if template is not None:
        proc.chat_template = proc.tokenizer.chat_template = template
    if proc.tokenizer.pad_token is None:
        proc.tokenizer.pad_token = proc.tokenizer.eos_token
    return proc


def preflight(
    recipe: Recipe, *, for_training: bool = True, launch: AccelerateConfig | None = None
) -> Preflight:
    """Resolve, build rows and run every check. ``for_training=False`` (``--check``) tolerates a
    model that is not available locally: the checks that need it are skipped. ``launch``: the
    accelerate config a ``--check`` is told about (world size, DeepSpeed); without it they come
    from this process's launcher."""
    from medzero.data.prompts import build_messages, prompt_form
    from medzero.rewards import build_reward_funcs

    base = Path(recipe.source).parent if recipe.source else None
    questions, held_out = split_holdout(
        load_questions(recipe.data, base_dir=base), recipe.validation, recipe.data.seed
    )
    model_path = resolve_model_path(recipe, questions)
    tokenizer = load_tokenizer(model_path, recipe, required=for_training)
    processor = None
    vision = any(q.images for q in questions)
    if vision:
        processor = load_processor(recipe.model.processor or model_path, recipe, required=for_training)
        tokenizer = processor.tokenizer if processor is not None else tokenizer
        if recipe.data.prompt_overflow == "truncate_left":
            raise ConfigError(
                'data.prompt_overflow "truncate_left" turns prompts into text, which loses their '
                "images; use drop or truncate for image questions"
            )
    if tokenizer is not None:
        rows, report = build_rows(questions, recipe.data, tokenizer)
    else:
        rows, report = build_rows(questions, replace(recipe.data, prompt_max_tokens=None), None)
    form = prompt_form(build_messages(questions[0], recipe.data.prompt), tokenizer) if tokenizer else None
    funcs, _ = build_reward_funcs(recipe.rewards, reward_params(recipe, bool(form and form.think_preopened)))
    ds = recipe_setup(recipe.grpo, recipe.source, recipe.source or "<recipe>")
    if ds is None:
        ds = launch.deepspeed if launch is not None else environment_setup()
    ctx = Context(
        world_size=launch.num_processes if launch is not None else world_size(),
        deepspeed=ds,
        has_cuda=has_cuda(),
        model_config=read_model_config(model_path, recipe),
        module_names=meta_module_names(model_path, recipe, vision) if recipe.peft.active else None,
        tokenizer=tokenizer,
        columns=sorted(rows[0]) if rows else [],
        num_prompts=len(rows),
        reward_funcs=list(funcs),
        prompt_form=form,
    )
    findings = run_checks(recipe, ctx)
    _, attn_note = attn_implementation(recipe, ctx.has_cuda)
    if attn_note:
        findings.append(Finding("attention", "warning", attn_note))
    findings += warmup_findings(recipe, tokenizer, questions)
    if report.truncated or report.dropped:
        findings.append(Finding("prompt_cap", "warning", report.describe()))
    validation, found = validation_findings(recipe, base, questions, held_out)
    findings += found
    return Preflight(
        recipe, model_path, tokenizer, questions, rows, report, findings, form, validation, processor
    )


def validation_findings(
    recipe: Recipe, base: Path | None, questions: list[Any], held_out: list[Any] | None = None
) -> tuple[Any, list[Finding]]:
    """Load the ``validation:`` questions (an error finding when they cannot be read) and say
    what will be scored; warn when validation questions also appear in the training data."""
    from medzero.errors import MedzeroError
    from medzero.evaluate.scoring import question_key
    from medzero.train.checks import effective_grpo
    from medzero.train.validation import load_validation

    v = recipe.validation
    if not v.enabled:
        return None, []
    try:
        loaded = load_validation(v, base, held_out)
    except MedzeroError as exc:
        what = f"validation.benchmark {v.benchmark!r}" if v.benchmark else "validation.holdout"
        return None, [Finding("validation", "error", f"{what}: {exc}")]
    if any(getattr(q, "images", None) for q in loaded.records):
        return None, [
            Finding(
                "validation",
                "error",
                "the validation questions carry images, but validation scores through the evaluation "
                "engine's text backends: validate on text questions, or remove the validation section",
            )
        ]
    cap = v.max_new_tokens or effective_grpo(recipe).get("max_completion_length")
    source = "the training data (held out, not trained on)" if v.holdout else loaded.path
    stops = [f"at strict accuracy {v.stop_at}" if v.stop_at is not None else "",
             f"after {v.patience} validations without a new best" if v.patience is not None else ""]  # fmt: skip
    early = f"; stops early {' or '.join(x for x in stops if x)}" if any(stops) else ""
    found = [
        Finding(
            "validation",
            "info",
            f"{len(loaded.records)} questions from {source} every {v.every} steps, greedy, "
            f"up to {cap} new tokens; RUN_DIR/best keeps the model with the best strict accuracy{early}",
        )
    ]
    if loaded.skipped:
        found.append(
            Finding(
                "validation",
                "warning",
                f"{loaded.skipped} records of {loaded.path} could not be read: skipped",
            )
        )
    train_keys = {question_key(q) for q in questions}
    shared = sum(question_key(q) in train_keys for q in loaded.records)
    if shared:
        found.append(
            Finding(
                "validation",
                "warning",
                f"{shared} of {len(loaded.records)} validation questions are also training questions (same "
                "stem and options): validation accuracy will be optimistic",
            )
        )
    return loaded, found


def warmup_source(recipe: Recipe) -> Path:
    """The model folder ``warmup.from`` names: ``DIR/warmup`` of an earlier run, or ``DIR`` itself."""
    d = Path(str(recipe.warmup.from_)).expanduser()
    for cand in (d / WARMUP_DIR, d):
        if (cand / "config.json").is_file():
            return cand
    raise ConfigError(f'warmup.from: "{d}" holds no warm-up (no config.json in it or in {d / WARMUP_DIR})')


def warmup_findings(recipe: Recipe, tokenizer: Any, questions: list[Any]) -> list[Finding]:
    """The warm-up can run and its format fits: ``warmup.from`` names a warm-up with the same
    tokenizer; the longest warm-up target fits in ``max_completion_length``."""
    from medzero.train.checks import effective_grpo
    from medzero.train.warmup import longest_target

    w = recipe.warmup
    if w.from_:
        try:
            src = warmup_source(recipe)
        except ConfigError as exc:
            return [Finding("warmup_from", "error", str(exc))]
        if tokenizer is not None:
            other = load_tokenizer(str(src), recipe, required=False)
            if other is None or other.get_vocab() != tokenizer.get_vocab():
                return [
                    Finding(
                        "warmup_from",
                        "error",
                        f"warmup.from: {src} was warmed up with another tokenizer than the model "
                        f"{recipe.model.name_or_path} (e.g. a tiny model built from other training data); "
                        "warm up again (drop warmup.from) or train on the data it was built from.",
                    )
                ]
        return [Finding("warmup_from", "info", f"GRPO starts from the earlier warm-up {src}")]
    if not w.enabled or tokenizer is None or not questions:
        return []
    try:
        need, qid = longest_target(questions, tokenizer, **w.params)
    except (TypeError, ValueError) as exc:
        return [Finding("warmup", "error", f"warmup.params: {exc}")]
    cap = int(effective_grpo(recipe).get("max_completion_length") or 0)
    if need > cap:
        return [
            Finding(
                "warmup_fit",
                "error",
                f"the warm-up target needs up to {need} tokens (question {qid}, eos included) but "
                f"grpo.max_completion_length is {cap}: every completion would be cut off before its "
                f"answer and every reward would be 0. Fix: --set grpo.max_completion_length={need + 8}, "
                "or a smaller warmup.params.restate_tokens.",
            )
        ]
    return [Finding("warmup_fit", "info", f"warm-up targets take up to {need} of {cap} completion tokens")]


def reward_params(recipe: Recipe, think_preopened: bool) -> dict[str, dict[str, Any]]:
    """``reward_params`` plus ``think_preopened=True`` for every reward that takes it when the
    prompt opens ``<think>`` (an explicit recipe value wins; the checks flag a conflict)."""
    import dataclasses

    from medzero.rewards import REWARDS

    params = {name: dict(p or {}) for name, p in recipe.reward_params.items()}
    if think_preopened:
        for name in recipe.rewards:
            proto = REWARDS.get(name)
            if dataclasses.is_dataclass(proto) and "think_preopened" in {
                f.name for f in dataclasses.fields(proto)
            }:
                params.setdefault(name, {}).setdefault("think_preopened", True)
    return params
