"""Output folders: checked creation, one writer at a time, and folders a command owns.

* :func:`ensure_dir` creates ``--out`` or says clearly why it cannot (a file is in the way, the
  file system is read-only, no permission) instead of a traceback.
* :func:`output_lock` holds an exclusive lock (``flock``) on ``OUT/.medzero.lock`` while a command
  writes there; a second command on the same folder is refused, naming the holder's pid and
  command. The lock dies with its process (kill -9 included), so a stale file never blocks.
  :func:`lock_held` tells readers whether a live process still holds it (a run that says
  "running" in its files but whose lock is free was killed).
* :class:`OwnedFolder` is a folder a command writes as a whole (``medzero demo``): a marker file
  lists the paths the command wrote, and ``overwrite`` removes exactly those, nothing else. A
  non-empty folder without the marker is refused: it is someone else's.
* :func:`atomic_dir` builds a folder under a temporary name and renames it into place, so a kill
  leaves either the complete folder or none (the half-built one is removed on the next try).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from medzero.errors import ConfigError

LOCK_FILE = ".medzero.lock"
MARKER_FILE = ".medzero-owned.json"
_BOOKKEEPING = (LOCK_FILE, MARKER_FILE)


def ensure_dir(out: str | Path, flag: str = "--out") -> Path:
    """Create folder ``out`` (and parents); a :class:`ConfigError` says why when that is impossible."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{flag} {out}: is a file, not a folder; choose a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{flag} {out}: a file is in the way of this folder") from None
    except OSError as exc:
        raise ConfigError(f"{flag} {out}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {out}: the folder is not writable")
    return out


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
        info = json.loads(text) if text else {}
    except (OSError, ValueError):
        return "another process"
    return f"pid {info.get('pid', '?')} (medzero {info.get('command', '?')}, since {info.get('since', '?')})"


@contextmanager
def output_lock(out: str | Path, command: str, flag: str = "--out") -> Iterator[Path]:
    """Hold ``OUT/.medzero.lock`` exclusively while the block runs; refuse when another holds it."""
    out = ensure_dir(out, flag)
    path = out / LOCK_FILE
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock on this platform: no locking
        yield out
        return
    try:
        fh = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{flag} {out}: cannot write in the folder ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"{flag} {out}: in use by {_holder(path)}; two writers would corrupt it. Wait for it to "
                "finish, or choose another folder"
            ) from None
        fh.seek(0)
        fh.truncate()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        fh.write(json.dumps({"pid": os.getpid(), "command": command, "since": stamp}) + "\n")
        fh.flush()
        yield out
    finally:
        fh.close()  # releases the lock


def lock_held(out: str | Path) -> bool | None:
    """Whether a live process holds ``OUT/.medzero.lock`` now. ``None`` when nobody can tell: the
    folder has no lock file (written without the CLI, e.g. through the Python API) or the
    platform has no ``flock``. Only tries the lock (shared, non-blocking); never writes."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock on this platform
        return None
    try:
        fh = (Path(out) / LOCK_FILE).open("rb")
    except OSError:
        return None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False


@dataclass
class OwnedFolder:
    """A folder written as a whole by one command; see the module docstring."""

    path: Path
    owner: str = field(metadata={"help": "The command that owns it, e.g. 'demo'."})
    paths: list[str] = field(default_factory=list, metadata={"help": "Top-level names it wrote."})

    @property
    def marker(self) -> Path:
        return self.path / MARKER_FILE

    @classmethod
    def read(cls, path: Path, owner: str) -> OwnedFolder | None:
        """The folder's marker, or ``None`` when there is none (or it is another command's)."""
        try:
            data = json.loads((path / MARKER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(data, dict)
            or data.get("owner") != owner
            or not isinstance(data.get("paths"), list)
        ):
            return None
        names = [n for n in data["paths"] if isinstance(n, str) and _plain_name(n)]
        return cls(path, owner, names)

    @classmethod
    def claim(cls, out: str | Path, owner: str, overwrite: bool, planned: tuple[str, ...]) -> OwnedFolder:
        """Take ``out`` for ``owner``: new or empty folders, or this owner's earlier output.

        ``planned``: top-level names the command is about to write (recorded before writing, so a
        killed run's output is still known). With ``overwrite`` the earlier output is removed, one
        recorded name at a time; anything else in the folder stays."""
        out = ensure_dir(out)
        mine = cls.read(out, owner)
        present = sorted(p.name for p in out.iterdir() if p.name not in _BOOKKEEPING)
        if mine is None and present:
            shown = ", ".join(present[:5]) + (" ..." if len(present) > 5 else "")
            raise ConfigError(
                f"{out} is not empty and was not written by medzero {owner} (it holds {shown}); "
                "choose a new or empty folder. Nothing was removed"
            )
        if mine is not None:
            earlier = [n for n in mine.paths if (out / n).exists() or (out / n).is_symlink()]
            if earlier and not overwrite:
                raise ConfigError(
                    f"{out} already holds a medzero {owner} run; pass --overwrite to replace it (only "
                    f"the {owner}'s own files are removed), or choose another folder"
                )
            for name in earlier:
                target = out / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
        folder = cls(out, owner, sorted(set(planned)))
        folder.save()
        return folder

    def record(self, *names: str) -> None:
        """Add top-level names written by the owner (e.g. files a later stage created)."""
        self.paths = sorted(set(self.paths) | {n for n in names if _plain_name(n)})
        self.save()

    def record_new(self, before: set[str]) -> None:
        """Record every top-level entry that is not in ``before`` (what this run added)."""
        self.record(*(p.name for p in self.path.iterdir() if p.name not in before | set(_BOOKKEEPING)))

    def save(self) -> None:
        tmp = self.marker.with_name(MARKER_FILE + ".tmp")
        tmp.write_text(json.dumps({"owner": self.owner, "paths": self.paths}, indent=1) + "\n", "utf-8")
        os.replace(tmp, self.marker)


def _plain_name(name: str) -> bool:
    """A single path component (a marker can never point outside its folder)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling folder to fill; on success it replaces ``target`` in one rename.

    A leftover temporary folder from a killed run is removed first."""
    target = Path(target)
    tmp = target.with_name(target.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
