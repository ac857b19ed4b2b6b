"""Write an analysis to REPORT_DIR: ``stats.json``, PNG plots, ``report.md`` and ``report.html``.

The report is built once as a list of blocks (heading, paragraph, table, image, example, pre) and
rendered twice, to Markdown and to one self-contained HTML file (plots embedded as base64, inline
CSS, no scripts, no network; every text from the run is HTML-escaped)."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from medzero.jsonl import write_json_atomic

Block = tuple  # ("h2", text) | ("p", text) | ("table", headers, rows) | ("img", file, caption) | ...


def jsonable(obj: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python, recursively (stats.json is strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def fmt(x: Any, nd: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, float):
        return f"{x:.2e}" if x != 0 and abs(x) < 10 ** (-nd) else f"{x:.{nd}f}"
    return str(x)


def fmt_n(n: Any) -> str:
    """A count logged as a float (metrics columns are float arrays)."""
    return "—" if n is None or (isinstance(n, float) and not math.isfinite(n)) else str(int(n))


def fmt_p(p: Any) -> str:
    """p-values: below double precision's smallest normal number they underflow to 0."""
    if isinstance(p, float) and p == 0.0:
        return "< 1e-300"
    return fmt(p)


def _ci(d: dict, key: str = "r") -> str:
    return f"{fmt(d.get(key))} [{fmt(d.get('lo'))}, {fmt(d.get('hi'))}]"


def _training_blocks(s: dict, plots: dict) -> list[Block]:
    b: list[Block] = [("h2", "Training curves")]
    b += [("img", f, plots[f]) for f in ("rewards.png", "length.png") if f in plots]
    cur = s.get("curves") or {}
    if cur.get("step"):
        rows = [[k, fmt(v[0]), fmt(v[-1]), fmt(min((x for x in v if x is not None), default=None))]
                for k, v in cur.items() if k != "step"]  # fmt: skip
        b.append(
            ("table", ["logged metric", f"step {cur['step'][0]}", f"step {cur['step'][-1]}", "min"], rows)
        )
    zv = s.get("zero_variance")
    if zv and zv["groups"]:
        b.append(("p", f"Groups with zero reward variance (no GRPO learning signal): {fmt(zv['overall'])} of "
                       f"{zv['groups']} prompt groups."))  # fmt: skip
    fb = s.get("format_balance")
    if fb:
        rows = [[k, t["n"], t["format_ok_correct"], t["format_ok_wrong"], t["format_bad_correct"], t["format_bad_wrong"]]
                for k, t in (("all steps", fb["all"]), ("last 10% of steps", fb["last_10pct_steps"]))]  # fmt: skip
        names = s["reward_names"]
        b.append(("p", f"Accuracy ({names['accuracy']}) vs. format ({names['format']}) reward: completions "
                       "by whether each reward is > 0."))  # fmt: skip
        b.append(("table", ["steps", "n", "format ok, correct", "format ok, wrong", "format bad, correct",
                            "format bad, wrong"], rows))  # fmt: skip
    return b


def _validation_blocks(s: dict, plots: dict) -> list[Block]:
    v = s.get("validation") or {}
    if not v.get("step"):
        return []
    b: list[Block] = [("h2", "Validation during training")]
    if "validation.png" in plots:
        b.append(("img", "validation.png", plots["validation.png"]))
    best, final = v["best"], v["final"]
    b.append(("p", f"Best strict accuracy {fmt(best['strict'])} at step {best['step']} (from {best['from']}; "
                   f"the model in RUN_DIR/best); at the last validation, step {final['step']}: "
                   f"{fmt(final['strict'])}."))  # fmt: skip
    keys = [k for k in ("eval/strict", "eval/last", "eval/lenient", "eval/n", "eval/truncated") if k in v]
    rows = [[step, *(fmt_n(v[k][i]) if k == "eval/n" else fmt(v[k][i]) for k in keys)]
            for i, step in enumerate(v["step"])]  # fmt: skip
    b.append(("table", ["step", *(k.removeprefix("eval/") for k in keys)], rows))
    return b


