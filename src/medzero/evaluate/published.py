"""Published numbers set beside ours: Table 1 of the seed study (accuracy, %).

They were computed with HuatuoGPT-o1's evaluation script on its ``eval_data.json``: a lenient
scorer (it reads an option letter or an option's text wherever it appears in the output; see
``docs/extraction.md`` for what our ``lenient`` mode reproduces), GPQA Medical on all 390 rows (78 questions
repeated 5 times), PubMedQA on all 1000 PQA-L items, no confidence intervals. Compare them with
our ``lenient`` column on the same scope, and read our ``strict`` column for what the model
actually committed to.
"""

from __future__ import annotations

SOURCE = "seed study (Medical R1-Zero report), Table 1"
SCORING = (
    "published numbers, HuatuoGPT-o1 lenient scoring; GPQA Medical on 390 rows (78 distinct "
    "questions x5), PubMedQA on all 1000 PQA-L items; no confidence intervals"
)
COLUMNS = ("medmcqa", "medqa", "pubmedqa", "mmlu_pro_med", "gpqa_med", "medxpertqa")

#: model -> accuracy (%) per benchmark, in :data:`COLUMNS` order.
TABLE1: dict[str, tuple[float, ...]] = {
    "QwQ-32B": (67.32, 80.13, 75.80, 73.88, 60.77, 20.92),
    "HuatuoGPT-o1-7B": (63.57, 71.56, 78.50, 67.17, 52.56, 15.51),
    "Our(Dataset1)": (51.64, 55.53, 74.70, 58.04, 41.79, 14.89),
    "Our(Dataset2)": (52.61, 54.91, 76.80, 58.17, 45.38, 15.36),
    "Our(Dataset3)": (55.01, 56.48, 76.50, 50.81, 36.66, 12.60),
}
