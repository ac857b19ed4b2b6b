"""Tool calls through the tiny model's chat template, checked the way TRL's tool loop uses them."""

from __future__ import annotations

import pytest

from medzero.models.tiny import CHAT_TEMPLATE
from medzero.models.toolcall import PROBE_RESULT, search, tool_call_problems
from medzero.train.checks import Context, run_checks
from medzero.train.recipe import recipe_from_dict

OLD_TEMPLATE = (  # the tiny template before tool support: no tools, no tool_calls
    "{%- for m in messages -%}<|{{ m['role'] }}|>{{ m['content'] }}"
    "{%- if m['role'] == 'assistant' %}</s>{% endif %}{{ '\\n' }}{%- endfor -%}"
    "{%- if add_generation_prompt %}<|assistant|>{% endif -%}"
)


@pytest.fixture
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_tiny_tokenizer_round_trips_a_tool_call(tok):
    assert tok.chat_template == CHAT_TEMPLATE and tok.response_template is not None  # saved and reloaded
    assert tool_call_problems(tok) == []


def test_rendering_without_tools_is_unchanged(tok):
    messages = [
        {"role": "system", "content": "Think, then answer."},
        {"role": "user", "content": "Which class is ramipril?"},
        {"role": "assistant", "content": "<think>-pril</think><answer>A</answer>"},
    ]
    new = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    tok.chat_template = OLD_TEMPLATE
    assert new == tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def test_generated_turn_parses_into_content_and_calls(tok):
    from trl.chat_template_utils import parse_response

    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "Q?"}], tools=[search], tokenize=False, add_generation_prompt=True
    )
    ids = lambda text: tok(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    generated = '<think>look up</think><tool_call>{"name": "search", "arguments": {"query": "ramipril"}}</tool_call></s>'
    parsed = parse_response(tok, ids(generated), prefix=ids(prompt), tools=[search])
    assert parsed["content"] == "<think>look up</think>"
    assert parsed["tool_calls"] == [
        {"type": "function", "function": {"name": "search", "arguments": {"query": "ramipril"}}}
    ]
    answer = parse_response(tok, ids("<think>-pril</think><answer>A</answer></s>"), prefix=ids(prompt))
    assert answer == {"role": "assistant", "content": "<think>-pril</think><answer>A</answer>"}


def test_tool_result_turn_and_tool_list_are_rendered(tok):
    call = {"type": "function", "function": {"name": "search", "arguments": {"query": "q"}}}
    text = tok.apply_chat_template(
        [
            {"role": "user", "content": "Q?"},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "name": "search", "content": PROBE_RESULT},
        ],
        tools=[search],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert text.startswith("<|system|>Tools you can call") and '"name": "search"' in text
    assert text.endswith(
        f'<|assistant|><tool_call>{{"name": "search", "arguments": {{"query": "q"}}}}</tool_call></s>\n'
        f"<|tool|>{PROBE_RESULT}\n<|assistant|>"
    )


def test_templates_without_tool_support_are_explained(tok):
    tok.chat_template = OLD_TEMPLATE
    problems = tool_call_problems(tok)
    assert any("does not show the tools" in p for p in problems), problems
    tok.response_template = None
    assert any("no response_template" in p for p in tool_call_problems(tok))
    tok.chat_template = None
    assert tool_call_problems(tok) == ["the tokenizer has no chat template"]


def test_a_template_that_raises_is_reported_not_raised():
    class Broken:
        chat_template = "x"

        def apply_chat_template(self, messages, **kwargs):
            raise TypeError("tools is not supported")

    (problem,) = tool_call_problems(Broken())
    assert "cannot render tools" in problem and "TypeError" in problem


def test_train_check_reports_it(tok):
    rec = recipe_from_dict(
        {
            "model": {"name_or_path": "tiny"},
            "data": {"synthetic": 16},
            "rewards": {"accuracy": 1.0},
            "grpo": {"num_generations": 4, "per_device_train_batch_size": 8},
        }
    )
    ctx = {"columns": ["id", "answer", "options", "prompt"]}
    found = {f.check: f for f in run_checks(rec, Context(tokenizer=tok, **ctx))}
    assert found["tool_calls"].severity == "info" and "round-trips a tool call" in found["tool_calls"].message
    tok.chat_template = OLD_TEMPLATE
    found = {f.check: f for f in run_checks(rec, Context(tokenizer=tok, **ctx))}
    assert "not available with this model" in found["tool_calls"].message
