"""The tiny local model: a byte-level BPE tokenizer trained here on the user's questions and a
randomly initialised Llama-family model, built from a config with no download.

* Tokenizer: byte-level BPE (vocab ~1024) trained on a corpus of questions (a training file, or by
  default the synthetic drug-class task of :mod:`medzero.data.synthetic`), the prompt template's
  text and a short bundled text. Digits are split one by one. Word pieces that must stay whole
  are *derived from the data* (:func:`derive_affixes`): word-initial and word-final character
  n-grams shared by many distinct words of the corpus (an invented drug's ``-olol``, a term's
  ``nephro-``) are always cut off as their own pieces — plain BPE on a tiny corpus splits them
  inconsistently or swallows whole names, and unseen names cannot be solved. No task vocabulary
  is written in code. ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` are ordinary added
  tokens (they survive ``skip_special_tokens``); pad, eos and the chat role markers are special
  tokens; padding is on the left; a small chat template makes
  ``apply_chat_template(messages, add_generation_prompt=True)`` work, with tools and tool calls
  too (a ``response_template`` parses calls back, as TRL's ``tools=`` needs).
* Model: :class:`transformers.LlamaConfig` sized by a :class:`TinyModelConfig` preset
  (``tiny``: hidden 128, 2 layers, ~0.6M parameters, fp32; ``small-100m``: ~100M for GPU checks).

:func:`ensure_tiny_model` caches the build under ``$MEDZERO_CACHE`` (or ``~/.cache/medzero``)
in a folder named by a hash of everything that shapes it (builder settings, seed and the corpus
texts), building into a temporary folder and renaming it into place, so concurrent builds never
leave a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medzero.data.prompts import PromptConfig, render_user
from medzero.data.schema import MCQ
from medzero.registry import Registry

# Bump when the build procedure changes: it is part of the cache key.
BUILD_VERSION = 2
MARKER = "medzero_tiny.json"

PAD, EOS = "<pad>", "</s>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")
# Tool calls (TRL's ``tools=``): the tools are listed first, an assistant's calls follow its text as
# <tool_call>{"name": ..., "arguments": {...}}</tool_call>, a tool's result is a ``tool`` turn.
# Without tools the rendering is what it always was. See medzero.models.toolcall.
CHAT_TEMPLATE = (
    "{%- if tools -%}"
    '<|system|>Tools you can call: write <tool_call>{"name": NAME, "arguments": {...}}</tool_call> '
    "and the result comes back as a tool turn."
    "{%- for t in tools %}{{ '\\n' }}{{ t | tojson }}{%- endfor %}{{ '\\n' }}"
    "{%- endif -%}"
    "{%- for m in messages -%}"
    "<|{{ m['role'] }}|>{{ m['content'] if m['content'] is string else '' }}"
    "{%- if m['role'] == 'assistant' %}"
    "{%- for c in m.get('tool_calls') or [] %}{%- set f = c['function'] if 'function' in c else c %}"
    '<tool_call>{"name": {{ f[\'name\'] | tojson }}, "arguments": '
    "{{ f['arguments'] if f['arguments'] is string else f['arguments'] | tojson }}}</tool_call>"
    "{%- endfor %}" + EOS + "{% endif %}{{ '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt %}<|assistant|>{% endif -%}"
)
# How ``tokenizer.parse_response`` reads a generated assistant turn back: tool calls out, the rest
# (reasoning and answer tags included) stays the content.
RESPONSE_TEMPLATE = {
    "defaults": {"role": "assistant"},
    "start_anchor": "<|assistant|>",
    "fields": {
        "tool_calls": {
            "open": "<tool_call>",
            "close_pattern": r"</tool_call>\s*",
            "repeats": True,
            "content": "json",
            "transform": {"type": "function", "function": "{content}"},
        },
        "content": {"close_pattern": EOS + r"\s*", "content": "text"},
    },
}

# A short bundled text so the tokenizer also sees ordinary clinical English.
_BUNDLED_TEXT = """\
The patient is a 54-year-old woman with chest pain that started two hours ago. Blood pressure is
150/90 mm Hg and the pulse is 96 per minute. Which of the following is the most likely diagnosis?
A 7-year-old boy presents with fever, cough and difficulty breathing. The most appropriate next
step in management is a chest radiograph. Laboratory studies show a hemoglobin concentration of
10 g/dL, a leukocyte count of 12,000/mm3 and a platelet count of 250,000/mm3. Which drug is the
best treatment? The mechanism of action of this drug is inhibition of an enzyme in the liver.
Adverse effects include cough, headache, dizziness, fatigue, nausea and muscle pain.
"""


@dataclass(frozen=True)
class TinyModelConfig:
    """Size of the randomly initialised Llama-family model (the tokenizer is the same for all)."""

    hidden_size: int = field(default=128, metadata={"help": "Model width (embedding size)."})
    num_layers: int = field(default=2, metadata={"help": "Number of decoder layers."})
    num_heads: int = field(default=4, metadata={"help": "Attention heads; must divide hidden_size."})
    intermediate_size: int = field(default=512, metadata={"help": "MLP width (usually 4x hidden)."})
    max_position_embeddings: int = field(
        default=2048, metadata={"help": "Context length in tokens (RoPE: costs no parameters)."}
    )
    vocab_size: int = field(
        default=1024, metadata={"help": "BPE vocabulary size to train (added tokens come on top)."}
    )
    initializer_range: float = field(
        default=0.02,
        metadata={
            "help": "Std of the random initial weights (transformers' default 0.02). Larger starts "
            "(0.06 at width 128) end the long plateau before a copy (induction) circuit forms."
        },
    )
    isolate: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "Regexes whose matches the tokenizer always keeps as pieces of their own (BPE "
            "never merges across them), e.g. the syllables of invented names."
        },
    )

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})"
            )


PRESETS: Registry[TinyModelConfig] = Registry("tiny model preset")
PRESETS.register("tiny", TinyModelConfig())
PRESETS.register(
    "small-100m",
    TinyModelConfig(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072),
)


def corpus_digest(texts: Sequence[str]) -> str:
    """SHA-256 of the corpus texts (part of the cache key)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()


