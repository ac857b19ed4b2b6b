#!/usr/bin/env bash
# One-shot check for a lent GPU: a ~100M-parameter randomly initialised Llama (built locally from
# a config + the tiny tokenizer, no download), a few GRPO steps through medzero's training runner
# (recipes/tiny-cpu.yaml with overrides, as `medzero train --set` applies them) and an eval pass.
# Prints steps/s, tokens/s and peak GPU memory; writes OUT/gpu_check.json.
#
#   make install && bench/gpu_check.sh [OUT]          # default OUT: gpu-check-out
#   PRESET=tiny STEPS=2 GPU_CHECK_ALLOW_CPU=1 bench/gpu_check.sh /tmp/gc   # smoke run without a GPU
#
# Settings (environment): PRESET (small-100m), STEPS (10 GRPO steps), BATCH (64 completions per
# step), NGEN (8 per prompt), MAXLEN (64 new tokens), EVAL_N (256 questions), PY (the venv's python).
# Random weights never emit end-of-sequence, so every completion runs to MAXLEN: a fixed workload.
#
# Then bench/gpu_check_vlm.py (VLM=0 skips it; VLM_STEPS, 2): the tiny vision-language model, built
# locally by `medzero model tiny-vlm` (no download), trains GRPO steps on synthetic scans (images
# through the processor and the vision tower); seconds per step and peak GPU memory, written to
# OUT/vlm/gpu_check_vlm.json. Its other settings: VLM_SCANS, VLM_BATCH, VLM_NGEN, VLM_MAXLEN,
# VLM_IMAGE_SIZE (see the file).
#
# Then bench/gpu_scale.py (SCALE=0 skips it; SCALE_STEPS, 3, steps per case): one ZeRO-3 GRPO step
# on one GPU through `accelerate launch --config_file recipes/accelerate/zero3.yaml`, LoRA and
# QLoRA steps, and continuous-batching ("paged") generation against plain generate; writes
# OUT/scale/gpu_scale.json. A device without network gets the packages it lacks as wheels built
# here (the device has torch and transformers):
#   DS_BUILD_OPS=0 .venv/bin/pip wheel --no-deps -w wheels -c constraints.txt deepspeed hjson \
#       py-cpuinfo ninja msgpack einops trl accelerate peft datasets bitsandbytes
#   (plus whichever of medzero's own dependencies the device lacks: `pip install --dry-run .` there)
#   WHEELS=wheels PY=python3 bench/gpu_check.sh OUT       # installs them (--no-index --no-deps) first
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export PRESET=${PRESET:-small-100m} STEPS=${STEPS:-10} BATCH=${BATCH:-64} NGEN=${NGEN:-8}
export MAXLEN=${MAXLEN:-64} EVAL_N=${EVAL_N:-256} MEDZERO_NO_PROGRESS=1 PYTHONUNBUFFERED=1
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's medzero, installed or not
OUT=${1:-gpu-check-out}
rm -rf "$OUT"
mkdir -p "$OUT"
if [ -n "${WHEELS:-}" ]; then
    "$PY" -m pip install -q --no-index --no-deps "$WHEELS"/*.whl
fi
"$PY" - "$OUT" <<'EOF'
import json, os, statistics, sys, time
from pathlib import Path

import torch

from medzero.data.synthetic import SYNTHETIC_PROMPT_CONFIG, drug_class_questions
from medzero.evaluate.config import EvalConfig
from medzero.evaluate.runner import evaluate
from medzero.jsonl import iter_jsonl, write_jsonl
from medzero.models.tiny import PRESETS, build_tiny_model
from medzero.train.recipe import load_recipe
from medzero.train.runner import train

import datasets.arrow_dataset as _arrow_dataset

# Some Python 3.12 images fail in datasets' dill-based fingerprint of an in-memory table
# (PicklingError on pyarrow's MonthDayNano); no cache is used here, so a random one is harmless.
_fingerprint = _arrow_dataset.generate_fingerprint


def _safe_fingerprint(dataset):
    try:
        return _fingerprint(dataset)
    except Exception:
        import uuid

        return uuid.uuid4().hex


_arrow_dataset.generate_fingerprint = _safe_fingerprint
out = Path(sys.argv[1])
env = {k: os.environ[k] for k in ("PRESET", "STEPS", "BATCH", "NGEN", "MAXLEN", "EVAL_N")}
steps, batch, maxlen = int(env["STEPS"]), int(env["BATCH"]), int(env["MAXLEN"])
cuda = torch.cuda.is_available()
if not cuda and os.environ.get("GPU_CHECK_ALLOW_CPU") != "1":
    sys.exit("no CUDA device (set GPU_CHECK_ALLOW_CPU=1 for a CPU smoke run)")
device = torch.cuda.get_device_name() if cuda else "cpu"
res = {"device": device, "torch": torch.__version__, "settings": env}


def peak_gib():
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None


t0 = time.perf_counter()
model_dir = build_tiny_model(out / "model", seed=0, config=PRESETS.get(env["PRESET"]))
res["parameters"] = json.loads((model_dir / "medzero_tiny.json").read_text())["parameters"]
res["build_s"] = round(time.perf_counter() - t0, 2)

overrides = [
    f"model.name_or_path={model_dir}", "warmup.enabled=false",
    f"grpo.max_steps={steps}", f"grpo.per_device_train_batch_size={batch}",
    f"grpo.num_generations={env['NGEN']}", f"grpo.max_completion_length={maxlen}",
    "grpo.save_strategy='no'", "guard.action='off'",
] + (["grpo.use_cpu=false", "grpo.bf16=true"] if cuda else [])
recipe = load_recipe("recipes/tiny-cpu.yaml", overrides)
if cuda:
    torch.cuda.reset_peak_memory_stats()
t0 = time.perf_counter()
info = train(recipe, out / "run", progress=False)
train_s = time.perf_counter() - t0
metrics = [m for _, m in iter_jsonl(out / "run" / "metrics.jsonl")]
# Steady state: per-step times after the first step (CUDA/kernels warm up in step 1).
times = [m["step_time"] for m in metrics if "step_time" in m][1:] or [info["summary"]["train_runtime"]]
step_s = statistics.median(times)
tokens = [m["num_tokens"] for m in metrics if "num_tokens" in m]
res["train"] = {
    "wall_s_with_loading": round(train_s, 2), "train_runtime_s": round(info["summary"]["train_runtime"], 2),
    "steps_per_s": round(1 / step_s, 3),
    "completion_tokens_per_s": round(batch * maxlen / step_s),
    "prompt_and_completion_tokens_per_s": round((tokens[-1] - tokens[0]) / sum(times)) if len(tokens) > 1 else None,
    "peak_gib": peak_gib(),
}
print("train:", json.dumps(res["train"]), flush=True)

held = out / "heldout.jsonl"
write_jsonl(held, [q.to_dict() for q in drug_class_questions(int(env["EVAL_N"]), 0, "heldout")])
if cuda:
    torch.cuda.reset_peak_memory_stats()
t0 = time.perf_counter()
evaluate(EvalConfig(
    model=str(out / "run" / "final"), out=str(out / "eval"), benchmarks=[f"file:{held}"],
    template=SYNTHETIC_PROMPT_CONFIG.template, max_new_tokens=maxlen, batch_size=64,
    device="cuda" if cuda else "cpu", dtype="bfloat16" if cuda else "float32",
))
eval_s = time.perf_counter() - t0
items = [r for _, r in iter_jsonl(out / "eval" / "items.jsonl")]
gen = sum(r["completion_tokens"] for r in items)
res["eval"] = {
    "wall_s": round(eval_s, 2), "questions": len(items),
    "questions_per_s": round(len(items) / eval_s, 1), "generated_tokens_per_s": round(gen / eval_s),
    "peak_gib": peak_gib(),
}
print("eval:", json.dumps(res["eval"]), flush=True)
(out / "gpu_check.json").write_text(json.dumps(res, indent=2) + "\n")
t, e = res["train"], res["eval"]
print(f"\n{device}: {env['PRESET']} ({res['parameters'] / 1e6:.1f}M parameters)")
print("| stage | steps/s | tokens/s | peak GPU memory (GiB) |")
print("|---|---:|---:|---:|")
print(f"| GRPO ({steps} steps x {batch} completions x {maxlen} tokens) | {t['steps_per_s']} | "
      f"{t['completion_tokens_per_s']} generated | {t['peak_gib']} |")
print(f"| eval ({len(items)} questions, greedy, {maxlen} tokens) | - | {e['generated_tokens_per_s']} generated | {e['peak_gib']} |")
EOF

SMOKE=()
[ "${GPU_CHECK_ALLOW_CPU:-0}" = 1 ] && SMOKE=(--cpu)
if [ "${VLM:-1}" != 0 ]; then
    "$PY" bench/gpu_check_vlm.py "$OUT/vlm" --steps "${VLM_STEPS:-2}" ${SMOKE[@]+"${SMOKE[@]}"}
fi

if [ "${SCALE:-1}" != 0 ]; then
    "$PY" bench/gpu_scale.py "$OUT/scale" "$OUT/model" --steps "${SCALE_STEPS:-3}" ${SMOKE[@]+"${SMOKE[@]}"}
fi
