"""verl adapter: train with medzero's rewards in verl (``custom_reward_function``).

In a verl config::

    custom_reward_function:
      path: /path/to/site-packages/medzero/rewards/verl.py
      name: compute_score

Each verl row must carry the gold letter as ``reward_model.ground_truth`` and, in
``extra_info``, the ``options`` (list of texts in letter order, or a dict letter -> text).
Optional ``extra_info`` keys: ``reward_weights`` (default :data:`~medzero.rewards.DEFAULT_WEIGHTS`),
``reward_params`` (as in a recipe), ``answer_text``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from medzero.extract import extract
from medzero.rewards import DEFAULT_WEIGHTS, build_reward_funcs
from medzero.rewards.base import RewardFn, row_options


@lru_cache(maxsize=32)
def _funcs(key: str) -> tuple[list[RewardFn], list[float]]:
    spec = json.loads(key)
    return build_reward_funcs(spec["weights"], spec["params"])


def compute_score(
    data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None
) -> dict[str, Any]:
    """verl's reward signature. Returns ``{"score": weighted total, "<reward>": value, ...,
    "pred": strict letter or ""}``; verl uses ``score`` and logs the other keys.

    >>> compute_score("medqa", "<think>x</think><answer>B</answer>", "B", {"options": ["a", "b"]})["score"]
    1.2
    """
    del data_source  # one extractor for every source
    extra = extra_info or {}
    key = json.dumps(
        {
            "weights": extra.get("reward_weights") or DEFAULT_WEIGHTS,
            "params": extra.get("reward_params") or {},
        },
        sort_keys=True,
    )
    funcs, weights = _funcs(key)
    options = [extra.get("options")]
    kwargs = {"answer_text": [extra["answer_text"]]} if "answer_text" in extra else {}
    out: dict[str, Any] = {}
    total = 0.0
    for fn, w in zip(funcs, weights, strict=True):
        value = fn([solution_str], answer=[ground_truth], options=options, **kwargs)[0]
        out[fn.__name__] = value
        total += w * (value or 0.0)
    preopened = bool((extra.get("reward_params") or {}).get("accuracy", {}).get("think_preopened", False))
    out["pred"] = extract(solution_str, row_options(options[0]), "strict", preopened).letter or ""
    out["score"] = round(total, 10)
    return out
