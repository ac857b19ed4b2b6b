"""A reproducible curriculum sampler in the layout TRL's GRPOTrainer expects.

TRL 1.16 (``GRPOTrainer._get_train_sampler``) draws prompts with ``RepeatSampler``: the stream is
cut into *chunks* of ``generation_batch_size // num_generations`` distinct prompts; each chunk is
emitted ``repeat_count = num_iterations * steps_per_generation`` times and every index inside it
``num_generations`` times in a row. Every process builds the same sampler with the same seed and
accelerate hands each process its slice of each global batch, so a group of G completions of one
prompt may span processes and no prompt is trained twice by accident. :class:`CurriculumSampler`
keeps exactly that layout and only changes *which* prompts fill each chunk:

* ``order`` sorts each pass over a pool by pass rate (``easy_to_hard`` / ``hard_to_easy``, ties by
  a seeded shuffle) or shuffles it (``random``);
* ``ratios`` fill every chunk with a fixed share of each bin (largest-remainder rounding with a
  carry, so the long-run mix is exact even when a chunk holds few prompts);
* ``stages`` switch bins or ratios after a number of optimizer steps; ``drop`` removes bins;
* with :class:`~medzero.curriculum.online.OnlineGrades`, questions are re-binned from training
  rewards as seen ``lag`` generation batches earlier (identical on every rank, whatever the data
  loader has prefetched), and a question graded easy online is drawn only with ``easy_weight``.

Everything is a pure function of the seed (and, with online grades, of the recorded rewards), so a
run is reproducible and a resumed run without online grades replays the same order.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from medzero.curriculum.bins import BINS, assign_bin, bin_counts
from medzero.curriculum.config import CurriculumConfig
from medzero.curriculum.online import OnlineGrades
from medzero.errors import ConfigError, DataError


@dataclass(frozen=True)
class DifficultyTable:
    """Per-row id, pass rate and difficulty bin of a training dataset (``None`` when ungraded)."""

    ids: tuple[str, ...]
    pass_rates: tuple[float | None, ...]
    bins: tuple[str | None, ...]
    source: str = "training data"

    @property
    def graded(self) -> bool:
        return any(b is not None for b in self.bins)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_dataset(cls, dataset: Any, source: str = "training data") -> DifficultyTable:
        """Read ``id`` / ``pass_rate`` / ``difficulty`` from a ``datasets.Dataset`` or a list of dicts
        (columns written by ``medzero data grade``, or the same keys inside the ``meta`` JSON)."""
        if hasattr(dataset, "column_names"):
            cols = set(dataset.column_names)

            def column(name: str) -> list[Any]:
                return list(dataset[name]) if name in cols else [None] * len(dataset)
        else:
            rows = list(dataset)

            def column(name: str) -> list[Any]:
                return [r.get(name) for r in rows]

        ids = [str(i) if i is not None else str(n) for n, i in enumerate(column("id"))]
        rates, bins = column("pass_rate"), column("difficulty")
        if all(b is None for b in bins):  # rows rebuilt from MCQs keep the grade only in `meta`
            metas = [json.loads(m) if isinstance(m, str) and m else (m or {}) for m in column("meta")]
            rates = [m.get("pass_rate") for m in metas]
            bins = [m.get("difficulty") for m in metas]
        if any(b is not None for b in bins):
            for n, b in enumerate(bins):
                if b not in BINS:
                    raise DataError(source, n, "difficulty", f"expected one of {', '.join(BINS)}, got {b!r}")
        return cls(tuple(ids), tuple(None if r is None else float(r) for r in rates), tuple(bins), source)


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts`` (independent of PYTHONHASHSEED)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_counts(ratios: dict[str, float], n: int, carry: dict[str, float]) -> dict[str, int]:
    """Split ``n`` slots by ``ratios`` (largest remainder); ``carry`` holds each bin's running deficit.

    >>> carry, ratios = {}, {"easy": 0.3, "medium": 0.5, "hard": 0.2}
    >>> split_counts(ratios, 4, carry)
    {'easy': 1, 'medium': 2, 'hard': 1}
    >>> chunks = [split_counts(ratios, 4, carry) for _ in range(9)]  # 10 chunks of 4 in all
    >>> {b: sum(ch[b] for ch in chunks) for b in ratios}  # 12, 20, 8 over all ten
    {'easy': 11, 'medium': 18, 'hard': 7}
    """
    want = {b: r * n + carry.get(b, 0.0) for b, r in ratios.items()}
    counts = {b: max(0, math.floor(w + 1e-9)) for b, w in want.items()}
    rest = n - sum(counts.values())
    for b in sorted(want, key=lambda b: (-(want[b] - counts[b]), b))[: max(rest, 0)]:
        counts[b] += 1
    for b in want:
        carry[b] = want[b] - counts[b]
    return counts


class _Pool:
    """An endless stream of the questions in some bins: successive passes ("cycles"), each ordered."""

    def __init__(self, key: str, bins: frozenset[str | None]):
        self.key = key
        self.bins = bins
        self.cycle_no = -1
        self.cycle: list[int] = []
        self.pos = 0


class CurriculumSampler:
    """Yields dataset indices for GRPOTrainer; see the module docstring.

    Args:
        table: ids and grades of the training rows (:meth:`DifficultyTable.from_dataset`).
        config: the recipe's ``curriculum`` section.
        mini_repeat_count: ``num_generations`` (G).
        batch_size: distinct prompts per generation batch (``generation_batch_size // G``).
        repeat_count: ``num_iterations * steps_per_generation``.
        seed: the run seed; every rank must pass the same one.
        steps_per_chunk: optimizer steps per generation batch (for stage boundaries).
        online: running grades from training rewards, or ``None``.
        easy_weight: chance an online-easy question is still drawn.
        lag: generation batches between a reward being seen and the sampler using it.
    """

    def __init__(
        self,
        table: DifficultyTable,
        config: CurriculumConfig,
        *,
        mini_repeat_count: int,
        batch_size: int,
        repeat_count: int = 1,
        seed: int = 0,
        steps_per_chunk: float = 1.0,
        online: OnlineGrades | None = None,
        easy_weight: float = 1.0,
        lag: int = 2,
    ):
        self.table, self.config = table, config
        self.mini_repeat_count, self.batch_size, self.repeat_count = (
            mini_repeat_count,
            batch_size,
            repeat_count,
        )
        self.seed, self.steps_per_chunk = seed, steps_per_chunk
        self.online, self.easy_weight, self.lag = online, easy_weight, lag
        self._kept = [i for i, b in enumerate(table.bins) if b not in config.drop]
        self._validate()
        self._stage_ends = self._stage_boundaries()
        self._pools: dict[str, _Pool] = {}
        self._carry: dict[int, dict[str, float]] = {}
        self._chunks: list[list[int]] = []
        self.epoch = 0
        self._epoch_was_set = False

    # ---- validation -------------------------------------------------------------------------
    def _validate(self) -> None:
        cfg, t = self.config, self.table
        if cfg.needs_grades() and not t.graded:
            raise ConfigError(
                f"the curriculum (order={cfg.order}, ratios/stages/drop) needs difficulty grades, but "
                f"{t.source} has no `difficulty` column; run `medzero data grade` on it first"
            )
        counts = bin_counts(t.bins[i] for i in self._kept) if t.graded else {}
        asked: list[tuple[str, Sequence[str], dict[str, float] | None]] = [
            (name, list(r), r) for name, r in cfg.all_ratios()
        ]
        asked += [(f"curriculum.stages[{i}].bins", s.bins, None) for i, s in enumerate(cfg.stages) if s.bins]
        for name, wanted, ratios in asked:
            for b in wanted:
                if counts.get(b, 0) == 0:
                    raise ConfigError(
                        f'{name} asks for bin "{b}", but {t.source} has no kept {b} questions '
                        f"(bins after drop: {counts}); change the recipe or grade with other thresholds"
                    )
                need = math.ceil(ratios[b] * self.batch_size) if ratios else 0
                if need > counts[b]:
                    raise ConfigError(
                        f'{name}: bin "{b}" needs {need} questions per generation batch but has only '
                        f"{counts[b]}; lower its ratio or the batch size"
                    )
        for i, st in enumerate(cfg.stages):
            size = sum(counts.get(b, 0) for b in st.bins or ())
            if st.bins and size < self.batch_size:
                raise ConfigError(
                    f"curriculum.stages[{i}].bins {list(st.bins)} hold {size} questions, fewer than the "
                    f"{self.batch_size} distinct prompts of one generation batch"
                )
        if len(self._kept) < self.batch_size:
            raise ConfigError(
                f"{t.source}: {len(self._kept)} questions left after curriculum.drop={list(cfg.drop)}, "
                f"fewer than the {self.batch_size} distinct prompts of one generation batch"
            )

    def _stage_boundaries(self) -> list[float]:
        ends, total = [], 0.0
        for st in self.config.stages:
            total = math.inf if st.steps is None else total + st.steps
            ends.append(total)
        return ends

    # ---- the torch Sampler protocol --------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._epoch_was_set = True

    @property
    def chunks_per_epoch(self) -> int:
        return max(1, len(self._kept) // self.batch_size)

    def __len__(self) -> int:
        return self.chunks_per_epoch * self.batch_size * self.mini_repeat_count * self.repeat_count

    def __iter__(self) -> Iterator[int]:
        epoch = self.epoch
        if not self._epoch_was_set:  # no set_epoch between passes: advance by itself
            self.epoch += 1
        self._epoch_was_set = False
        n = self.chunks_per_epoch
        for c in range(epoch * n, (epoch + 1) * n):
            chunk = self.chunk(c)
            for _ in range(self.repeat_count):
                for idx in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield idx

    # ---- chunk construction ----------------------------------------------------------------
    def chunk(self, c: int) -> list[int]:
        """The distinct prompts of generation batch ``c`` (counted from the start of training)."""
        while len(self._chunks) <= c:
            self._chunks.append(self._build_chunk(len(self._chunks)))
        return self._chunks[c]

    def stage_index(self, c: int) -> int | None:
        step = c * self.steps_per_chunk
        for i, end in enumerate(self._stage_ends):
            if step < end:
                return i
        return len(self._stage_ends) - 1 if self._stage_ends else None

    def _plan(self, c: int) -> tuple[int | None, Any, dict[str, float] | None]:
        """(stage index, stage, ratios) in force for chunk ``c``."""
        s = self.stage_index(c)
        stage = self.config.stages[s] if s is not None else None
        ratios = stage.ratios if stage and stage.ratios else None
        if stage is None or (stage.ratios is None and stage.bins is None):
            ratios = self.config.ratios
        return s, stage, ratios

    def allowed(self, c: int) -> list[int]:
        """Rows the curriculum may draw for chunk ``c`` (its stage's bins or ratio bins, minus drop)."""
        _, stage, ratios = self._plan(c)
        bins = set(ratios) if ratios else set(stage.bins) if stage and stage.bins else None
        return [i for i in self._kept if bins is None or self.table.bins[i] in bins]

    def _build_chunk(self, c: int) -> list[int]:
        s, stage, ratios = self._plan(c)
        chunk: list[int] = []
        if ratios:
            carry = self._carry.setdefault(-1 if s is None else s, {})
            for b, n in split_counts(ratios, self.batch_size, carry).items():
                self._draw(self._pool(b, frozenset([b])), n, chunk, c)
        else:
            bins = (
                frozenset(stage.bins)
                if stage and stage.bins
                else frozenset(self.table.bins[i] for i in self._kept)
            )
            self._draw(self._pool("+".join(sorted(map(str, bins))), bins), self.batch_size, chunk, c)
        random.Random(f"{self.seed}|chunk|{c}").shuffle(chunk)
        return chunk

    def _pool(self, key: str, bins: frozenset[str | None]) -> _Pool:
        if key not in self._pools:
            self._pools[key] = _Pool(key, bins)
        return self._pools[key]

    def _rate(self, i: int, c: int) -> tuple[float | None, bool]:
        """(pass rate, whether it is an online estimate) of row ``i`` as seen by chunk ``c``."""
        if self.online is not None:
            rate = self.online.pass_rate(self.table.ids[i], upto=c - self.lag)
            if rate is not None:
                return rate, True
        return self.table.pass_rates[i], False

    def _bin(self, i: int, c: int) -> str | None:
        rate, online = self._rate(i, c)
        if online:
            return assign_bin(rate, self.config.thresholds)
        return self.table.bins[i]

    def _new_cycle(self, pool: _Pool, c: int, offline: bool = False) -> None:
        pool.cycle_no += 1
        members = [] if offline else [i for i in self._kept if self._bin(i, c) in pool.bins]
        if not members:  # online re-grading emptied the bin (or starved it): use the offline grades
            members = [i for i in self._kept if self.table.bins[i] in pool.bins]
        rng = random.Random(f"{self.seed}|{pool.key}|cycle|{pool.cycle_no}")
        rng.shuffle(members)  # random order, and the tie-break for the sorted orders
        if self.config.order != "random":
            sign = -1.0 if self.config.order == "easy_to_hard" else 1.0
            members.sort(key=lambda i: sign * (self._rate(i, c)[0] or 0.0))
        pool.cycle, pool.pos = members, 0

    def _draw(self, pool: _Pool, n: int, chunk: list[int], c: int) -> None:
        """Append ``n`` questions from ``pool`` to ``chunk``, skipping ones already in it."""
        taken, attempts = 0, 0
        easy_min = self.config.thresholds.easy_min
        while taken < n:
            if pool.pos >= len(pool.cycle):
                # a pool re-binned online can hold fewer distinct questions than needed: go offline
                self._new_cycle(pool, c, offline=attempts > 2 * (len(pool.cycle) + n))
            i = pool.cycle[pool.pos]
            pool.pos += 1
            attempts += 1
            if i in chunk and attempts <= 8 * (len(self._kept) + n):  # last resort: allow a repeat
                continue
            if self.online is not None and self.easy_weight < 1.0 and attempts <= 4 * len(pool.cycle) + n:
                rate, online = self._rate(i, c)
                if (
                    online
                    and rate >= easy_min
                    and _unit(self.seed, pool.key, pool.cycle_no, i) >= self.easy_weight
                ):
                    continue
            chunk.append(i)
            taken += 1
