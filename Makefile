# Jikji: `make run` starts the assistant with the sample documents; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.jikji-installed

.PHONY: install run test lint typecheck unit bench clean

$(STAMP): pyproject.toml scripts/install-system-packages.sh scripts/build-llama-wheel.sh
	bash scripts/install-system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first, so nothing pulls the multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	# llama-cpp-python with portable CPU flags (a native build can use AMX, which faults in some VMs).
	bash scripts/build-llama-wheel.sh $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/jikji serve --ingest samples/documents

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/check_module_names.py

typecheck: install
	$(BIN)/mypy .

unit: install
	$(BIN)/pytest tests/unit -q

test: install lint typecheck
	$(BIN)/pytest -q

bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.chat

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