def _reward_length_blocks(s: dict, plots: dict) -> list[Block]:
    b: list[Block] = [("h2", "Reward vs. completion length")]
    rl = s.get("reward_length")
    if rl:
        w, t = rl["within_prompt"], rl["trend"]["pearson"]
        o = rl["overall"]
        b.append(("table", ["measure", "estimate [95% CI]", "p", "n"], [
            ["Pearson r, all completions", _ci(o["pearson"]), fmt_p(o["pearson"]["p"]), o["pearson"]["n"]],
            ["Spearman rho, all completions", _ci(o["spearman"]), fmt_p(o["spearman"]["p"]), o["spearman"]["n"]],
            ["Pearson r within prompt groups", _ci(w["pearson"]), fmt_p(w["pearson"]["p"]), w["n"]],
            ["Spearman rho within prompt groups", _ci(w["spearman"]), fmt_p(w["spearman"]["p"]), w["n"]],
            ["mean of per-group r", fmt(w["mean_group_r"]), "", w["groups_with_r"]],
            ["trend of per-step r (per 100 steps)", fmt(t["slope_per_100_steps"]), fmt_p(t["p"]), t["n_steps"]],
        ]))  # fmt: skip
        b.append(("p", f"Length unit: {s['length_unit']}. Within-prompt correlations remove question "
                       "difficulty: each GRPO group (one prompt at one step) is demeaned first."))  # fmt: skip
    cc = s.get("curve_correlation")
    if cc:
        b.append(("p", f"Logged curves (mean reward vs. mean length across steps): r = {_ci(cc['levels'])}; "
                       f"on step-to-step changes r = {_ci(cc['differences'])} (removes the shared time trend)."))  # fmt: skip
    b += [("img", f, plots[f]) for f in ("reward_length_scatter.png", "correlation.png") if f in plots]
    return b if len(b) > 1 else []


def _reflection_blocks(s: dict, plots: dict) -> list[Block]:
    r = s.get("reflection")
    if not r:
        return []
    on = r["onset"]
    rise = (f"The rate first rises at step {on['step']} (threshold {fmt(on.get('threshold'))} = baseline mean "
            f"{fmt(on.get('baseline_mean'))} + max({on['k']} sd, {on['min_rise']}) over the first "
            f"{on['baseline_steps']} steps, confirmed over {on['window']} steps)." if on["step"] is not None
            else f"No rise detected ({on.get('reason', 'the rate never exceeded the threshold')}).")  # fmt: skip
    b: list[Block] = [("h2", "Reflection (\"aha\") phrases"),
                      ("p", f"{fmt(r['rate'])} of {r['completions']} completions contain a reflection phrase. {rise}")]  # fmt: skip
    b += [("img", "reflection.png", plots["reflection.png"])] if "reflection.png" in plots else []
    found = sorted(
        ((p, v) for p, v in r["per_phrase"].items() if v["completions"]), key=lambda pv: -pv[1]["completions"]
    )
    if found:
        rows = [[p, v["completions"], fmt(v["rate"])] for p, v in found]
        b.append(("table", ["phrase", "completions", "rate"], rows))
    never = [p for p, v in r["per_phrase"].items() if not v["completions"]]
    if never:
        b.append(("p", "Never found: " + ", ".join(f'"{p}"' for p in never) + "."))
    acc = r.get("accuracy")
    if acc:
        rows = [[k, acc[k]["n"], _ci(acc[k], "accuracy")] for k in ("with", "without")]
        b.append(("table", ["completions", "n", "accuracy [95% CI]"], rows))
        wg = acc.get("within_group", {})
        b.append(("p", f"Difference {fmt(acc['difference'])} (Fisher exact p = {fmt(acc['p_fisher'])}); inside "
                       f"the {wg.get('groups', 0)} prompt groups with both kinds: {fmt(wg.get('mean_difference'))}."))  # fmt: skip
    for ex in r.get("examples", []):
        b.append(("example", f"step {ex['step']}, prompt {ex['prompt_id']}, completions.jsonl line {ex['line']}",
                  ex["text"], ex["spans"]))  # fmt: skip
    return b