def build_key(config: TinyModelConfig, seed: int, corpus: Sequence[str] | None = None) -> str:
    """A short hash of everything that shapes a build (cache folder name)."""
    texts = corpus if corpus is not None else default_corpus(seed)
    blob = json.dumps(
        {"v": BUILD_VERSION, "config": asdict(config), "seed": seed, "corpus": corpus_digest(texts)},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def corpus_from_questions(questions: Iterable[MCQ], prompt: PromptConfig | None = None) -> list[str]:
    """The tokenizer corpus of some questions: each rendered user message (stem, options,
    instruction) plus the template's system prompt."""
    prompt = prompt or PromptConfig(template="r1zero-short")
    system = prompt.resolved()[0] or ""
    return [system, *(render_user(q, prompt) for q in questions)]


def default_corpus(seed: int = 0, n_questions: int = 2000) -> list[str]:
    """The corpus when none is given: training questions of the synthetic drug-class task."""
    from medzero.data.synthetic import SYNTHETIC_PROMPT_CONFIG, drug_class_questions

    return corpus_from_questions(
        drug_class_questions(n_questions, seed=seed, split="train"), SYNTHETIC_PROMPT_CONFIG
    )


_WORD = re.compile(r"[^\W\d_]+")


def derive_affixes(
    texts: Iterable[str],
    *,
    min_len: int = 3,
    max_len: int = 8,
    min_share: float = 0.02,
    min_types: int = 8,
    max_affixes: int = 32,
) -> tuple[list[str], list[str]]:
    """Word-initial and word-final pieces that many distinct words of ``texts`` share.

    Counts each distinct lower-cased word once. A prefix (suffix) of ``min_len..max_len``
    characters is kept when at least ``max(min_types, min_share x distinct words)`` words start
    (end) with it and it is *maximal*: no one-character extension keeps half of those words
    and is not one variant among many of its one-shorter piece (``olol`` is kept; ``lol`` is not:
    every ``lol`` word ends in ``olol``; ``iolol`` is not: the letter before ``olol`` varies). Returns ``(prefixes, suffixes)``, longest first.
    """
    words = {w for t in texts for w in _WORD.findall(t.lower()) if len(w) >= min_len + 2}
    need = max(min_types, int(min_share * len(words)))
    found: list[list[str]] = []
    for side in ("prefix", "suffix"):
        counts: Counter[str] = Counter()
        for w in words:
            for n in range(min_len - 1, min(max_len, len(w) - 2) + 1):
                counts[w[:n] if side == "prefix" else w[-n:]] += 1
        ext: Counter[str] = Counter()  # the best one-character extension of each piece
        for g, c in counts.items():
            ext[_parent(g, side)] = max(ext[_parent(g, side)], c)
        keep = [
            g
            for g, c in counts.items()
            if len(g) >= min_len
            and c >= need
            and ext[g] < 0.5 * c  # the piece ends here: the next letter varies
            and c >= 0.5 * counts[_parent(g, side)]  # and starts here: not one of many variants
        ]
        keep.sort(key=lambda g: (-counts[g], g))
        found.append(sorted(keep[:max_affixes], key=lambda g: (-len(g), g)))
    return found[0], found[1]


def _parent(piece: str, side: str) -> str:
    return piece[:-1] if side == "prefix" else piece[1:]


def train_tokenizer(
    corpus: Sequence[str] | None = None, vocab_size: int = 1024, seed: int = 0, isolate: Sequence[str] = ()
) -> Any:
    """Train the byte-level BPE tokenizer on ``corpus`` (default: :func:`default_corpus`) and wrap
    it as a transformers fast tokenizer. Affixes derived from the corpus stay whole pieces, and so
    does every match of an ``isolate`` regex (matched before the affixes are split off)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = list(corpus) if corpus is not None else default_corpus(seed)
    prefixes, suffixes = derive_affixes(texts)
    splits = [pre_tokenizers.Digits(individual_digits=True)]
    if suffixes:
        pattern = "(?i)(?:" + "|".join(map(re.escape, suffixes)) + r")\b"
        splits.insert(0, pre_tokenizers.Split(Regex(pattern), behavior="isolated"))
    if prefixes:
        pattern = r"(?i) ?\b(?:" + "|".join(map(re.escape, prefixes)) + r")(?=\p{L})"
        splits.insert(0, pre_tokenizers.Split(Regex(pattern), behavior="isolated"))
    splits[:0] = [pre_tokenizers.Split(Regex(p), behavior="isolated") for p in isolate]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([*splits, pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Each derived piece also as text of its own (and after a space), so BPE always merges it whole.
    pieces = [p for a in (*prefixes, *suffixes) for p in (a, " " + a)] * 20
    tok.train_from_iterator([_BUNDLED_TEXT, *texts, *pieces, "<think>", "</think>"], trainer)
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in TAG_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        eos_token=EOS,
        padding_side="left",
        chat_template=CHAT_TEMPLATE,
        response_template=RESPONSE_TEMPLATE,
        model_max_length=1_000_000,
    )


def llama_config(config: TinyModelConfig, tokenizer: Any, **extra: Any) -> Any:
    """The ``LlamaConfig`` of a tiny model of size ``config`` over ``tokenizer`` (tied embeddings,
    no BOS); the tiny text model and the tiny VLM's language half both use it."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,
        initializer_range=config.initializer_range,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        **extra,
    )


