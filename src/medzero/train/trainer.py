"""The one subclass of TRL's ``GRPOTrainer``: it captures every completion for ``completions.jsonl``.

TRL has no callback that sees completions with their prompt ids, token lengths and advantages,
so two methods are wrapped (both call TRL first and change nothing it computes):

* ``_generate`` — notes each local completion's token length and whether it was cut at
  ``max_completion_length`` (same rule as TRL's ``completions/clipped_ratio``: the last token is
  neither EOS nor pad);
* ``_generate_single_turn`` — only with ``stop_text`` (R1-Zero's plain-text prompt for a base
  model, whose turn ends at ``</answer>``): each completion is cut after the first ``stop_text``
  and closed with the end-of-sequence token, as a stop string would end it (TRL's generation has
  none). TRL then scores, masks and trains on exactly the cut completions;
* ``_generate_and_score_completions`` — after TRL has scored a generation round, gathers prompt
  ids, gold letters, lengths and truncation flags from every process, and rank 0 writes them with
  the per-reward scores and advantages TRL keeps (already gathered) in ``self._logs``. A subclass
  that scores several rounds per batch turns this off with :attr:`record_each_round` and calls
  :meth:`record_completions` for the round that trains (dynamic sampling does).

Reward metric names (``rewards/<name>/mean``) are the recipe's reward names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from accelerate.utils import gather_object
from trl import GRPOTrainer

from medzero.train.callbacks import CompletionsWriter, clean_number, completion_text, weighted_reward
from medzero.train.guard import AnswerStats, answer_stats


class MedzeroGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` + completions capture. Extra keyword arguments:

    Args:
        reward_names: names for the reward functions, in order (metric keys use them).
        completions_writer: where rank 0 writes completions (``None`` on other ranks or to disable).
        stop_text: end each completion after the first occurrence of this text (``None``: off).
    """

    def __init__(
        self,
        *args: Any,
        reward_names: list[str],
        completions_writer: CompletionsWriter | None = None,
        stop_text: str | None = None,
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.stop_text = stop_text
        if len(reward_names) != len(self.reward_func_names):
            raise ValueError(
                f"{len(reward_names)} reward names for {len(self.reward_func_names)} reward functions"
            )
        self.reward_func_names = list(reward_names)
        self.completions_writer = completions_writer
        #: writes medzero's model card into a folder (set by the runner); ``None``: TRL's card
        self.model_card_writer: Callable[[Path], Any] | None = None
        #: called with each generation round's :class:`~medzero.train.guard.AnswerStats` (the guard)
        self.answer_observers: list[Callable[[AnswerStats], Any]] = []
        #: the chat template opens ``<think>`` (the extractor must know); set by the runner
        self.think_preopened = False
        self._mz_lengths: list[int] = []
        self._mz_truncated: list[bool] = []

    def create_model_card(self, model_name=None, dataset_name=None, tags=None):
        """TRL writes ``RUN_DIR/README.md`` at every checkpoint; medzero's card names the base model."""
        if self.model_card_writer is None:
            return super().create_model_card(model_name=model_name, dataset_name=dataset_name, tags=tags)
        if self.is_world_process_zero():
            self.model_card_writer(Path(self.args.output_dir))
        return None

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, *args, **kw):
        completion_ids, logprobs = super()._generate_single_turn(
            prompt_ids, images, multimodal_fields, num_generations, *args, **kw
        )
        if not self.stop_text:
            return completion_ids, logprobs
        from medzero.data.prompts import stop_cut

        eos = self.eos_token_ids[0]
        cut_ids, cut_logprobs = [], [] if logprobs is not None else None
        for i, ids in enumerate(completion_ids):
            at = stop_cut(list(ids), self._tokenizer, self.stop_text)
            if at is None:
                cut_ids.append(ids)
                if cut_logprobs is not None:
                    cut_logprobs.append(logprobs[i])
                continue
            if cut_logprobs is None:  # transformers generation: close the turn with EOS
                cut_ids.append([*ids[:at], eos])
            else:  # sampled log-probabilities exist only for sampled tokens: cut, add nothing
                cut_ids.append(list(ids[:at]))
                cut_logprobs.append(logprobs[i][:at])
        return cut_ids, cut_logprobs

    def _generate(self, prompts: list):
        out = super()._generate(prompts)
        completion_ids = out[1]
        stop = {*self.eos_token_ids, self._tokenizer.pad_token_id}
        self._mz_lengths = [len(ids) for ids in completion_ids]
        self._mz_truncated = [bool(ids) and ids[-1] not in stop for ids in completion_ids]
        return out

    #: The hook for subclasses that score several rounds per training batch (dynamic sampling
    #: with resampling): while False, a scored round is not written; the subclass then calls
    #: :meth:`record_completions` once with the round that trains.
    record_each_round: bool = True

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        training = self.model.training
        output = super()._generate_and_score_completions(inputs)
        if training and self.record_each_round:
            self.record_completions(inputs)
        return output

    def record_completions(self, inputs: list[dict[str, Any]]) -> None:
        """Write the completions of the round just scored for ``inputs`` (a collective call:
        every process must make it)."""
        # Collective calls: every rank must reach them, whether or not it writes.
        ids = gather_object([str(x.get("id", "")) for x in inputs])
        golds = gather_object([x.get("answer") for x in inputs])
        lengths = gather_object(list(self._mz_lengths))
        truncated = gather_object(list(self._mz_truncated))
        options = gather_object([x.get("options") for x in inputs])
        n = len(ids)
        completions = list(self._logs["completion"])[-n:]
        rewards = {name: list(self._logs["rewards"][name])[-n:] for name in self.reward_func_names}
        self._observe_answers(completions, golds, options, rewards, truncated)
        if self.completions_writer is None or not self.accelerator.is_main_process:
            return
        self.completions_writer.write_step(
            self.state.global_step + 1,  # the optimizer step these completions train
            prompt_ids=ids,
            golds=golds,
            completions=completions,
            token_lengths=lengths,
            truncated=truncated,
            rewards=rewards,
            advantages=list(self._logs["advantages"])[-n:],
            num_generations=self.num_generations,
            local_size=len(inputs),
        )

    def _observe_answers(self, completions, golds, options, rewards, truncated) -> None:
        """Answer letters of this round (every process, same gathered data): two metrics for
        ``metrics.jsonl`` and the collapse guard's signs."""
        weights = dict(zip(self.reward_func_names, self.reward_weights.tolist(), strict=True))
        comps = [{k: clean_number(v[i]) for k, v in rewards.items()} for i in range(len(completions))]
        stats = answer_stats(
            [completion_text(c) for c in completions],
            golds,
            options,
            [weighted_reward(c, weights) for c in comps],
            truncated,
            self.num_generations,
            self.think_preopened,
        )
        metrics = self._metrics["train"]
        metrics["answers/strict_accuracy"].append(stats.accuracy or 0.0)
        metrics["answers/top_letter_share"].append(stats.top_letter()[1])
        for observe in self.answer_observers:
            observe(stats)
