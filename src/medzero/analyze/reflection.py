"""Self-verification ("aha") phrases: a configurable lexicon, its rate per training step, the
first step where that rate rises, accuracy with vs. without reflection, and highlighted examples.

Matching is vectorised over texts: all completions are joined and lower-cased once, and each
phrase is one compiled pattern that starts with a literal (so ``re`` skips through text fast) run
once over the joined text; a match lying inside a longer phrase's match is dropped.

Phrase syntax (default list in :data:`DEFAULT_LEXICON`, a file via :func:`load_lexicon`): a literal
phrase matched as whole words (``wait`` does not match ``awaited``); a space matches any run of
whitespace; a hyphen matches a hyphen, a space or nothing (``re-examine`` also finds
``reexamine``); an apostrophe matches ' or ’. A line starting ``re:`` is a raw regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from medzero.analyze.stats import proportion_ci, step_means
from medzero.errors import ConfigError

DEFAULT_LEXICON: tuple[str, ...] = (
    "wait",
    "hold on",
    "hmm",
    "let me double-check",
    "double-check",
    "recheck",
    "let me check",
    "let me verify",
    "re-examine",
    "re-evaluate",
    "reconsider",
    "rethink",
    "re-read",
    "on second thought",
    "actually,",
    "I made a mistake",
    "that's not right",
    "alternatively",
)
_SEP = "\n\x00\n"  # joins completions; \x00 is neither a word character nor whitespace


def phrase_pattern(phrase: str, lead_boundary: bool = True) -> str:
    """Regex source for one lexicon entry (see module docstring for the syntax).

    ``lead_boundary=False`` leaves out the leading ``(?<!\\w)``: a pattern that starts with a
    literal lets ``re`` skip through text fast, so :func:`scan` checks that boundary itself."""
    if phrase.startswith("re:"):
        return phrase[3:]
    out = []
    for ch in phrase.strip():
        if ch.isspace():
            if not out or out[-1] != r"\s+":
                out.append(r"\s+")
        elif ch == "-":
            out.append(r"[-\s]?")
        elif ch in "'’":
            out.append("['’]")
        else:
            out.append(re.escape(ch))
    body = "".join(out)
    head = r"(?<!\w)" if lead_boundary and re.match(r"\w", phrase.strip()) else ""
    tail = r"(?!\w)" if re.search(r"\w$", phrase.strip()) else ""
    return head + body + tail


@dataclass(frozen=True)
class Lexicon:
    """Reflection phrases compiled into one regex; group ``p<i>`` is ``phrases[i]``."""

    phrases: tuple[str, ...] = DEFAULT_LEXICON

    def __post_init__(self) -> None:
        if not self.phrases:
            raise ConfigError("the reflection lexicon is empty: give at least one phrase")
        for p in self.phrases:
            try:
                re.compile(phrase_pattern(p))
            except re.error as exc:
                raise ConfigError(f"lexicon phrase {p!r}: invalid regular expression ({exc})") from None

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """All phrases in one pattern (for the few example texts); group ``p<i>`` = phrase i."""
        # Longer phrases first so "let me double-check" wins over "double-check" at one position.
        order = sorted(range(len(self.phrases)), key=lambda i: -len(self.phrases[i]))
        src = "|".join(f"(?P<p{i}>{phrase_pattern(self.phrases[i])})" for i in order)
        return re.compile(src, re.IGNORECASE)

    @cached_property
    def scanners(self) -> list[tuple[int, re.Pattern[str], bool]]:
        """(phrase index, pattern for lower-cased text, needs a leading word boundary), longest
        phrase first."""
        out = []
        for i in sorted(range(len(self.phrases)), key=lambda i: -len(self.phrases[i])):
            p = self.phrases[i]
            raw = p.startswith("re:")
            rx = re.compile(
                phrase_pattern(p.lower() if not raw else p, lead_boundary=False), re.I if raw else 0
            )
            out.append((i, rx, not raw and bool(re.match(r"\w", p.strip()))))
        return out


def load_lexicon(path: str | Path) -> Lexicon:
    """One phrase per line; blank lines and lines starting with ``#`` are ignored."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: lexicon file not found")
    phrases = [
        ln.strip()
        for ln in path.read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not phrases:
        raise ConfigError(f"{path}: the lexicon file has no phrases")
    return Lexicon(tuple(phrases))


@dataclass
class Scan:
    """Lexicon matches over a list of texts."""

    count: np.ndarray  # matches per text
    phrase_docs: np.ndarray  # texts containing each phrase
    doc: np.ndarray  # text index of every match
    phrase: np.ndarray  # phrase index of every match

    @property
    def has(self) -> np.ndarray:
        return self.count > 0


def scan(texts: list[str], lexicon: Lexicon) -> Scan:
    """Find every lexicon phrase in every text with one regex pass over the joined texts."""
    n, k = len(texts), len(lexicon.phrases)
    if n == 0:
        z = np.zeros(0, np.int64)
        return Scan(z, np.zeros(k, np.int64), z, z)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    starts = np.concatenate(([0], np.cumsum(lengths + len(_SEP))[:-1]))
    joined = _SEP.join(texts)
    low = joined.lower()
    if len(low) != len(joined):  # a few Unicode letters change length when lower-cased
        low = joined
    hits: list[tuple[int, int, int]] = []
    for i, rx, lead in lexicon.scanners:
        flags_i = rx if low is not joined else re.compile(rx.pattern, re.I)
        for m in flags_i.finditer(low):
            s = m.start()
            if lead and s and (low[s - 1].isalnum() or low[s - 1] == "_"):
                continue
            hits.append((s, m.end(), i))
    hits.sort(key=lambda h: (h[0], -h[1]))
    kept, reach = [], -1
    for s, e, i in hits:  # drop a match inside a longer one ("double-check" in "let me double-check")
        if e <= reach:
            continue
        kept.append((s, i))
        reach = max(reach, e)
    pos = np.asarray([h[0] for h in kept], np.int64)
    doc = np.searchsorted(starts, pos, side="right") - 1
    phrase = np.asarray([h[1] for h in kept], np.int64)
    pairs = np.unique(doc * k + phrase) if len(doc) else np.zeros(0, np.int64)
    return Scan(
        count=np.bincount(doc, minlength=n),
        phrase_docs=np.bincount(pairs % k, minlength=k),
        doc=doc,
        phrase=phrase,
    )


def detect_rise(
    steps, rate, n=None, baseline_frac: float = 0.2, min_baseline: int = 5, window: int = 5,
    k: float = 3.0, min_rise: float = 0.02, confirm: int = 2,
) -> dict:  # fmt: skip
    """First step at which the reflection rate rises above its early-training baseline.

    Baseline = the first ``max(min_baseline, ceil(baseline_frac * n_steps))`` logged steps, with
    mean ``m`` and spread ``sd = max(sample sd (ddof=1), binomial sd)``; the binomial sd
    ``sqrt(p(1-p)/n_bar)`` with ``p = max(m, 1/n_bar)`` and ``n_bar`` the mean completions per step
    (given by ``n``) keeps a short, lucky-flat baseline from giving a too-low threshold. Threshold
    ``T = m + max(k * sd, min_rise)``. The onset is the first step t after the baseline where the
    rate exceeds T at t and at each of the next ``confirm - 1`` steps, and the mean rate over the
    ``window`` steps starting at t also exceeds T. ``step`` is ``None`` when there is no such step.
    """
    steps, rate = np.asarray(steps), np.asarray(rate, float)
    n_steps = len(rate)
    b = max(min_baseline, int(np.ceil(baseline_frac * n_steps)))
    span = max(window, confirm)
    out = {
        "step": None,
        "baseline_steps": b,
        "window": window,
        "confirm": confirm,
        "k": k,
        "min_rise": min_rise,
    }
    if n_steps < b + span or b < 2:
        out["reason"] = f"too few steps ({n_steps}) for a {b}-step baseline and a {span}-step window"
        return out
    mu, sd = float(np.nanmean(rate[:b])), float(np.nanstd(rate[:b], ddof=1))
    if n is not None:
        n_bar = float(np.mean(np.asarray(n, float)[:b]))
        p = max(mu, 1 / n_bar) if n_bar > 0 else mu
        sd = max(sd, float(np.sqrt(p * (1 - p) / n_bar)) if n_bar > 0 else 0.0)
    thr = mu + max(k * sd, min_rise)
    csum = np.concatenate(([0.0], np.cumsum(np.nan_to_num(rate))))
    fwd = (csum[window:] - csum[:-window]) / window  # fwd[i] = mean(rate[i:i+window])
    idx = np.arange(b, n_steps - span + 1)
    ok = fwd[idx] > thr
    for j in range(confirm):
        ok &= rate[idx + j] > thr
    hit = idx[ok]
    out.update(baseline_mean=mu, baseline_sd=sd, threshold=thr)
    if len(hit):
        out["step"] = int(steps[hit[0]])
        out["rate_after"] = float(np.nanmean(rate[hit[0] :]))
    return out


def accuracy_split(has: np.ndarray, correct: np.ndarray, groups: np.ndarray, conf: float = 0.95) -> dict:
    """Accuracy of completions with vs. without a reflection phrase (Wilson CIs, Fisher exact
    test), and the same difference inside prompt groups that contain both kinds."""
    from scipy.stats import fisher_exact

    ok = np.isfinite(correct)
    has, c, g = has[ok], correct[ok] > 0.5, groups[ok]
    out: dict = {}
    for name, sel in (("with", has), ("without", ~has)):
        k, n = int(c[sel].sum()), int(sel.sum())
        lo, hi = proportion_ci(k, n, conf)
        out[name] = {
            "n": n,
            "correct": k,
            "accuracy": k / n if n else np.nan,
            "lo": float(lo),
            "hi": float(hi),
        }
    a, b = out["with"], out["without"]
    table = [[a["correct"], a["n"] - a["correct"]], [b["correct"], b["n"] - b["correct"]]]
    out["difference"] = a["accuracy"] - b["accuracy"] if a["n"] and b["n"] else np.nan
    out["p_fisher"] = float(fisher_exact(table)[1]) if a["n"] and b["n"] else np.nan
    if len(g):
        ids, gi = np.unique(g, return_inverse=True)
        m = len(ids)
        nw, nwo = np.bincount(gi, has, m), np.bincount(gi, ~has, m)
        both = (nw > 0) & (nwo > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.bincount(gi, c & has, m) / nw - np.bincount(gi, c & ~has, m) / nwo
        out["within_group"] = {
            "groups": int(both.sum()),
            "mean_difference": float(d[both].mean()) if both.any() else np.nan,
        }
    return out


def examples(
    texts: list[str], idx: np.ndarray, lexicon: Lexicon, context: int = 300
) -> list[tuple[int, str, list[tuple[int, int, str]]]]:
    """For each text index: (index, snippet around the first match, [(start, end, phrase)] in the
    snippet). The caller escapes the snippet and wraps the spans (HTML <mark>, Markdown **)."""
    rx = lexicon.regex
    out = []
    for i in idx:
        t = texts[int(i)]
        ms = list(rx.finditer(t))
        if not ms:
            continue
        lo = max(0, ms[0].start() - context)
        hi = min(len(t), ms[0].end() + context)
        spans = [
            (m.start() - lo, m.end() - lo, lexicon.phrases[int(m.lastgroup[1:])])
            for m in ms
            if m.start() >= lo and m.end() <= hi
        ]
        snippet = ("…" if lo else "") + t[lo:hi] + ("…" if hi < len(t) else "")
        shift = 1 if lo else 0
        out.append((int(i), snippet, [(s + shift, e + shift, p) for s, e, p in spans]))
    return out


def reflection_summary(
    texts: list[str], step: np.ndarray, lexicon: Lexicon, sc: Scan | None = None, **rise_kw
) -> dict:
    """Overall and per-phrase rates, the rate per step and the onset of the rise."""
    sc = sc or scan(texts, lexicon)
    n = len(texts)
    steps, rate, cnt = step_means(sc.has.astype(float), step)
    _, density, _ = step_means(sc.count.astype(float), step)
    return {
        "lexicon": list(lexicon.phrases),
        "completions": n,
        "rate": float(sc.has.mean()) if n else np.nan,
        "matches_per_completion": float(sc.count.mean()) if n else np.nan,
        "per_phrase": {
            p: {"completions": int(c), "rate": c / n if n else np.nan}
            for p, c in zip(lexicon.phrases, sc.phrase_docs.tolist(), strict=True)
        },
        "step": steps.tolist(),
        "step_rate": rate.tolist(),
        "step_matches": density.tolist(),
        "step_n": cnt.tolist(),
        "onset": detect_rise(steps, rate, cnt, **rise_kw),
    }