def _flip_blocks(s: dict, plots: dict) -> list[Block]:
    f = s.get("flips")
    if not f:
        return []
    b: list[Block] = [("h2", "Answer flips"), ("p", (
        f"First commitment inside the reasoning vs. final answer ({f['final_mode']} extraction, letters "
        f"{f['letters']}). {f['with_both']} of {f['completions']} completions have both; {f['flips']} flip "
        f"(rate {fmt(f['flip_rate'])}): wrong->right {f['wrong_to_right']}, right->wrong {f['right_to_wrong']}, "
        f"wrong->other wrong {f['wrong_to_other_wrong']}."))]  # fmt: skip
    rows = [[f"first: {f['cells'][i]}", *f["matrix"][i]] for i in range(3)]
    b.append(("table", ["", *(f"final: {c}" for c in f["cells"])], rows))
    b += [("img", "flips.png", plots["flips.png"])] if "flips.png" in plots else []
    for ex in f.get("examples", []):
        b.append(("example", f"step {ex['step']}, prompt {ex['prompt_id']}, completions.jsonl line {ex['line']}: "
                             f"first {ex['first']}, final {ex['final']}, gold {ex['gold']} (both marked)",
                  ex["text"], ex["spans"]))  # fmt: skip
    return b


def _tool_blocks(s: dict, plots: dict) -> list[Block]:
    t = s.get("tools")
    if not t:
        return []
    q = t["quote"]
    b: list[Block] = [("h2", "Tool use (search)"), ("p", (
        f"{fmt(t['searches_per_completion'], 2)} searches per completion over {t['completions']} completions. "
        f"Answers quoting a retrieved passage ({q['words']} consecutive words): {q['quoting']} of "
        f"{q['answers_with_passages']} that got passages back (share {fmt(q['share'])})."))]  # fmt: skip
    b.append(("table", ["steps", "completions", "searches / completion", "searched"],
              [[r["steps"], r["n"], fmt(r["searches_per_completion"], 2), fmt(r["searched"])] for r in t["binned"]]))  # fmt: skip
    b += [("img", "searches.png", plots["searches.png"])] if "searches.png" in plots else []
    if t.get("accuracy_by_searches"):
        b.append(("table", ["searches", "completions", "accuracy [95% CI]"],
                  [[r["searches"], r["n"], _ci(r, "accuracy")] for r in t["accuracy_by_searches"]]))  # fmt: skip
    return b


def _eval_blocks(s: dict, plots: dict) -> list[Block]:
    b: list[Block] = []
    for e in s.get("eval", []):
        b.append(("h2", f"Eval output {e['path']}"))
        if "overall" not in e:
            b.append(("p", "No scored items."))
            continue
        b.append(("p", f"{e['items']} scored items, {e['mode']} extraction: accuracy {_ci(e['overall'], 'accuracy')}; "
                       f"reflection phrases in {fmt(e['reflection_rate'])} of outputs."))  # fmt: skip
        b.append(("table", ["benchmark", "n", "accuracy [95% CI]"],
                  [[k, v["n"], _ci(v, "accuracy")] for k, v in e["by_benchmark"].items()]))  # fmt: skip
        b.append(("table", ["length bucket (tokens)", "n", "accuracy [95% CI]"],
                  [[r["bucket"], r["n"], _ci(r, "accuracy")] for r in e["by_length"]]))  # fmt: skip
    if "eval_length.png" in plots:
        b.append(("img", "eval_length.png", plots["eval_length.png"]))
    return b


def build_blocks(s: dict, plots: dict[str, str]) -> list[Block]:
    src = s["source"]
    b: list[Block] = [("h1", "medzero run analysis"), ("p", (
        f"Source: {src['path']} ({src['kind']}): {src['metric_steps']} logged steps, {src['completions']} "
        f"completions. Analysis took {fmt(s['timings'].get('analysis_s'), 2)} s."))]  # fmt: skip
    if s.get("issues"):
        b += [("h2", "Problems found while reading (the report uses what was readable)"), ("ul", s["issues"])]
    for part in (
        _training_blocks,
        _validation_blocks,
        _reward_length_blocks,
        _reflection_blocks,
        _flip_blocks,
        _tool_blocks,
        _eval_blocks,
    ):
        b += part(s, plots)
    if s.get("recipe"):
        b += [
            ("h2", "Recipe (config.yaml)"),
            ("pre", json.dumps(jsonable(s["recipe"]), indent=2, default=str)),
        ]
    return b


