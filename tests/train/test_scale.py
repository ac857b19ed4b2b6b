"""DeepSpeed configurations: where they are read from, located errors, and the scale-path checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from medzero.errors import ConfigError
from medzero.train.checks import Context, run_checks
from medzero.train.recipe import load_recipe, recipe_from_dict
from medzero.train.scale import (
    DeepSpeedSetup,
    environment_setup,
    read_accelerate_config,
    recipe_setup,
)

ROOT = Path(__file__).resolve().parents[2]
ACCEL = ROOT / "recipes" / "accelerate"


def recipe(grpo=None, peft=None, source=None):
    raw = {
        "model": {"name_or_path": "tiny"},
        "data": {"synthetic": 16},
        "grpo": {
            "num_generations": 4,
            "per_device_train_batch_size": 8,
            "learning_rate": 1e-5,
            **(grpo or {}),
        },
    }
    if peft:
        raw["peft"] = peft
    return recipe_from_dict(raw, source=source)


def found(rec, **ctx):
    ctx.setdefault("columns", ["id", "answer", "options", "prompt"])
    return {(f.check, f.severity): f.message for f in run_checks(rec, Context(**ctx))}


ZERO3 = DeepSpeedSetup(source="zero3.yaml", stage=3, zero3_init=True)
ZERO3_OFFLOAD = DeepSpeedSetup(
    source="zero3-offload.yaml", stage=3, offload_param="cpu", offload_optimizer="cpu"
)


# ------------------------------------------------------------------------------------- reading configs


@pytest.mark.parametrize(
    ("name", "stage", "offload"),
    [
        ("zero2.yaml", 2, "none"),
        ("zero3.yaml", 3, "none"),
        ("zero3-offload.yaml", 3, "cpu"),
        ("multinode.yaml", 3, "none"),
    ],
)
def test_shipped_accelerate_configs_are_read(name, stage, offload):
    cfg = read_accelerate_config(ACCEL / name)
    assert cfg.deepspeed.stage == stage and cfg.deepspeed.offload_param == offload
    assert cfg.deepspeed.offload_optimizer == offload and cfg.deepspeed.zero3_init is (stage == 3)
    assert read_accelerate_config(ACCEL / "ddp.yaml").deepspeed is None


def test_seed_offload_config_matches_the_seed_study():
    """zero3-offload.yaml is the seed's zero3 config: ZeRO-3, parameters and optimizer on CPU, 16-bit save."""
    ds = yaml.safe_load((ACCEL / "zero3-offload.yaml").read_text())["deepspeed_config"]
    assert ds == {
        "deepspeed_multinode_launcher": "standard",
        "offload_optimizer_device": "cpu",
        "offload_param_device": "cpu",
        "zero3_init_flag": True,
        "zero3_save_16bit_model": True,
        "zero_stage": 3,
    }


def test_environment_of_accelerate_launch_is_read():
    assert environment_setup({}) is None
    env = {
        "ACCELERATE_USE_DEEPSPEED": "true",
        "ACCELERATE_DEEPSPEED_ZERO_STAGE": "3",
        "ACCELERATE_DEEPSPEED_OFFLOAD_PARAM_DEVICE": "cpu",
        "ACCELERATE_DEEPSPEED_ZERO3_INIT": "false",
    }
    ds = environment_setup(env)
    assert (ds.stage, ds.offload_param, ds.offload_optimizer, ds.zero3_init) == (3, "cpu", "none", False)


def test_missing_deepspeed_file_is_a_located_recipe_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model:\n  name_or_path: tiny\ndata:\n  synthetic: 4\ngrpo:\n  deepspeed: nowhere.json\n")
    with pytest.raises(
        ConfigError, match=r'r\.yaml:6: "grpo\.deepspeed": DeepSpeed config file not found: .*nowhere\.json'
    ):
        load_recipe(path)


