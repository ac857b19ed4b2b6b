"""The one place where a question becomes a prompt (training, evaluation, grading all call it).

Four templates are registered:

* ``r1zero`` (default) — the DeepSeek-R1-Zero style system prompt asking for
  ``<think> ... </think><answer> ... </answer>``;
* ``r1zero-short`` — the same tags with a one-line system prompt (the tiny model's short context);
* ``plain`` — no system prompt, "answer with the letter of the correct option";
* ``seed`` — the seed study's exact prompt: its system prompt byte for byte (its typo
  "sinceraly" and its sentences joined without spaces included) and its user turn, the stem
  followed by ``"\nAnswer Choices: (A) x (B) y "`` on one line, with no instruction line.

Options are rendered one per line, ``(A) text``, except by ``seed`` (the ``answer_choices`` layout).

A prompt is produced as chat messages (:func:`build_messages`); :func:`build_text` turns them
into a single string. The layout (:func:`prompt_form`) depends on the tokenizer:

* ``chat`` — the tokenizer's chat template (instruct models);
* ``r1zero-text`` — a tokenizer *without* a chat template (a base model) and a prompt that asks
  for ``<think>`` tags: DeepSeek-R1-Zero's plain-text completion prompt, i.e. the instructions,
  ``User: ...`` and ``Assistant: <think>``. The prompt opens ``<think>`` (the format reward and
  the extractor are told) and the Assistant's turn ends at ``</answer>`` (a base model has no
  end-of-turn token, so generation stops there);
* ``roles-text`` — no chat template and no think tags: ``System: ...``/``User: ...``/``Assistant:``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from medzero.data.schema import MCQ
from medzero.registry import Registry

R1ZERO_SYSTEM_PROMPT = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant "
    "solves it. The assistant first thinks about the reasoning process in the mind and then "
    "provides the user with the answer. The reasoning process and answer are enclosed within "
    "<think> </think> and <answer> </answer> tags, respectively, i.e., "
    "<think> reasoning process here </think><answer> answer here </answer>"
)
R1ZERO_INSTRUCTION = "Answer with the letter of the correct option inside <answer> </answer>."
PLAIN_INSTRUCTION = "Answer with the letter of the correct option."
R1ZERO_SHORT_SYSTEM_PROMPT = "Think inside <think> </think>, then answer inside <answer> </answer>."
# The seed's SYSTEM_PROMPT (open-medical-r1 grpo.py), exactly: lower-case "user"/"assistant",
# "sinceraly", and three sentences joined without a space after their full stops.
SEED_SYSTEM_PROMPT = (
    "A conversation between user and assistant. The user asks a question, and the assistant solves "
    "it. The assistant first thinks about the reasoning process in the mind and then provides the "
    "user with the answer.The reasoning process is to solve the problem step by step, so you will "
    "think about it sinceraly.The reasoning process and answer are enclosed within <think> </think> "
    "and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think>"
    "<answer> answer here </answer>"
)
ANSWER_CHOICES = "\nAnswer Choices: "
THINK_OPEN, ANSWER_CLOSE = "<think>", "</answer>"


@dataclass(frozen=True)
class PromptTemplate:
    """A named prompt layout."""

    system_prompt: str | None
    instruction: str
    # "lines": stem, blank line, one option per line, blank line, instruction.
    # "answer_choices": the seed's single user turn, see render_answer_choices.
    layout: Literal["lines", "answer_choices"] = "lines"


TEMPLATES: Registry[PromptTemplate] = Registry("prompt template")
TEMPLATES.register("r1zero", PromptTemplate(R1ZERO_SYSTEM_PROMPT, R1ZERO_INSTRUCTION))
TEMPLATES.register("plain", PromptTemplate(None, PLAIN_INSTRUCTION))
TEMPLATES.register("r1zero-short", PromptTemplate(R1ZERO_SHORT_SYSTEM_PROMPT, R1ZERO_INSTRUCTION))
TEMPLATES.register("seed", PromptTemplate(SEED_SYSTEM_PROMPT, "", layout="answer_choices"))


@dataclass
class PromptConfig:
    """How questions are turned into prompts. Shared by ``train``, ``eval`` and ``data grade``."""

    template: str = field(
        default="r1zero",
        metadata={
            "help": "Registered template name: r1zero (think/answer tags), r1zero-short, plain, or seed "
            "(the seed study's exact system prompt and inline 'Answer Choices:' user turn)."
        },
    )
    system_prompt: str | None = field(
        default=None, metadata={"help": "Override the template's system prompt ('' removes it)."}
    )
    instruction: str | None = field(
        default=None, metadata={"help": "Override the line appended after the options ('' removes it)."}
    )
    option_format: str = field(
        default="({letter}) {text}",
        metadata={"help": "Format of one option line; fields {letter} and {text}."},
    )
    system_role: Literal["system", "user"] = field(
        default="system",
        metadata={
            "help": "'user' prepends the system prompt to the user turn (for templates without a system role, e.g. Gemma)."
        },
    )
    demonstration: str | None = field(
        default=None,
        metadata={
            "help": "A registered worked example (medzero.data.demonstrations, e.g. 'anemia': an "
            "invented question, no benchmark text) shown as one User/Assistant exchange before the "
            "question, its reply in the asked-for format: one-shot prompting, which makes the "
            "<think>/<answer> format reachable for a base model. None: zero-shot."
        },
    )

    def resolved(self) -> tuple[str | None, str]:
        check_option_format(self.option_format)
        tpl = TEMPLATES.get(self.template)
        if self.demonstration:
            from medzero.data.demonstrations import DEMONSTRATIONS

            DEMONSTRATIONS.get(self.demonstration)
        system = tpl.system_prompt if self.system_prompt is None else (self.system_prompt or None)
        instruction = tpl.instruction if self.instruction is None else self.instruction
        return system, instruction


def check_option_format(option_format: str) -> None:
    """A :class:`ConfigError` unless ``option_format`` is a format string using {letter} and {text} only."""
    from string import Formatter

    from medzero.errors import ConfigError

    try:
        names = {name for _, name, _, _ in Formatter().parse(option_format) if name is not None}
        option_format.format(letter="A", text="x")
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        why = f"unknown field {{{exc.args[0]}}}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigError(
            f'option_format "{option_format}": not a valid format string ({why}); use the fields '
            '{letter} and {text}, e.g. "({letter}) {text}" (write {{ and }} for literal braces)'
        ) from None
    if "letter" not in names:
        raise ConfigError(
            f'option_format "{option_format}" lacks {{letter}}: the options would be unlabelled'
        )


def render_options(options: dict[str, str], option_format: str = "({letter}) {text}") -> str:
    """``{"A": "x", "B": "y"}`` -> ``"(A) x\\n(B) y"``."""
    return "\n".join(option_format.format(letter=k, text=v.strip()) for k, v in options.items())


def render_answer_choices(mcq: MCQ, option_format: str = "({letter}) {text}") -> str:
    """The seed's user turn: the stem, ``"\\nAnswer Choices: "``, then the options on that line.

    MedQA rows are built as the seed's data script built them: every option followed by a
    space, so the turn ends with one. MedXpertQA rows reproduce the benchmark's own question
    text, which the seed used as is: options separated by one space, none at the end.
    """
    items = [option_format.format(letter=k, text=v) for k, v in mcq.options.items()]
    if mcq.source == "medxpertqa":
        return mcq.question + ANSWER_CHOICES + " ".join(items)
    return mcq.question + ANSWER_CHOICES + "".join(f"{item} " for item in items)


def render_user(mcq: MCQ, cfg: PromptConfig | None = None) -> str:
    """The user turn: question stem, the options, then the instruction (or the template's layout)."""
    cfg = cfg or PromptConfig()
    _, instruction = cfg.resolved()
    if TEMPLATES.get(cfg.template).layout == "answer_choices":
        user = render_answer_choices(mcq, cfg.option_format)
        return f"{user}\n\n{instruction}" if instruction else user
    parts = [mcq.question.strip(), render_options(mcq.options, cfg.option_format)]
    if instruction:
        parts.append(instruction)
    return "\n\n".join(parts)


def build_messages(mcq: MCQ, cfg: PromptConfig | None = None) -> list[dict[str, str]]:
    """Chat messages for one question (system turn first when the template has one; with a
    ``demonstration``, its question and reply come before the question's own user turn)."""
    cfg = cfg or PromptConfig()
    system, instruction = cfg.resolved()
    turns = [{"role": "user", "content": render_user(mcq, cfg)}]
    if cfg.demonstration:
        turns = [*demonstration_turns(cfg, system, instruction, mcq), *turns]
    if system and cfg.system_role == "system":
        return [{"role": "system", "content": system}, *turns]
    if system:
        first = turns[0]
        return [{"role": "user", "content": f"{system}\n\n{first['content']}"}, *turns[1:]]
    return turns


def demonstration_turns(
    cfg: PromptConfig, system: str | None, instruction: str, mcq: MCQ
) -> list[dict[str, str]]:
    """The worked example's user and assistant turns (see :mod:`medzero.data.demonstrations`)."""
    from medzero.data.demonstrations import DEMONSTRATIONS
    from medzero.errors import ConfigError

    assert cfg.demonstration is not None
    if mcq.images:  # TRL places a row's images in the first user turn: the example's
        raise ConfigError(
            f"prompt.demonstration {cfg.demonstration!r}: question {mcq.id} has images, and a "
            "text-only worked example before it would take them; drop the demonstration"
        )
    demo = DEMONSTRATIONS.get(cfg.demonstration)
    tagged = any(t in (system or "") + instruction for t in (THINK_OPEN, ANSWER_CLOSE))
    return [
        {"role": "user", "content": render_user(demo.mcq(), cfg)},
        {"role": "assistant", "content": demo.reply(tagged)},
    ]


@dataclass(frozen=True)
class PromptForm:
    """How a prompt is laid out for one tokenizer (see the module docstring)."""

    name: Literal["chat", "r1zero-text", "roles-text"]
    #: the prompt itself opens ``<think>``: completions start inside the reasoning
    think_preopened: bool = False
    #: text that ends the Assistant's turn when the model has no end-of-turn token
    stop: str | None = None

    def describe(self) -> str:
        if self.name == "chat":
            opened = ", whose generation prompt opens <think>" if self.think_preopened else ""
            return f"chat: the tokenizer's chat template{opened}"
        if self.name == "r1zero-text":
            return (
                "r1zero-text: no chat template (a base model), so R1-Zero's plain-text completion "
                "prompt ending 'Assistant: <think>'; the format reward and the extractor know <think> "
                f"is opened, and completions stop at {self.stop}"
            )
        return "roles-text: no chat template; plain 'System:/User:/Assistant:' lines"


def has_chat_template(tokenizer: Any) -> bool:
    return tokenizer is not None and bool(getattr(tokenizer, "chat_template", None))


def message_text(message: dict[str, Any]) -> str:
    """A message's text: its content, or the text parts of a multimodal content list."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if p.get("type") == "text")


def with_images(messages: list[dict[str, Any]], images: list[str]) -> list[dict[str, Any]]:
    """``messages`` with the first user turn as image parts (``{"type": "image", "image": PATH}``)
    followed by its text part — the layout TRL builds from an ``images`` column — for evaluation
    backends; unchanged when there are no images."""
    if not images:
        return messages
    out, placed = [], False
    for m in messages:
        if m["role"] == "user" and not placed:
            parts = [{"type": "image", "image": p} for p in images]
            m = {**m, "content": [*parts, {"type": "text", "text": message_text(m)}]}
            placed = True
        out.append(m)
    return out


def image_paths(messages: list[dict[str, Any]]) -> list[str]:
    """The image paths of :func:`with_images` messages, in order."""
    return [
        p["image"]
        for m in messages
        if not isinstance(m["content"], str)
        for p in m["content"]
        if p.get("type") == "image"
    ]


def asks_for_think(messages: list[dict[str, str]]) -> bool:
    """True when the prompt asks for ``<think>`` tags (the r1zero templates do)."""
    return any(THINK_OPEN in message_text(m) for m in messages)


def prompt_form(messages: list[dict[str, str]], tokenizer: Any = None) -> PromptForm:
    """The layout :func:`messages_to_text` uses for these messages and this tokenizer."""
    if has_chat_template(tokenizer):
        return PromptForm("chat", think_preopened=template_preopens_think(tokenizer))
    if asks_for_think(messages):
        return PromptForm("r1zero-text", think_preopened=True, stop=ANSWER_CLOSE)
    return PromptForm("roles-text")


def messages_to_text(messages: list[dict[str, str]], tokenizer: Any = None) -> str:
    """The prompt string in the layout of :func:`prompt_form`: the chat template with its
    generation prompt; R1-Zero's instructions, ``User: ...`` and ``Assistant: <think>``; or
    ``System: ...``, ``User: ...`` and ``Assistant:``."""
    form = prompt_form(messages, tokenizer)
    if form.name == "chat":
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if form.name == "r1zero-text":
        names = {"system": "", "assistant": "Assistant: "}
        lines = [f"{names.get(m['role'], 'User: ')}{m['content']}" for m in messages]
        return "\n".join([*lines, f"Assistant: {THINK_OPEN}"])
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


def build_text(mcq: MCQ, cfg: PromptConfig | None = None, tokenizer: Any = None) -> str:
    """The full prompt string a model is fed (see :func:`messages_to_text`)."""
    return messages_to_text(build_messages(mcq, cfg), tokenizer)


def template_preopens_think(tokenizer: Any) -> bool:
    """True when the chat template's generation prompt already ends inside ``<think>``
    (e.g. DeepSeek-R1 distills, Qwen3 thinking): completions then start with the reasoning and
    carry only ``</think>``; the format reward and the extractor must know."""
    if not has_chat_template(tokenizer):
        return False
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True
    )
    tail = text.rstrip()
    return tail.endswith("<think>")


def stop_cut(token_ids: list[int], tokenizer: Any, stop: str) -> int | None:
    """How many of ``token_ids`` to keep so that the decoded text ends with the first ``stop``
    (the token that completes it included); ``None`` when ``stop`` never appears."""
    if stop not in tokenizer.decode(token_ids, skip_special_tokens=True):
        return None
    lo, hi = 1, len(token_ids)  # smallest prefix length whose text contains stop (monotone)
    while lo < hi:
        mid = (lo + hi) // 2
        if stop in tokenizer.decode(token_ids[:mid], skip_special_tokens=True):
            hi = mid
        else:
            lo = mid + 1
    return lo
