"""Images attached to questions: where a record's image paths point, and whether the files decode.

A record's ``images`` field holds file names or paths relative to the data file (absolute paths
are kept as they are). :func:`resolve_images` turns them into absolute paths, looking in the data
file's folder and then in its ``images/`` sub-folder (the MedXpertQA-MM layout ships a JSONL
file beside an ``images`` folder) or in an explicit ``image_dir``. :func:`check_image` opens the
file with Pillow and verifies it decodes, so a broken image is found at load time, named by file,
line and image, rather than in the middle of a training run.

Pillow is imported inside the functions (the CLI stays light to start).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from medzero.errors import DataError

IMAGES_FIELD = "images"
IMAGES_SUBDIR = "images"
#: The default pixel cap per image (1024 patches of 28x28, the usual Qwen2.5-VL GRPO setting).
DEFAULT_MAX_PIXELS = 802_816


class ImageError(DataError):
    """A record's image is missing or does not decode (``kind`` is ``"missing"`` or ``"unreadable"``)."""

    def __init__(
        self, path: str | Path | None, line: int | None, index: int, image: str, kind: str, why: str
    ):
        self.image = image
        self.kind = kind
        super().__init__(path, line, f"{IMAGES_FIELD}[{index}]", f"image {image!r}: {why}")


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`check_image` learnt about one image file."""

    width: int = field(metadata={"help": "Pixels."})
    height: int = field(metadata={"help": "Pixels."})
    bytes: int = field(metadata={"help": "File size."})
    format: str = field(metadata={"help": "Pillow's format name (PNG, JPEG, ...)."})


def image_base(data_path: Path) -> Path:
    """The folder relative image paths start from: the data file's folder, or the folder itself."""
    return data_path if data_path.is_dir() else data_path.parent


def raw_image_list(raw: Mapping[str, Any], path: Path, line: int | None) -> list[str]:
    """The ``images`` field of a raw record as a list of strings (a single string is one image)."""
    value = raw.get(IMAGES_FIELD)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise DataError(
            path, line, IMAGES_FIELD, f"expected a list of file names, got {type(value).__name__}"
        )
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            raise DataError(path, line, f"{IMAGES_FIELD}[{i}]", f"expected a file name, got {name!r}")
    return list(value)


def resolve_images(
    names: list[str], data_path: Path, line: int | None, image_dir: str | Path | None = None
) -> list[str]:
    """Absolute paths of ``names``: relative names are looked up in ``image_dir`` when given, else
    in the data file's folder and then its ``images/`` sub-folder. A name found nowhere is an
    :class:`ImageError` (kind ``"missing"``) naming the places looked in."""
    base = image_base(data_path)
    roots = [Path(image_dir)] if image_dir is not None else [base, base / IMAGES_SUBDIR]
    out = []
    for i, name in enumerate(names):
        candidates = [Path(name)] if Path(name).is_absolute() else [root / name for root in roots]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            looked = ", ".join(str(c.parent) for c in candidates)
            raise ImageError(data_path, line, i, name, "missing", f"no such file (looked in {looked})")
        out.append(str(found.absolute()))
    return out


def check_image(path: str | Path) -> ImageInfo:
    """Open and verify ``path``; raise ``ValueError`` saying why it does not decode."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            width, height, fmt = img.width, img.height, img.format or "?"
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"does not decode as an image ({type(exc).__name__}: {exc})") from None
    return ImageInfo(width=width, height=height, bytes=path.stat().st_size, format=fmt)


@lru_cache(maxsize=65536)
def image_digest(path: str) -> str:
    """sha1 of the file's bytes (cached per path): equal for the same picture under two names."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:16]


def load_image(path: str | Path, max_pixels: int | None = None) -> Any:
    """The image as an RGB ``PIL.Image``, scaled down (aspect kept) to at most ``max_pixels``."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
    if max_pixels is not None and img.width * img.height > max_pixels:
        scale = (max_pixels / (img.width * img.height)) ** 0.5
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    return img


def data_url(path: str | Path) -> str:
    """The file as a ``data:`` URL (what OpenAI-compatible servers take as ``image_url``)."""
    import base64
    import mimetypes

    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def image_summary(infos: Mapping[str, ImageInfo], references: int, with_images: int) -> dict[str, Any]:
    """The ``images`` block of ``medzero data inspect --json`` (problems are added by the caller)."""
    widths = [i.width for i in infos.values()]
    heights = [i.height for i in infos.values()]
    return {
        "count": references,
        "unique": len(infos),
        "records_with_images": with_images,
        "bytes": sum(i.bytes for i in infos.values()),
        "width": {"min": min(widths), "max": max(widths)} if widths else None,
        "height": {"min": min(heights), "max": max(heights)} if heights else None,
    }