def _mark(text: str, spans: list, open_: str, close: str, esc) -> str:
    out, pos = [], 0
    for start, end, *_ in spans:
        out += [esc(text[pos:start]), open_, esc(text[start:end]), close]
        pos = end
    return "".join(out) + esc(text[pos:])


def render_md(blocks: list[Block]) -> str:
    """Markdown; every text is HTML-escaped (Markdown viewers render raw HTML, and completions
    are untrusted model output: ``<script>`` must stay text)."""
    e = lambda t: html.escape(str(t), quote=False)  # noqa: E731
    out = []
    for kind, *a in blocks:
        if kind in ("h1", "h2"):
            out.append(("# " if kind == "h1" else "## ") + e(a[0]))
        elif kind == "p":
            out.append(e(a[0]))
        elif kind == "ul":
            out.append("\n".join(f"- {e(x)}" for x in a[0]))
        elif kind == "table":
            cell = lambda x: e(x).replace("|", "\\|").replace("\n", " ")  # noqa: E731
            out.append("\n".join(["| " + " | ".join(map(cell, a[0])) + " |", "|" + "---|" * len(a[0])]
                                 + ["| " + " | ".join(map(cell, r)) + " |" for r in a[1]]))  # fmt: skip
        elif kind == "img":
            out.append(f"![{e(a[1])}]({a[0]})\n\n*{e(a[1])}*")
        elif kind == "example":
            body = _mark(a[1], a[2], "**", "**", lambda t: e(t.replace("`", "'")))
            out.append(f"*{e(a[0])}*\n\n> " + body.replace("\n", "\n> "))
        elif kind == "pre":  # a code fence shows its text literally; only a fence inside could end it
            out.append("```json\n" + a[0].replace("```", "` ` `") + "\n```")
    return "\n\n".join(out) + "\n"


CSS = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f0f0f0}img{max-width:100%;border:1px solid #ddd;margin-top:1em}figure{margin:1em 0}
figcaption{color:#555;font-size:13px}blockquote{white-space:pre-wrap;background:#fafafa;border-left:4px solid #99c;
margin:1em 0;padding:.5em 1em;font-size:13px}mark{background:#ffe066}pre{background:#f6f6f6;padding:1em;overflow:auto;
font-size:12px}.meta{color:#555;font-size:13px;margin-bottom:0}h2{border-bottom:1px solid #ddd;padding-bottom:.2em}"""


def render_html(blocks: list[Block], out_dir: Path) -> str:
    e = html.escape
    out = []
    for kind, *a in blocks:
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{e(a[0])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{e(a[0])}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in a[0]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{e(str(h))}</th>" for h in a[0])
            rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in a[1])
            out.append(f"<table><tr>{head}</tr>{rows}</table>")
        elif kind == "img":
            data = base64.b64encode((out_dir / a[0]).read_bytes()).decode("ascii")
            out.append(f'<figure><img alt="{e(a[1])}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{e(a[1])}</figcaption></figure>")  # fmt: skip
        elif kind == "example":
            out.append(
                f'<p class="meta">{e(a[0])}</p><blockquote>{_mark(a[1], a[2], "<mark>", "</mark>", e)}</blockquote>'
            )
        elif kind == "pre":
            out.append(f"<pre>{e(a[0])}</pre>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>medzero run analysis</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")  # fmt: skip


def write_report(stats: dict, out_dir: Path, plots: bool = True) -> dict[str, str]:
    """Write stats.json, the plots, report.md and report.html; returns {plot file: caption}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, str] = {}
    if plots:
        from medzero.analyze.plots import draw_all

        drawn = draw_all(stats, out_dir)
    stats["plots"] = sorted(drawn)
    write_json_atomic(out_dir / "stats.json", jsonable(stats))
    blocks = build_blocks(stats, drawn)
    (out_dir / "report.md").write_text(render_md(blocks), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(blocks, out_dir), encoding="utf-8")
    return drawn