def build_tiny_model(
    out_dir: str | Path,
    seed: int = 0,
    config: TinyModelConfig | None = None,
    corpus: Sequence[str] | None = None,
) -> Path:
    """Build tokenizer (trained on ``corpus``) + randomly initialised model (seeded) and
    ``save_pretrained`` both to ``out_dir``."""
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM

    config = config or TinyModelConfig()
    out = Path(out_dir)
    texts = list(corpus) if corpus is not None else default_corpus(seed)
    tokenizer = train_tokenizer(texts, config.vocab_size, seed, config.isolate)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama_config(config, tokenizer, dtype="float32")).to(torch.float32)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    prefixes, suffixes = derive_affixes(texts)
    info = {
        "build_version": BUILD_VERSION,
        "seed": seed,
        "config": asdict(config),
        "parameters": n_params,
        "corpus": {"texts": len(texts), "sha256": corpus_digest(texts)},
        "pieces_kept_whole": {"prefixes": prefixes, "suffixes": suffixes},
    }
    (out / MARKER).write_text(json.dumps(info, indent=2) + "\n")
    return out


def default_cache_dir() -> Path:
    """``$MEDZERO_CACHE`` or ``~/.cache/medzero``."""
    env = os.environ.get("MEDZERO_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "medzero"


def ensure_tiny_model(
    cache_dir: str | Path | None = None,
    seed: int = 0,
    config: TinyModelConfig | None = None,
    corpus: Sequence[str] | None = None,
) -> Path:
    """Return ``cache_dir/tiny-<hash>``, building it first when absent (safe under concurrency).
    ``corpus``: the tokenizer's training texts (:func:`corpus_from_questions`; default
    :func:`default_corpus`)."""
    config = config or TinyModelConfig()
    texts = list(corpus) if corpus is not None else default_corpus(seed)
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = base / f"tiny-{build_key(config, seed, texts)}"
    if (target / MARKER).is_file():
        return target
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-build-", dir=base))
    try:
        build_tiny_model(tmp, seed=seed, config=config, corpus=texts)
        try:
            os.rename(tmp, target)
        except OSError:
            # Another process finished first (target exists and is not empty): use theirs.
            if not (target / MARKER).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
