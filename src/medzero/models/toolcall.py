"""Tool calls through a chat template: what TRL's ``GRPOTrainer(tools=...)`` needs from a tokenizer.

TRL's tool loop renders the tools into the prompt, lets the model write a call, parses the call
out of the generated tokens (``tokenizer.parse_response``, driven by the tokenizer's
``response_template``), runs the tool and appends the result as a ``tool`` message rendered by the
same template. That works only when

1. the chat template renders ``tools``, an assistant message with ``tool_calls`` and a ``tool``
   message;
2. the tokenizer can parse a call back (a ``response_template``, or one TRL knows for the
   template);
3. the template is prefix-preserving: adding the tool message does not change how the earlier
   messages render (TRL computes the tool-result tokens as the difference).

:func:`tool_call_problems` checks all three with a probe round trip: render a ``search`` call,
tokenise the assistant's part, parse it back and compare. The tiny model's template
(:mod:`medzero.models.tiny`) passes; ``medzero train --check`` reports the result.
"""

from __future__ import annotations

from typing import Any

PROBE_ARGUMENTS = {"query": "ace inhibitor dry cough"}
PROBE_RESULT = "Ramipril, an ACE inhibitor, can cause a dry cough."


def search(query: str) -> str:
    """Search the medical corpus and return the best passages.

    Args:
        query: The words to look for.
    """
    return PROBE_RESULT


def _probe_messages() -> list[dict[str, Any]]:
    call = {"type": "function", "function": {"name": "search", "arguments": dict(PROBE_ARGUMENTS)}}
    return [
        {"role": "user", "content": "Which drug class causes a dry cough?"},
        {"role": "assistant", "content": "<think>look it up</think>", "tool_calls": [call]},
        {"role": "tool", "name": "search", "content": PROBE_RESULT},
    ]


def _response_parser_problem(tokenizer: Any) -> str | None:
    if getattr(tokenizer, "response_template", None) is not None:
        return None
    from trl.chat_template_utils import add_response_schema

    try:
        add_response_schema(tokenizer)  # TRL does the same when the trainer gets tools
    except ValueError:
        return "the tokenizer has no response_template and TRL knows no parser for its chat template"
    return None


def tool_call_problems(tokenizer: Any) -> list[str]:
    """Why TRL's tool loop would fail with ``tokenizer`` (an empty list when a tool call round-trips)."""
    if not getattr(tokenizer, "chat_template", None):
        return ["the tokenizer has no chat template"]
    messages = _probe_messages()
    try:
        prompt = tokenizer.apply_chat_template(
            messages[:1], tools=[search], tokenize=False, add_generation_prompt=True
        )
        with_call = tokenizer.apply_chat_template(messages[:2], tools=[search], tokenize=False)
        with_result = tokenizer.apply_chat_template(
            messages, tools=[search], tokenize=False, add_generation_prompt=True
        )
    except Exception as exc:  # any template error means "cannot render tool calls"; say which
        return [f"the chat template cannot render tools and tool calls ({type(exc).__name__}: {exc})"]
    problems = []
    if '"search"' not in prompt:
        problems.append("the chat template does not show the tools to the model")
    if not with_call.startswith(prompt):
        problems.append(
            "the assistant's tool call does not follow the generation prompt it was written after"
        )
    if PROBE_RESULT not in with_result:
        problems.append("the chat template drops the tool message (the tool's result)")
    parser_problem = _response_parser_problem(tokenizer)
    if parser_problem:
        return [*problems, parser_problem]
    if not problems:
        from trl.chat_template_utils import is_chat_template_prefix_preserving, parse_response

        encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
        parsed = parse_response(tokenizer, encode(with_call[len(prompt) :]), prefix=encode(prompt))
        calls = [c.get("function", {}) for c in parsed.get("tool_calls") or []]
        if calls != [{"name": "search", "arguments": PROBE_ARGUMENTS}]:
            problems.append(
                f"a tool call does not round-trip: rendered {with_call[len(prompt) :]!r}, parsed back {parsed!r}"
            )
        if not is_chat_template_prefix_preserving(tokenizer):
            problems.append(
                "the chat template is not prefix-preserving (a tool message changes earlier turns)"
            )
    return problems
