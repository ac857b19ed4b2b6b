"""``medzero model``: build the local models (light to import; the builder loads torch when it runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Add the ``model`` command group to the root app."""
    model_app = typer.Typer(
        help="Build local models (no download) or convert a GGUF file.", no_args_is_help=True
    )

    @model_app.command("tiny")
    def tiny(
        out: Annotated[Path, typer.Option("--out", help="Folder to write the model and tokenizer to.")],
        seed: Annotated[int, typer.Option(help="Seed for the tokenizer corpus and the weights.")] = 0,
        preset: Annotated[
            str, typer.Option(help="Model size: tiny (~0.6M parameters) or small-100m (~100M, for GPUs).")
        ] = "tiny",
        corpus: Annotated[
            list[Path] | None,
            typer.Option(
                "--corpus",
                help="Question file(s) to train the tokenizer on (any format `medzero data inspect` "
                "reads; repeat or list several). Default: the synthetic drug-class task.",
            ),
        ] = None,
        template: Annotated[
            str, typer.Option(help="Prompt template whose text the tokenizer also learns.")
        ] = "r1zero-short",
    ) -> None:
        """Build the tiny tokenizer + randomly initialised Llama model into OUT (save_pretrained).

        With --corpus the tokenizer is trained on those questions (stems, options and the prompt
        template's text), and word pieces that many distinct words share (an invented drug's
        suffix, a term's prefix) are kept whole: `medzero train` does the same automatically for
        a recipe with model.name_or_path: tiny and a data.path.
        """
        from medzero.console import console
        from medzero.models.tiny import MARKER, PRESETS, build_tiny_model, corpus_from_questions
        from medzero.outdir import ensure_dir

        texts = None
        if corpus:
            from medzero.data.loaders import load_mcqs
            from medzero.data.prompts import PromptConfig

            questions = [q for f in corpus for q in load_mcqs(f).records]
            texts = corpus_from_questions(questions, PromptConfig(template=template))
        path = build_tiny_model(ensure_dir(out), seed=seed, config=PRESETS.get(preset), corpus=texts)
        info = json.loads((path / MARKER).read_text())
        console.print(
            f"tiny model ({preset}, seed {seed}) written to [bold]{path}[/]; tokenizer corpus: "
            f"{info['corpus']['texts']} texts; pieces kept whole: {info['pieces_kept_whole']}"
        )
        typer.echo(str(path))

    @model_app.command("tiny-vlm")
    def tiny_vlm(
        out: Annotated[Path, typer.Option("--out", help="Folder to write the model and processor to.")],
        seed: Annotated[int, typer.Option(help="Seed for the tokenizer corpus and the weights.")] = 0,
        image_size: Annotated[
            int, typer.Option("--image-size", help="Square size (pixels) every image is resized to.")
        ] = 32,
        patch_size: Annotated[
            int, typer.Option("--patch-size", help="Patch side (pixels); one image token per patch.")
        ] = 8,
    ) -> None:
        """Build a tiny vision-language model into OUT (save_pretrained): a SigLIP vision tower and
        the tiny Llama text tower joined LLaVA-style, randomly initialised, with a processor (local
        image processor + the tiny tokenizer with an <image> token) and a chat template that takes
        image parts. No download; loads with AutoProcessor / AutoModelForImageTextToText."""
        from medzero.console import console
        from medzero.errors import ConfigError
        from medzero.models.tiny_vlm import MARKER, TinyVisionConfig, build_tiny_vlm
        from medzero.outdir import ensure_dir

        try:
            vision = TinyVisionConfig(image_size=image_size, patch_size=patch_size)
        except ValueError as exc:
            raise ConfigError(f"--image-size/--patch-size: {exc}") from None
        path = build_tiny_vlm(ensure_dir(out), seed=seed, vision=vision)
        info = json.loads((path / MARKER).read_text())
        console.print(
            f"tiny VLM (seed {seed}, {info['parameters']} parameters, {info['image_tokens']} tokens "
            f"per {image_size}x{image_size} image) written to [bold]{path}[/]"
        )
        typer.echo(str(path))

    @model_app.command("from-gguf")
    def from_gguf(
        out: Annotated[Path, typer.Option("--out", help="Folder to write the Hugging Face model to.")],
        file: Annotated[
            Optional[Path],
            typer.Argument(help="GGUF file (default: the packaged Gemma 3 270M of the gguf extra)."),
        ] = None,
    ) -> None:
        """Convert a GGUF file to a Hugging Face folder (safetensors + tokenizer + README with provenance).

        The conversion runs once per file (cached by its sha256 under $MEDZERO_GGUF_CACHE, default
        ~/.cache/medzero/gguf); OUT then gets a copy. Without FILE the
        packaged Gemma 3 270M base model is assembled and its sha256 checked. Needs the gguf extra:
        pip install "medzero[gguf]".
        """
        import json

        from medzero.console import console
        from medzero.models.gguf import MARKER, ensure_converted, export

        folder = ensure_converted(file)
        path = export(folder, out)
        info = json.loads((path / MARKER).read_text(encoding="utf-8"))
        console.print(
            f"{info['file']} ({info['architecture']}, {info['parameters'] / 1e6:.0f}M parameters, "
            f"sha256 {info['sha256'][:12]}...) written to [bold]{path}[/] (cache: {folder})"
        )
        typer.echo(str(path))

    app.add_typer(model_app, name="model")
