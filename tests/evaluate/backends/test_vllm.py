import importlib.util

import pytest

from medzero.errors import ConfigError
from medzero.evaluate.backends import BackendConfig, make_backend


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_missing_vllm_is_a_clear_config_error():
    with pytest.raises(ConfigError, match=r"pip install 'medzero\[vllm\]'"):
        make_backend("vllm", BackendConfig(model="m"))


@pytest.mark.gpu
@pytest.mark.slow
def test_vllm_generates_on_the_tiny_model(tiny_model_dir):
    pytest.importorskip("vllm")
    backend = make_backend("vllm", BackendConfig(model=str(tiny_model_dir), gpu_memory_utilization=0.3))
    msgs = [[{"role": "user", "content": f"question {i}"}] for i in range(4)]
    out = backend.generate(msgs, n=2, temperature=1.0, max_new_tokens=8, seed=1)
    assert [len(g) for g in out] == [2] * 4
    assert all(g.finish_reason in ("stop", "length") and g.completion_tokens <= 8 for gs in out for g in gs)
    greedy = backend.generate(msgs[:2], max_new_tokens=8)
    assert greedy == backend.generate(msgs[:2], max_new_tokens=8)