def test_unparsable_deepspeed_file_names_its_line_and_column(tmp_path):
    (tmp_path / "ds.json").write_text('{\n  "zero_optimization": {"stage": 3,}\n}\n')
    path = tmp_path / "r.yaml"
    path.write_text("model: {name_or_path: tiny}\ndata: {synthetic: 4}\ngrpo: {deepspeed: ds.json}\n")
    with pytest.raises(ConfigError, match=r"ds\.json:2:\d+: invalid JSON"):
        load_recipe(path)
    (tmp_path / "ds.json").write_bytes(b'{"zero_optimization": {"stage": "\xff"}}')
    with pytest.raises(ConfigError, match=r"ds\.json: invalid JSON \(not UTF-8 text\)"):
        load_recipe(path)
    (tmp_path / "ds.json").write_text('{"zero_optimization": {"stage": 5}}')
    with pytest.raises(ConfigError, match=r'"zero_optimization.stage" is 5'):
        load_recipe(path)


def test_deepspeed_file_is_found_beside_the_recipe(tmp_path, monkeypatch):
    (tmp_path / "ds.json").write_text(json.dumps({"zero_optimization": {"stage": 2}}))
    monkeypatch.chdir(ROOT)  # not the recipe's folder
    path = tmp_path / "r.yaml"
    path.write_text("model: {name_or_path: tiny}\ndata: {synthetic: 4}\ngrpo: {deepspeed: ds.json}\n")
    rec = load_recipe(path)
    ds = recipe_setup(rec.grpo, rec.source, "r.yaml")
    assert ds.stage == 2 and ds.source == str((tmp_path / "ds.json").resolve())


def test_accelerate_config_errors_are_located(tmp_path):
    bad = tmp_path / "acc.yaml"
    bad.write_text("distributed_type: DEEPSPEED\nnum_processes: [2\n")
    with pytest.raises(ConfigError, match=r"acc\.yaml:\d+: invalid YAML"):
        read_accelerate_config(bad)
    bad.write_text("distributed_type: DEEPSPEED\ndeepspeed_config:\n  deepspeed_config_file: gone.json\n")
    with pytest.raises(
        ConfigError, match=r"deepspeed_config_file: DeepSpeed config file not found: .*gone\.json"
    ):
        read_accelerate_config(bad)
    with pytest.raises(ConfigError, match="accelerate config not found"):
        read_accelerate_config(tmp_path / "none.yaml")


# ------------------------------------------------------------------------------------------- checks


def test_zero3_lora_gradient_checkpointing_warns():
    rec = recipe({"gradient_checkpointing": True}, peft={"enabled": True})
    msg = found(rec, world_size=2, deepspeed=ZERO3)[("zero3_lora_checkpointing", "warning")]
    assert "reentrant" in msg and "trl#2514" in msg
    quiet = found(recipe({"gradient_checkpointing": True}), world_size=2, deepspeed=ZERO3)
    assert not any(check.startswith("zero3_lora") for check, _ in quiet)
    zero2 = DeepSpeedSetup(source="zero2.yaml", stage=2)
    assert ("zero3_lora_checkpointing", "warning") not in found(rec, world_size=2, deepspeed=zero2)


def test_zero3_qlora_warns():
    rec = recipe(peft={"load_in_4bit": True})
    assert "bnb_4bit_quant_storage" in found(rec, deepspeed=ZERO3)[("zero3_qlora", "warning")]


def test_vllm_colocate_with_zero3_offload_warns_about_memory():
    rec = recipe({"use_vllm": True, "vllm_mode": "colocate"})
    msg = found(rec, has_cuda=True, deepspeed=ZERO3_OFFLOAD)[("zero3_offload_vllm", "warning")]
    assert "host RAM" in msg and "vllm_gpu_memory_utilization" in msg
    assert ("zero3_offload_vllm", "warning") not in found(rec, has_cuda=True, deepspeed=ZERO3)
    server = recipe({"use_vllm": True, "vllm_mode": "server"})
    assert ("zero3_offload_vllm", "warning") not in found(server, has_cuda=True, deepspeed=ZERO3_OFFLOAD)


def test_world_size_from_the_launch_drives_the_batch_rule():
    rec = recipe({"num_generations": 3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 16})
    assert ("batch", "error") in found(rec, world_size=1, deepspeed=ZERO3)
    assert ("batch", "error") not in found(rec, world_size=3, deepspeed=ZERO3)


