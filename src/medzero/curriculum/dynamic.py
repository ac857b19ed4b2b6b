"""Dynamic sampling for TRL's GRPOTrainer: zero-variance groups, online re-grading, curriculum order.

TRL 1.16 has no dynamic-sampling option (its GRPOConfig only *logs* ``frac_reward_zero_std``), so
:func:`make_trainer_class` derives a minimal subclass of the trainer class it is given:

* ``_get_train_sampler`` returns the :class:`~medzero.curriculum.sampler.CurriculumSampler`
  (same layout as TRL's ``RepeatSampler``) when the recipe has a curriculum or online re-grading;
* ``_calculate_rewards`` keeps the gathered reward matrix of the batch;
* ``_generate_and_score_completions`` finds groups whose total reward has zero variance (DAPO's
  dynamic sampling). ``mask`` removes their completions from the loss and its token count;
  ``resample`` first regenerates the batch with fresh questions in their place (up to
  ``max_resample_rounds`` times; questions are chosen by a seeded draw identical on every rank)
  and then masks what is still flat. It also feeds pass/fail outcomes to
  :class:`~medzero.curriculum.online.OnlineGrades` and logs ``curriculum/filtered_groups``,
  ``curriculum/resampled_groups`` and ``curriculum/online_easy`` into the trainer's metrics (so they
  reach ``metrics.jsonl`` and ``medzero analyze``);
* the online grades are saved in each checkpoint (``curriculum_state.json``) and restored on resume.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Sequence
from typing import Any

from medzero.curriculum.config import CurriculumConfig, DynamicSamplingConfig
from medzero.curriculum.online import OnlineGrades
from medzero.curriculum.sampler import CurriculumSampler, DifficultyTable
from medzero.errors import ConfigError

STATE_FILE = "curriculum_state.json"


def zero_variance_groups(rewards: Sequence[float], num_generations: int) -> list[bool]:
    """For consecutive groups of ``num_generations`` rewards: is the group flat (no GRPO signal)?
    :func:`medzero.rewards.variance.flat_groups` decides; a lone group (fewer than two real
    rewards: NaN means no reward applied) gives no signal either, so it counts as flat here.

    >>> zero_variance_groups([1, 1, 0, 1, 0, 0, float("nan"), 0.5], 2)
    [True, False, True, True]
    """
    from medzero.rewards.variance import flat_groups

    if num_generations < 1 or len(rewards) % num_generations:
        raise ValueError(f"{len(rewards)} rewards do not split into groups of {num_generations}")
    flat, real = flat_groups(rewards, [i // num_generations for i in range(len(rewards))])
    return (flat | (real < 2)).tolist()


def total_rewards(rewards_per_func: Any, weights: Any) -> list[float]:
    """Weighted sum per completion as TRL forms it (NaN where every reward function returned None)."""
    rows = rewards_per_func.tolist() if hasattr(rewards_per_func, "tolist") else rewards_per_func
    w = weights.tolist() if hasattr(weights, "tolist") else list(weights)
    out = []
    for row in rows:
        vals = [(x, wi) for x, wi in zip(row, w, strict=True) if not math.isnan(x)]
        out.append(sum(x * wi for x, wi in vals) if vals else math.nan)
    return out


def build_sampler(
    dataset: Any,
    curriculum: CurriculumConfig | None,
    dynamic: DynamicSamplingConfig | None,
    args: Any,
    num_generations: int,
    num_iterations: int,
    online: OnlineGrades | None = None,
) -> CurriculumSampler:
    """The curriculum sampler for a GRPOConfig-like ``args`` (validates the plan against the data)."""
    per_chunk = num_iterations * args.steps_per_generation
    return CurriculumSampler(
        DifficultyTable.from_dataset(dataset, source="the training dataset"),
        curriculum or CurriculumConfig(),
        mini_repeat_count=num_generations,
        batch_size=args.generation_batch_size // num_generations,
        repeat_count=per_chunk,
        seed=args.seed,
        steps_per_chunk=per_chunk / args.gradient_accumulation_steps,
        online=online,
        easy_weight=dynamic.easy_weight if dynamic else 1.0,
    )


def make_trainer_class(
    base: type, curriculum: CurriculumConfig | None, dynamic: DynamicSamplingConfig | None
) -> type:
    """A subclass of ``base`` (GRPOTrainer or a subclass of it) with curriculum and dynamic sampling."""

    class CurriculumGRPOTrainer(base):  # type: ignore[misc, valid-type]
        _curriculum = curriculum
        _dynamic = dynamic

        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            dyn = self._dynamic
            self._online = (
                OnlineGrades(dyn.window, dyn.min_observations)
                if dyn is not None and dyn.online_regrade
                else None
            )
            if self._online is not None and dyn.regrade_reward not in self.reward_func_names:
                raise ConfigError(
                    f'dynamic_sampling.regrade_reward: "{dyn.regrade_reward}" is not one of this run\'s '
                    f"reward functions ({', '.join(self.reward_func_names)})"
                )
            self._last_rewards_per_func = None
            # build (and so validate against the data) before any step runs
            self._curriculum_sampler = self._build_curriculum_sampler(self.train_dataset)

        # ---- data order ---------------------------------------------------------------------
        def _build_curriculum_sampler(self, dataset: Any) -> CurriculumSampler | None:
            if self._curriculum is None and self._online is None:
                return None
            return build_sampler(
                dataset,
                self._curriculum,
                self._dynamic,
                self.args,
                self.num_generations,
                self.num_iterations,
                self._online,
            )

        def _get_train_sampler(self, dataset: Any = None) -> Any:
            if self._curriculum_sampler is None:
                return super()._get_train_sampler(dataset)
            if dataset is not None and dataset is not self.train_dataset:
                return self._build_curriculum_sampler(dataset)
            return self._curriculum_sampler

        def _generation_index(self) -> int:
            a = self.args
            return int(self.state.global_step * a.gradient_accumulation_steps) // (
                a.steps_per_generation * self.num_iterations
            )

        # ---- dynamic sampling ---------------------------------------------------------------
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # type: ignore[override]
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._last_rewards_per_func = rewards_per_func  # gathered over processes: the global batch
            return rewards_per_func

        def _generate_and_score_completions(self, inputs):  # type: ignore[override]
            dyn = self._dynamic
            if dyn is None or not self.model.training:
                return super()._generate_and_score_completions(inputs)
            rounds = dyn.max_resample_rounds if dyn.filter == "resample" else 0
            gen = self._generation_index()
            # medzero's trainer writes completions.jsonl per scored round; with several rounds
            # its hook (record_each_round / record_completions) writes only the one that trains
            hook = bool(rounds) and hasattr(self, "record_completions")
            if hook:
                self.record_each_round = False
            try:
                output, flat, inputs, resampled = self._scored_rounds(inputs, rounds, gen)
            finally:
                if hook:
                    self.record_each_round = True
            if hook:
                self.record_completions(inputs)
            metrics = self._metrics["train"]
            if dyn.filter != "off" and any(flat):
                self._mask_groups(output, flat, len(inputs))
            metrics["curriculum/filtered_groups"].append(float(sum(flat) if dyn.filter != "off" else 0))
            metrics["curriculum/zero_std_groups"].append(float(sum(flat)))
            if dyn.filter == "resample":
                metrics["curriculum/resampled_groups"].append(float(resampled))
            if self._online is not None:
                easy = self._curriculum.thresholds.easy_min if self._curriculum else 0.75
                rates = self._online.rates(upto=gen)
                metrics["curriculum/online_easy"].append(float(sum(v >= easy for v in rates.values())))
            return output

        def _scored_rounds(self, inputs: list, rounds: int, gen: int) -> tuple[dict, list[bool], list, int]:
            """Generate and score; while groups are flat and rounds are left, swap them and redo."""
            from accelerate.utils import gather_object

            metrics = self._metrics["train"]
            resampled = 0
            for r in range(rounds + 1):
                marks = {k: len(v) for k, v in metrics.items()}
                output = super()._generate_and_score_completions(inputs)
                ids = [str(x) for x in gather_object([row.get("id") for row in inputs])]
                flat = zero_variance_groups(
                    total_rewards(self._last_rewards_per_func, self.reward_weights), self.num_generations
                )
                self._record_online(gen, ids)
                if not any(flat) or r == rounds:
                    break
                for k in list(metrics):  # this round is replaced: forget its logged metrics
                    del metrics[k][marks.get(k, 0) :]
                inputs = self._replace_flat_groups(inputs, ids, flat, gen, r)
                resampled += sum(flat)
            return output, flat, inputs, resampled

        def _record_online(self, gen: int, ids: list[str]) -> None:
            if self._online is None:
                return
            col = self.reward_func_names.index(self._dynamic.regrade_reward)
            values = [row[col] for row in self._last_rewards_per_func.tolist()]
            keep = [
                (i, v >= self._dynamic.pass_threshold)
                for i, v in zip(ids, values, strict=True)
                if not math.isnan(v)
            ]
            self._online.record(gen, [i for i, _ in keep], [ok for _, ok in keep])

        def _replace_flat_groups(
            self, inputs: list, ids: list[str], flat: list[bool], gen: int, r: int
        ) -> list:
            """New local rows: each flat group's prompt swapped for a question drawn identically on all ranks."""
            sampler = self._curriculum_sampler
            table = sampler.table if sampler else DifficultyTable.from_dataset(self.train_dataset)
            pool = sampler.allowed(gen) if sampler else list(range(len(table)))
            in_batch = set(ids)
            pool = [i for i in pool if table.ids[i] not in in_batch] or pool
            if self._online is not None:  # prefer questions not known to be flat (all right / all wrong)
                rates = {i: self._online.pass_rate(table.ids[i], gen) for i in pool}
                live = [i for i in pool if rates[i] is None or 0.0 < rates[i] < 1.0]
                pool = live if len(live) >= sum(flat) else pool
            rng = random.Random(f"{self.args.seed}|resample|{gen}|{r}")
            picks = iter(rng.sample(pool, min(sum(flat), len(pool))))
            chosen = {g: next(picks, None) for g, f in enumerate(flat) if f}
            start = self.accelerator.process_index * len(inputs)
            out = []
            for j, row in enumerate(inputs):
                new = chosen.get((start + j) // self.num_generations)
                out.append(self.train_dataset[new] if new is not None else row)
            return out

        def _mask_groups(self, output: dict, flat: list[bool], n_local: int) -> None:
            start = self.accelerator.process_index * n_local
            rows = [j for j in range(n_local) if flat[(start + j) // self.num_generations]]
            if not rows:
                loss_mask = output["completion_mask"]
            else:
                output["completion_mask"][rows] = 0
                loss_mask = output["completion_mask"]
            if "tool_mask" in output:
                loss_mask = loss_mask * output["tool_mask"]
            output["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()

        # ---- checkpoints --------------------------------------------------------------------
        def _save_checkpoint(self, model: Any, trial: Any) -> None:
            super()._save_checkpoint(model, trial)
            if self._online is not None and self.args.should_save:
                folder = os.path.join(
                    self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}"
                )
                with open(os.path.join(folder, STATE_FILE), "w", encoding="utf-8") as fh:
                    json.dump({"online": self._online.state_dict()}, fh)

        def _load_rng_state(self, checkpoint: str | None) -> None:
            super()._load_rng_state(checkpoint)
            path = os.path.join(checkpoint, STATE_FILE) if checkpoint else None
            if self._online is not None and path and os.path.isfile(path):
                with open(path, encoding="utf-8") as fh:
                    self._online.load_state_dict(json.load(fh)["online"])

    CurriculumGRPOTrainer.__name__ = CurriculumGRPOTrainer.__qualname__ = f"Curriculum{base.__name__}"
    return CurriculumGRPOTrainer
