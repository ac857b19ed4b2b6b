"""Command-line options shared by every command that generates with an evaluation backend
(``medzero eval``, ``medzero data grade``): each is defined once here. Light: typer only."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

MODEL_PANEL = "Model"
GEN_PANEL = "Generation"

Adapter = Annotated[
    Optional[str], typer.Option(help="LoRA adapter dir on top of --model.", rich_help_panel=MODEL_PANEL)
]
GGUFFile = Annotated[
    Optional[str],
    typer.Option(
        "--gguf-file",
        help="A GGUF file, converted once to a cached HF folder and used as the model ('packaged': the "
        "Gemma 3 270M of the gguf extra); relative to --model when that is a folder.",
        rich_help_panel=MODEL_PANEL,
    ),
]
Backend = Annotated[str, typer.Option(help="hf | vllm | openai.", rich_help_panel=MODEL_PANEL)]
BaseUrl = Annotated[
    Optional[str], typer.Option(help="openai: server URL ending in /v1.", rich_help_panel=MODEL_PANEL)
]
Device = Annotated[Optional[str], typer.Option(help="hf: cpu / cuda / cuda:N.", rich_help_panel=MODEL_PANEL)]
Dtype = Annotated[str, typer.Option(help="auto | float32 | bfloat16 | float16.", rich_help_panel=MODEL_PANEL)]
Template = Annotated[
    str, typer.Option(help="Prompt template (medzero list templates).", rich_help_panel=GEN_PANEL)
]
Temperature = Annotated[
    float, typer.Option(help="Sampling temperature; 0 = greedy.", rich_help_panel=GEN_PANEL)
]
MaxNewTokens = Annotated[int, typer.Option(help="Token cap per completion.", rich_help_panel=GEN_PANEL)]
BatchSize = Annotated[
    int, typer.Option(help="hf: prompts per batch; openai: requests in flight.", rich_help_panel=GEN_PANEL)
]
Seed = Annotated[int, typer.Option(help="Sampling seed.", rich_help_panel=GEN_PANEL)]