def test_explicit_deepspeed_batch_sizes_must_match_the_recipe():
    ds = DeepSpeedSetup(
        source="ds.json",
        stage=2,
        config={
            "train_micro_batch_size_per_gpu": 8,
            "train_batch_size": 8,
            "gradient_accumulation_steps": "auto",
        },
    )
    msg = found(recipe(), world_size=2, deepspeed=ds)[("deepspeed_batch", "error")]
    assert '"train_batch_size" is 8 but the run uses 16' in msg
    ok = DeepSpeedSetup(
        source="ds.json", stage=2, config={"train_micro_batch_size_per_gpu": 8, "train_batch_size": 16}
    )
    assert ("deepspeed_batch", "error") not in found(recipe(), world_size=2, deepspeed=ok)


def test_zero3_file_without_16bit_gather_warns_that_final_is_sharded():
    ds = DeepSpeedSetup(source="ds.json", stage=3, config={"zero_optimization": {"stage": 3}})
    assert "zero_to_fp32.py" in found(recipe(), deepspeed=ds)[("zero3_save", "warning")]
    ok = DeepSpeedSetup(
        source="ds.json",
        stage=3,
        config={"zero_optimization": {"stage": 3, "stage3_gather_16bit_weights_on_model_save": True}},
    )
    assert ("zero3_save", "warning") not in found(recipe(), deepspeed=ok)


def test_use_cpu_false_without_cuda_in_a_multi_process_launch_is_an_error():
    rec = recipe({"use_cpu": False})
    assert "do not train together" in found(rec, world_size=2)[("use_cpu", "error")]
    assert ("use_cpu", "error") not in found(rec, world_size=1)
    assert ("use_cpu", "error") not in found(recipe(), world_size=2)  # unset: medzero sets use_cpu
    assert ("use_cpu", "error") not in found(rec, world_size=2, deepspeed=ZERO3)


def run_cli(argv):
    from medzero.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code or 0


def test_check_cli_reads_an_accelerate_config(tiny_model_dir, tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"name_or_path": str(tiny_model_dir)},
                "data": {"synthetic": 16},
                "peft": {"enabled": True, "target_modules": "all-linear"},
                "grpo": {
                    "num_generations": 3,
                    "per_device_train_batch_size": 2,
                    "gradient_checkpointing": True,
                },
            }
        )
    )
    cpu_zero3 = tmp_path / "zero3-cpu.yaml"  # the shipped file with the precision a CPU run needs
    cpu_zero3.write_text(
        yaml.safe_dump({**yaml.safe_load((ACCEL / "zero3.yaml").read_text()), "mixed_precision": "no"})
    )
    argv = ["train", str(path), "--check", "--accelerate-config", str(cpu_zero3)]
    assert run_cli([*argv, "--num-processes", "3"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    checks = {(f["check"], f["severity"]) for f in report["findings"]}
    assert ("zero3_lora_checkpointing", "warning") in checks and ("deepspeed", "info") in checks
    # 2 per process x 2 processes is not a multiple of 3 completions per question
    assert run_cli([*argv, "--num-processes", "2"]) == 2
    assert "multiple of 3" in " ".join(capsys.readouterr().err.split())
    assert run_cli([*argv[:3], "--accelerate-config", str(tmp_path / "gone.yaml")]) == 2
    assert "accelerate config not found" in " ".join(capsys.readouterr().err.split())
    assert run_cli(["train", str(path), "--num-processes", "2"]) == 2


def test_launch_precision_must_match_the_run():
    """zero3.yaml says bf16 (for GPUs); a CPU run trains in fp32 and DeepSpeed would stop at start-up."""
    bf16 = DeepSpeedSetup(source="zero3.yaml", stage=3, mixed_precision="bf16")
    msg = found(recipe(), world_size=2, deepspeed=bf16)[("mixed_precision", "error")]
    assert "--mixed_precision no" in msg
    assert ("mixed_precision", "error") not in found(recipe(), has_cuda=True, deepspeed=bf16)  # TRL: bf16
    no = DeepSpeedSetup(source="zero3.yaml", stage=3, mixed_precision="no")
    assert ("mixed_precision", "error") not in found(recipe(), deepspeed=no)
    in_json = DeepSpeedSetup(source="ds.json", stage=2, config={"bf16": {"enabled": True}})
    msg = found(recipe({"bf16": False}), has_cuda=True, deepspeed=in_json)[("mixed_precision", "error")]
    assert '"enabled": "auto"' in msg
    assert read_accelerate_config(ACCEL / "zero2.yaml").deepspeed.mixed_precision == "bf16"
