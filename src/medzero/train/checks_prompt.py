"""Pre-flight checks of the prompt form and of tool calling: whether the chat template pre-opens
``<think>`` (and the recipe's rewards agree), whether it round-trips a tool call, and whether the
search index of a ``tools:`` section loads. Part of :func:`medzero.train.checks.run_checks`."""

from __future__ import annotations

from medzero.train.checks import Context, Finding
from medzero.train.recipe import Recipe


def prompt_findings(recipe: Recipe, ctx: Context) -> list[Finding]:
    """The prompt-form findings, then the tool-calling ones."""
    return _think(recipe, ctx) + _tool_calls(recipe, ctx)


def _think(recipe: Recipe, ctx: Context) -> list[Finding]:
    from medzero.data.prompts import PromptForm, has_chat_template, template_preopens_think

    form = ctx.prompt_form
    if form is None and has_chat_template(ctx.tokenizer):
        form = PromptForm("chat", think_preopened=template_preopens_think(ctx.tokenizer))
    if form is None:
        return [Finding("prompt_form", "info", "prompt form unknown: the tokenizer is not available here")]
    found = [Finding("prompt_form", "info", f"prompts: {form.describe()}")]
    if not form.think_preopened:
        return found
    conflicting = [n for n, p in recipe.reward_params.items() if (p or {}).get("think_preopened") is False]
    if conflicting:
        found.append(
            Finding(
                "think_template",
                "error",
                "the prompt already opens <think>, but "
                f"reward_params of {conflicting} set think_preopened: false: the format reward would "
                "reject every completion.",
            )
        )
        return found
    found.append(
        Finding(
            "think_template",
            "info",
            "the prompt pre-opens <think>: completions start inside the reasoning; the format "
            "reward and the extractor are told (think_preopened=True).",
        )
    )
    return found


def _tool_calls(recipe: Recipe, ctx: Context) -> list[Finding]:
    """Whether the chat template round-trips a tool call (what TRL's ``tools=`` needs): an error
    when the recipe has ``tools:``, information otherwise; and whether the search index loads."""
    from medzero.models.toolcall import tool_call_problems

    uses_tools = recipe.tools is not None and recipe.tools.search is not None
    found = _search_index(recipe) if uses_tools else []
    if uses_tools and recipe.data.prompt_overflow == "truncate_left":
        found.append(
            Finding(
                "tools",
                "error",
                "data.prompt_overflow truncate_left passes prompts as plain text, and TRL calls tools "
                "only for chat prompts: use drop or truncate with tools:",
            )
        )
    if ctx.tokenizer is None:
        return found
    problems = tool_call_problems(ctx.tokenizer)
    if not problems:
        return [
            *found,
            Finding(
                "tool_calls", "info", "the chat template round-trips a tool call: TRL's tools= can be used."
            ),
        ]
    severity = "error" if uses_tools else "info"
    why = "; ".join(problems)
    message = (
        f"the recipe has tools: but this model cannot call them: {why}. Use a model whose chat "
        "template renders tools, tool calls and tool turns (model.chat_template), or drop tools:"
        if uses_tools
        else "tool calls are not available with this model: " + why
    )
    return [*found, Finding("tool_calls", severity, message)]


def _search_index(recipe: Recipe) -> list[Finding]:
    from pathlib import Path

    from medzero.errors import MedzeroError
    from medzero.tools.search import SearchTool

    assert recipe.tools is not None and recipe.tools.search is not None
    base = Path(recipe.source).parent if recipe.source else None
    tool = SearchTool(recipe.tools.search, base)
    try:
        n = len(tool.index)
    except MedzeroError as exc:
        return [Finding("tools", "error", f"tools.search.index {tool.path}: {exc}")]
    return [Finding("tools", "info", f"search tool: {n} passages in {tool.path}, k={tool.config.k}")]
